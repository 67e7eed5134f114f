package collections_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// TestTextFieldsHoldTheirStoredLimits saves values of exactly each stored
// limit (in multi-byte characters, which PocketBase counts as runes) and
// one character more, which PocketBase must reject.
func TestTextFieldsHoldTheirStoredLimits(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	site := newRecord(t, app, schema.Websites, map[string]any{"name": "s", "domain": "example.com"})
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		collection, field string
		limit             int
	}{
		{schema.Events, "path", schema.MaxPath},
		{schema.Events, "eventName", schema.MaxEventName},
		{schema.Sessions, "entryPath", schema.MaxPath},
		{schema.Sessions, "exitPath", schema.MaxPath},
		{schema.Sessions, "referrer", schema.MaxReferrer},
		{schema.Sessions, "language", schema.MaxLanguage},
		{schema.JSErrors, "errorMessage", schema.MaxErrorMessage},
		{schema.JSErrors, "stackTrace", schema.MaxStackTrace},
		{schema.JSErrors, "url", schema.MaxPath},
		{schema.DashSumItems, "key", schema.MaxDimensionKey},
		{schema.Visitors, "phone", 50},
		{schema.Visitors, "name", 255},
		{schema.Visitors, "userId", 255},
	}
	seq := 0
	for _, tt := range tests {
		for _, n := range []int{tt.limit, tt.limit + 1} {
			seq++
			data := map[string]any{"website": site.Id, tt.field: strings.Repeat("é", n)}
			switch tt.collection {
			case schema.JSErrors:
				data["errorHash"] = fmt.Sprintf("%064d", seq)
			case schema.Sessions:
				data["seq"] = seq
			case schema.Visitors:
				data["visitorId"] = fmt.Sprint(seq)
			case schema.DashSumItems:
				data["date"], data["dimension"] = "2026-11-26 00:00:00.000Z", "page"
			}
			err := app.Save(newRecord(t, app, tt.collection, data))
			if n == tt.limit && err != nil {
				t.Errorf("%s.%s rejects %d characters: %v", tt.collection, tt.field, n, err)
			}
			if n > tt.limit && (err == nil || !strings.Contains(err.Error(), tt.field+":")) {
				t.Errorf("%s.%s: %d characters gave %v; want a length error (max %d)", tt.collection, tt.field, n, err, tt.limit)
			}
		}
	}
}

func TestUniqueIndexesRejectDuplicates(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	site := newRecord(t, app, schema.Websites, map[string]any{"name": "s", "domain": "example.com"})
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	visitor := map[string]any{"website": site.Id, "visitorId": "abc"}
	if err := app.Save(newRecord(t, app, schema.Visitors, visitor)); err != nil {
		t.Fatal(err)
	}
	err := app.Save(newRecord(t, app, schema.Visitors, visitor))
	if err == nil || !strings.Contains(err.Error(), "must be unique") {
		t.Fatalf("a second visitor with the same (website, visitorId): %v; want a uniqueness error", err)
	}
}

func newRecord(t *testing.T, app core.App, collection string, data map[string]any) *core.Record {
	t.Helper()
	c, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	r := core.NewRecord(c)
	r.Load(data)
	return r
}
