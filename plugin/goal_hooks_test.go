package plugin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// restRecords sends a request to a collection's records API (id "" is the
// collection: list with GET, create with POST) and decodes the answer
// (nil for an empty body, as a delete's).
func restRecords(t *testing.T, srv *pbtest.Server, token, method, collection, id string, body any) (int, map[string]any) {
	t.Helper()
	url := srv.URL + "/api/collections/" + collection + "/records"
	if id != "" {
		url += "/" + id
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, out
}

// listedIDs are the ids of a list answer's items.
func listedIDs(t *testing.T, out map[string]any) []string {
	t.Helper()
	items, ok := out["items"].([]any)
	if !ok {
		t.Fatalf("not a list answer: %v", out)
	}
	var ids []string
	for _, it := range items {
		rec, _ := it.(map[string]any)
		id, _ := rec["id"].(string)
		ids = append(ids, id)
	}
	return ids
}

// fieldError is the message of a 400 answer's error of field ("" when
// the answer names no such field).
func fieldError(out map[string]any, field string) string {
	data, _ := out["data"].(map[string]any)
	f, _ := data[field].(map[string]any)
	msg, _ := f["message"].(string)
	return msg
}

// funnelSteps is a JSON array of n valid page steps.
func funnelSteps(n int) []map[string]string {
	steps := make([]map[string]string, n)
	for i := range steps {
		steps[i] = map[string]string{"name": fmt.Sprintf("step %d", i+1), "type": "page", "match": fmt.Sprintf("/step/%d", i+1)}
	}
	return steps
}

// ownedSite saves a website of owner ("" = none, as a superuser's).
func ownedSite(t *testing.T, srv *pbtest.Server, domain, owner string) string {
	t.Helper()
	site := srv.AddWebsite(t, domain)
	if owner != "" {
		site.Set("user", owner)
		if err := srv.App().Save(site); err != nil {
			t.Fatal(err)
		}
	}
	return site.Id
}

// TestGoalAndFunnelOwnerRules: over the REST API a users record manages
// the goals and funnels of its own websites only; anonymous requests see
// and change nothing; a superuser sees everything.
func TestGoalAndFunnelOwnerRules(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	tokA, idA, _ := strings.Cut(userToken(t, srv, srv.URL, "a@example.com"), " ")
	tokB, idB, _ := strings.Cut(userToken(t, srv, srv.URL, "b@example.com"), " ")
	super := superuserToken(t, srv)
	siteA := ownedSite(t, srv, "a.example", idA)
	siteB := ownedSite(t, srv, "b.example", idB)
	orphan := ownedSite(t, srv, "orphan.example", "")

	for _, col := range []struct {
		name string
		body func(website, name string) map[string]any
	}{
		{schema.Goals, func(website, name string) map[string]any {
			return map[string]any{"website": website, "name": name, "type": "page", "match": "/pricing"}
		}},
		{schema.Funnels, func(website, name string) map[string]any {
			return map[string]any{"website": website, "name": name, "steps": funnelSteps(2)}
		}},
	} {
		t.Run(col.name, func(t *testing.T) {
			t.Parallel()
			// B's record, saved by Go code
			c, err := app.FindCollectionByNameOrId(col.name)
			if err != nil {
				t.Fatal(err)
			}
			recB := core.NewRecord(c)
			recB.Load(col.body(siteB, "B's"))
			if err := app.Save(recB); err != nil {
				t.Fatal(err)
			}
			idOfB := recB.Id

			// A creates, reads and changes its own
			code, out := restRecords(t, srv, tokA, http.MethodPost, col.name, "", col.body(siteA, "A's"))
			if code != http.StatusOK {
				t.Fatalf("A creates on A's site: %d %v", code, out)
			}
			idOfA, _ := out["id"].(string)
			if code, out := restRecords(t, srv, tokA, http.MethodGet, col.name, "", nil); code != http.StatusOK ||
				!slices.Equal(listedIDs(t, out), []string{idOfA}) {
				t.Fatalf("A lists: %d %v; want only %s", code, out, idOfA)
			}
			if code, out := restRecords(t, srv, tokA, http.MethodGet, col.name, idOfA, nil); code != http.StatusOK || out["id"] != idOfA {
				t.Fatalf("A views its own: %d %v", code, out)
			}
			for _, body := range []map[string]any{{"name": "A's renamed"}, {"website": siteA, "name": "A's again"}} {
				if code, out := restRecords(t, srv, tokA, http.MethodPatch, col.name, idOfA, body); code != http.StatusOK || out["name"] != body["name"] {
					t.Fatalf("A updates its own with %v: %d %v", body, code, out)
				}
			}

			// A cannot reach B's
			for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
				var body any
				if method == http.MethodPatch {
					body = map[string]any{"name": "taken over"}
				}
				if code, out := restRecords(t, srv, tokA, method, col.name, idOfB, body); code != http.StatusNotFound {
					t.Errorf("A %s B's: %d %v; want 404", method, code, out)
				}
			}

			// A cannot create on, or move its own to, a site it does not own
			for _, tc := range []struct {
				name, website string
			}{
				{"B's site", siteB},
				{"a site without owner", orphan},
				{"no site", ""},
				{"a missing site", "nosuchsite1234"},
			} {
				if code, out := restRecords(t, srv, tokA, http.MethodPost, col.name, "", col.body(tc.website, "A's on "+tc.name)); code != http.StatusBadRequest {
					t.Errorf("A creates on %s: %d %v; want 400", tc.name, code, out)
				}
				if code, out := restRecords(t, srv, tokA, http.MethodPatch, col.name, idOfA, map[string]any{"website": tc.website}); code != http.StatusNotFound {
					t.Errorf("A moves its own to %s: %d %v; want 404", tc.name, code, out)
				}
			}

			// anonymous requests see and change nothing
			if code, out := restRecords(t, srv, "", http.MethodGet, col.name, "", nil); code != http.StatusOK || len(listedIDs(t, out)) != 0 {
				t.Errorf("anonymous list: %d %v; want none", code, out)
			}
			for _, method := range []string{http.MethodGet, http.MethodPatch, http.MethodDelete} {
				var body any
				if method == http.MethodPatch {
					body = map[string]any{"name": "anonymous"}
				}
				if code, out := restRecords(t, srv, "", method, col.name, idOfA, body); code != http.StatusNotFound {
					t.Errorf("anonymous %s: %d %v; want 404", method, code, out)
				}
			}
			if code, out := restRecords(t, srv, "", http.MethodPost, col.name, "", col.body(siteA, "anonymous")); code != http.StatusBadRequest {
				t.Errorf("anonymous create: %d %v; want 400", code, out)
			}

			// a superuser sees both; B still has its own, unchanged
			if code, out := restRecords(t, srv, super, http.MethodGet, col.name, "", nil); code != http.StatusOK ||
				!slices.Contains(listedIDs(t, out), idOfA) || !slices.Contains(listedIDs(t, out), idOfB) {
				t.Errorf("superuser list: %d %v; want %s and %s", code, out, idOfA, idOfB)
			}
			if code, out := restRecords(t, srv, tokB, http.MethodGet, col.name, "", nil); code != http.StatusOK ||
				!slices.Equal(listedIDs(t, out), []string{idOfB}) {
				t.Errorf("B lists: %d %v; want only %s", code, out, idOfB)
			}
			stored, err := app.FindRecordById(col.name, idOfA)
			if err != nil || stored.GetString("website") != siteA || stored.GetString("name") != "A's again" {
				t.Fatalf("A's record after the refusals: %v (%v)", stored, err)
			}
			if n, err := app.CountRecords(col.name); err != nil || n != 2 {
				t.Errorf("%d %s records (%v), want 2: a refused create was stored", n, col.name, err)
			}

			// A deletes its own
			if code, out := restRecords(t, srv, tokA, http.MethodDelete, col.name, idOfA, nil); code != http.StatusNoContent {
				t.Fatalf("A deletes its own: %d %v", code, out)
			}
			if _, err := app.FindRecordById(col.name, idOfA); err == nil {
				t.Error("A's deleted record is still stored")
			}
			if _, err := app.FindRecordById(col.name, idOfB); err != nil {
				t.Errorf("B's record: %v", err)
			}
		})
	}
}

