package skopos_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

func TestIdentifyLimitsOnBothSides(t *testing.T) {
	t.Parallel()
	_, _, c := startClient(t)
	ctx := context.Background()

	email := func(n int) string { // a valid address of exactly n bytes
		local := strings.Repeat("a", 64)
		dom := strings.Repeat("b", n-len(local)-1-4) + ".com"
		return local + "@" + dom
	}
	metadata := func(n int) map[string]any { // serializes to exactly n bytes
		return map[string]any{"k": strings.Repeat("x", n-len(`{"k":""}`))}
	}
	big := strings.Repeat("é", 255)
	tests := []struct {
		name   string
		userID string
		data   skopos.IdentifyData
		ok     bool
	}{
		{"user id 255", strings.Repeat("u", 255), skopos.IdentifyData{}, true},
		{"user id 255 after trim", "  " + strings.Repeat("u", 255) + "\t", skopos.IdentifyData{}, true},
		{"user id 256", strings.Repeat("u", 256), skopos.IdentifyData{}, false},
		{"user id empty", "   ", skopos.IdentifyData{}, false},
		{"name 255 multi-byte", "u1", skopos.IdentifyData{Name: big}, true},
		{"name 256", "u1", skopos.IdentifyData{Name: big + "é"}, false},
		{"email 255", "u2", skopos.IdentifyData{Email: email(255)}, true},
		{"email 256", "u2", skopos.IdentifyData{Email: email(256)}, false},
		{"email malformed", "u2", skopos.IdentifyData{Email: "a@b@c"}, false},
		{"email without a TLD (PocketBase refuses it too)", "u2", skopos.IdentifyData{Email: "root@localhost"}, false},
		{"email plus and case", "u2", skopos.IdentifyData{Email: " Ada+Tag@Example.COM "}, true},
		{"phone 50", "u3", skopos.IdentifyData{Phone: strings.Repeat("1", 50)}, true},
		{"phone 51", "u3", skopos.IdentifyData{Phone: strings.Repeat("1", 51)}, false},
		{"metadata 8192 bytes", "u4", skopos.IdentifyData{Metadata: metadata(8192)}, true},
		{"metadata 8193 bytes", "u4", skopos.IdentifyData{Metadata: metadata(8193)}, false},
		{"metadata escaped over", "u4", skopos.IdentifyData{Metadata: map[string]any{"k": strings.Repeat("<", 2000)}}, false},
	}
	for i, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = "203.0.113." + string(rune('1'+i%9)) + ":1"
		r.Header.Set("User-Agent", "ua-"+tt.name)
		err := c.Identify(ctx, r, tt.userID, tt.data)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v; want accepted (and stored by PocketBase)", tt.name, err)
		case !tt.ok && !errors.Is(err, skopos.ErrInvalidIdentify):
			t.Errorf("%s: %v; want ErrInvalidIdentify", tt.name, err)
		}
	}
}

func TestIdentifyCreatesTheVisitorAndKeepsFieldsNotGiven(t *testing.T) {
	t.Parallel()
	srv, _, c := startClient(t)
	app := srv.App()
	ctx := context.Background()
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.RemoteAddr = "203.0.113.50:1"
	browsertest.Headers(r.Header, "")

	if err := c.Identify(ctx, r, "user-1", skopos.IdentifyData{Name: "Ada", Email: "ada@example.com", Metadata: map[string]any{"plan": "pro"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.Identify(ctx, r, "user-1", skopos.IdentifyData{Phone: "+41 44 000 00 00"}); err != nil {
		t.Fatal(err)
	}
	// the visitor's page view lands on the same visitor row
	if err := c.TrackAPIEvent(r, []byte(`{"type":"pageView","url":"https://example.com/"}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}
	recs, err := app.FindAllRecords(schema.Visitors)
	if err != nil || len(recs) != 1 {
		t.Fatalf("visitors = %d (%v), want 1", len(recs), err)
	}
	v := recs[0]
	meta, _ := json.Marshal(v.Get("metadata"))
	if v.GetString("userId") != "user-1" || v.GetString("name") != "Ada" || v.GetString("email") != "ada@example.com" ||
		v.GetString("phone") != "+41 44 000 00 00" || string(meta) != `{"plan":"pro"}` {
		t.Errorf("visitor = %v", v.PublicExport())
	}
	var sessions int
	_ = app.DB().Select("count(*)").From(schema.Sessions).Row(&sessions)
	if sessions != 1 {
		t.Errorf("sessions = %d, want 1", sessions)
	}
}

func TestIdentifyReportsStoreFailures(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	site := srv.AddWebsite(t, "example.com")
	ctx := context.Background()
	c, err := skopos.Init(ctx, options(srv, site.GetString("trackingId")))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = c.Identify(tctx, httptest.NewRequest(http.MethodPost, "/", nil), "user-1", skopos.IdentifyData{})
	if !errors.Is(err, skopos.ErrStore) {
		t.Fatalf("Identify with PocketBase down = %v; want ErrStore", err)
	}
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	defer scancel()
	_ = c.Shutdown(sctx)
}
