package main_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// checkEventsExport downloads the events CSV of the period q from
// `skopos serve` (GET /api/skopos/export) and checks that it holds
// exactly the stored events: each id once, with its type, path and name.
func checkEventsExport(t *testing.T, srvURL string, q url.Values, stored []rawEvent) {
	t.Helper()
	body := fmt.Sprintf(`{"identity":%q,"password":%q}`, adminEmail, adminPassword)
	resp, err := http.Post(srvURL+"/api/collections/_superusers/auth-with-password", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var auth struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&auth)
	resp.Body.Close()
	if err != nil || auth.Token == "" {
		t.Fatalf("superuser login: %d %v", resp.StatusCode, err)
	}
	q = with(q, "kind", "events")
	req, _ := http.NewRequest(http.MethodGet, srvURL+"/api/skopos/export?"+q.Encode(), nil)
	req.Header.Set("Authorization", auth.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("export: status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(rows[0], name) }
	want := map[string]string{}
	for _, e := range stored {
		want[e.ID] = e.Type + " " + e.Path + " " + e.EventName
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		id := r[col("id")]
		if seen[id] {
			t.Errorf("event %s exported twice", id)
		}
		seen[id] = true
		if got := r[col("type")] + " " + r[col("path")] + " " + r[col("eventName")]; got != want[id] {
			t.Errorf("event %s exported as %q, stored %q", id, got, want[id])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d events exported, %d stored", len(seen), len(want))
	}
}

func with(q url.Values, k, v string) url.Values {
	out := url.Values{}
	for key, vs := range q {
		out[key] = slices.Clone(vs)
	}
	out.Set(k, v)
	return out
}