// TestGoalFunnelTimezoneValidationOverREST: a refused definition is a 400
// naming the field; nothing refused is stored.
func TestGoalFunnelTimezoneValidationOverREST(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	tok, owner, _ := strings.Cut(userToken(t, srv, srv.URL, "owner@example.com"), " ")
	super := superuserToken(t, srv)
	site := ownedSite(t, srv, "owned.example", owner)
	existingSite := ownedSite(t, srv, "tz.example", owner)

	goal := func(typ, match, key, value string) map[string]any {
		return map[string]any{"website": site, "name": typ + " " + match + key + value, "type": typ, "match": match, "propertyKey": key, "propertyValue": value}
	}
	funnels := 0
	funnel := func(steps any) map[string]any {
		funnels++
		return map[string]any{"website": site, "name": fmt.Sprintf("funnel %d", funnels), "steps": steps}
	}
	badThird := funnelSteps(3)
	badThird[2]["match"] = "thanks"
	tests := []struct {
		name, token, collection string
		body                    map[string]any
		field, msgHas           string // field "" = accepted
	}{
		{"page goal", tok, schema.Goals, goal("page", "/blog/*", "", ""), "", ""},
		{"event goal with property", tok, schema.Goals, goal("event", "signup", "plan", "pro"), "", ""},
		{"pattern without /", tok, schema.Goals, goal("page", "blog/*", "", ""), "match", "must start with /"},
		{"** in the middle", tok, schema.Goals, goal("page", "/a/**/b", "", ""), "match", "**"},
		{"page goal with property", tok, schema.Goals, goal("page", "/", "plan", "pro"), "propertyKey", "no property"},
		{"key without value", tok, schema.Goals, goal("event", "signup", "plan", ""), "propertyValue", "needs a propertyValue"},
		{"unknown type", tok, schema.Goals, goal("click", "/", "", ""), "type", "type must be"},
		{"name of 256", tok, schema.Goals, map[string]any{"website": site, "name": strings.Repeat("n", 256), "type": "event", "match": "x"}, "name", "255"},
		{"superuser too", super, schema.Goals, goal("page", "nope", "", ""), "match", "must start with /"},
		{"funnel of 2", tok, schema.Funnels, funnel(funnelSteps(2)), "", ""},
		{"funnel of 8", tok, schema.Funnels, funnel(funnelSteps(8)), "", ""},
		{"funnel of 1", tok, schema.Funnels, funnel(funnelSteps(1)), "steps", "not 1"},
		{"funnel of 9", tok, schema.Funnels, funnel(funnelSteps(9)), "steps", "not 9"},
		{"funnel with a bad third step", tok, schema.Funnels, funnel(badThird), "steps", "Step 3: page pattern"},
		{"funnel steps not an array", tok, schema.Funnels, funnel(map[string]any{"name": "x"}), "steps", "JSON array"},
		{"funnel without steps", tok, schema.Funnels, map[string]any{"website": site, "name": "empty"}, "steps", "not 0"},
		{"timezone Mars/Base", super, schema.Websites, map[string]any{"domain": "mars.example", "timezone": "Mars/Base"}, "timezone", "Unknown time zone"},
		{"timezone Local", super, schema.Websites, map[string]any{"domain": "local.example", "timezone": "Local"}, "timezone", "server's own zone"},
		{"timezone America/New_York", super, schema.Websites, map[string]any{"domain": "ny.example", "timezone": "America/New_York"}, "", ""},
		{"timezone UTC", super, schema.Websites, map[string]any{"domain": "utc.example", "timezone": "UTC"}, "", ""},
		{"no timezone", super, schema.Websites, map[string]any{"domain": "none.example", "timezone": ""}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out := restRecords(t, srv, tt.token, http.MethodPost, tt.collection, "", tt.body)
			if tt.field == "" {
				if code != http.StatusOK {
					t.Fatalf("%d %v; want 200", code, out)
				}
				id, _ := out["id"].(string)
				stored, err := srv.App().FindRecordById(tt.collection, id)
				if err != nil {
					t.Fatal(err)
				}
				if tz, ok := tt.body["timezone"]; ok && stored.GetString("timezone") != tz {
					t.Errorf("stored timezone %q, want %q as given", stored.GetString("timezone"), tz)
				}
				return
			}
			if msg := fieldError(out, tt.field); code != http.StatusBadRequest || !strings.Contains(msg, tt.msgHas) {
				t.Fatalf("%d %v; want 400 naming %s with %q", code, out, tt.field, tt.msgHas)
			}
		})
	}

	// updates are checked too, and a refused one changes nothing
	t.Run("updates", func(t *testing.T) {
		t.Parallel()
		code, out := restRecords(t, srv, tok, http.MethodPost, schema.Goals, "", map[string]any{
			"website": site, "name": "to update", "type": "page", "match": "/ok"})
		if code != http.StatusOK {
			t.Fatalf("create: %d %v", code, out)
		}
		goalID, _ := out["id"].(string)
		code, out = restRecords(t, srv, tok, http.MethodPost, schema.Funnels, "", map[string]any{
			"website": site, "name": "to update", "steps": funnelSteps(2)})
		if code != http.StatusOK {
			t.Fatalf("create: %d %v", code, out)
		}
		funnelID, _ := out["id"].(string)
		for _, tc := range []struct {
			name, token, collection, id string
			body                        map[string]any
			field                       string
		}{
			{"goal to a bad pattern", tok, schema.Goals, goalID, map[string]any{"match": "/**/x"}, "match"},
			{"goal to event with a lone key", tok, schema.Goals, goalID, map[string]any{"type": "event", "match": "x", "propertyKey": "k"}, "propertyValue"},
			{"funnel to 9 steps", tok, schema.Funnels, funnelID, map[string]any{"steps": funnelSteps(9)}, "steps"},
			{"timezone to Local", super, schema.Websites, existingSite, map[string]any{"timezone": "Local"}, "timezone"},
			{"timezone to Mars/Base", super, schema.Websites, existingSite, map[string]any{"timezone": "Mars/Base"}, "timezone"},
			{"timezone to Europe/Berlin", super, schema.Websites, existingSite, map[string]any{"timezone": "Europe/Berlin"}, ""},
		} {
			code, out := restRecords(t, srv, tc.token, http.MethodPatch, tc.collection, tc.id, tc.body)
			if tc.field == "" {
				if code != http.StatusOK {
					t.Errorf("%s: %d %v; want 200", tc.name, code, out)
				}
				continue
			}
			if code != http.StatusBadRequest || fieldError(out, tc.field) == "" {
				t.Errorf("%s: %d %v; want 400 naming %s", tc.name, code, out, tc.field)
			}
		}
		g, _ := srv.App().FindRecordById(schema.Goals, goalID)
		f, _ := srv.App().FindRecordById(schema.Funnels, funnelID)
		w, _ := srv.App().FindRecordById(schema.Websites, existingSite)
		if g.GetString("match") != "/ok" || g.GetString("type") != "page" || len(f.GetString("steps")) == 0 ||
			strings.Count(f.GetString("steps"), `"name"`) != 2 || w.GetString("timezone") != "Europe/Berlin" {
			t.Errorf("after the updates: goal %v, funnel steps %s, timezone %q", g, f.GetString("steps"), w.GetString("timezone"))
		}
	})
}

