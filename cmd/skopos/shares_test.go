package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// TestServeSharedLinkEqualsOwnerUntilRevoked: with `skopos serve`, a
// shared link created over the API reads the same stats (and
// properties) as the owner, without any other auth, in the API and on
// its /share page; once revoked both are 404.
func TestServeSharedLinkEqualsOwnerUntilRevoked(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	pb := client(t, s.URL)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	tid := s.Line(t, "demo website trackingId: ")
	sent := 0
	for i, path := range []string{"/", "/pricing", "/docs", "/", "/pricing?utm_campaign=launch"} {
		sendBeacon(t, s.URL, fmt.Sprintf("203.0.113.%d", 20+i%3), browsertest.Chrome,
			map[string]any{"type": "pageView", "url": path, "referrer": "https://news.example/"})
		sent++
	}
	sendBeacon(t, s.URL, "203.0.113.20", browsertest.Chrome,
		map[string]any{"type": "custom", "name": "signup", "url": "/pricing", "customData": map[string]any{"plan": "pro"}})
	sent++
	testwait.Until(t, "every event stored", func() bool {
		var evs []struct{}
		return listAll(t, pb, schema.Events, "", &evs) == sent
	})

	var link struct{ ID, Token, URL string }
	if err := pb.Do(ctx, http.MethodPost, "/api/skopos/shares", map[string]any{"site": tid, "name": "client"}, &link); err != nil {
		t.Fatal(err)
	}
	if link.URL != s.URL+"/share/"+link.Token {
		t.Errorf("url %q, want %s/share/<token>", link.URL, s.URL)
	}
	get := func(path string, q url.Values) (int, string) {
		t.Helper()
		resp, err := http.Get(s.URL + path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		path string
		q    url.Values
	}{
		{"/api/skopos/stats", url.Values{"period": {"today"}}},
		{"/api/skopos/stats", url.Values{"period": {"7d"}, "filter": {"page:/pricing"}, "top": {"3"}}},
		{"/api/skopos/stats/properties", url.Values{"period": {"today"}, "event": {"signup"}}},
	} {
		var owner map[string]any
		getJSON(t, pb, tc.path, with(tc.q, "site", tid), &owner)
		code, body := get(tc.path, with(tc.q, "share", link.Token))
		var shared map[string]any
		if err := json.Unmarshal([]byte(body), &shared); code != http.StatusOK || err != nil {
			t.Fatalf("%s through the link: %d %s", tc.path, code, body)
		}
		// "today" ends at the moment of each request
		if p, ok := shared["period"].(map[string]any); ok && p["name"] == "today" {
			delete(p, "to")
			delete(p["previous"].(map[string]any), "to")
			op := owner["period"].(map[string]any)
			delete(op, "to")
			delete(op["previous"].(map[string]any), "to")
		}
		ownerJSON := fmt.Sprint(owner)
		if fmt.Sprint(shared) != ownerJSON {
			t.Errorf("%s %v through the link:\n%v\nowner's:\n%v", tc.path, tc.q, shared, owner)
		}
	}
	if code, body := get("/share/"+link.Token, url.Values{"period": {"today"}}); code != http.StatusOK || !strings.Contains(body, `id="kpi-pageViews"`) {
		t.Errorf("/share page: %d", code)
	}

	if err := pb.Do(ctx, http.MethodDelete, "/api/skopos/shares/"+link.Token, nil, nil); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/api/skopos/stats", url.Values{"period": {"today"}, "share": {link.Token}}); code != http.StatusNotFound {
		t.Errorf("stats through the revoked link: %d %s, want 404", code, body)
	}
	if code, _ := get("/share/"+link.Token, nil); code != http.StatusNotFound {
		t.Errorf("/share page of the revoked link: %d, want 404", code)
	}
}