// TestGoalHooksOnAppSave: Go code's saves are checked as REST's are, and a
// timezone stored behind the hook's back does not block other changes.
func TestGoalHooksOnAppSave(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	site := srv.AddWebsite(t, "app.example")
	tests := []struct {
		name, collection string
		fields           map[string]any
		field            string // "" = accepted
	}{
		{"goal", schema.Goals, map[string]any{"website": site.Id, "name": "g", "type": "page", "match": "/docs/**"}, ""},
		{"bad goal", schema.Goals, map[string]any{"website": site.Id, "name": "g2", "type": "page", "match": "docs"}, "match"},
		{"funnel", schema.Funnels, map[string]any{"website": site.Id, "name": "f", "steps": funnelSteps(3)}, ""},
		{"funnel steps as JSON text", schema.Funnels, map[string]any{"website": site.Id, "name": "f2", "steps": `[{"name":"a","type":"event","match":"x"},{"name":"b","type":"event","match":"y"}]`}, ""},
		{"bad funnel", schema.Funnels, map[string]any{"website": site.Id, "name": "f3", "steps": `[]`}, "steps"},
		{"website in a zone", schema.Websites, map[string]any{"domain": "zoned.example", "timezone": "Asia/Kolkata"}, ""},
		{"website in Local", schema.Websites, map[string]any{"domain": "local.example", "timezone": "Local"}, "timezone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := app.FindCollectionByNameOrId(tt.collection)
			if err != nil {
				t.Fatal(err)
			}
			rec := core.NewRecord(c)
			rec.Load(tt.fields)
			err = app.Save(rec)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Save: %v", err)
				}
				return
			}
			var verrs validation.Errors
			if !errors.As(err, &verrs) || verrs[tt.field] == nil {
				t.Fatalf("Save = %v; want a validation error of %s", err, tt.field)
			}
		})
	}
}
