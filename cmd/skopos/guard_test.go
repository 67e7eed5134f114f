package main_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// TestServeGuardsTheEventEndpoint is a black-box run against `skopos
// serve`: only HTTP in, PocketBase's REST API to look at what was stored.
func TestServeGuardsTheEventEndpoint(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword, "SKOPOS_METRICS_TOKEN=m-token")
	ctx := context.Background()
	pb := client(t, s.URL)
	var site struct {
		ID string `json:"id"`
	}
	err := pb.CreateRecord(ctx, schema.Websites, map[string]any{
		"name": "Shop", "domain": "shop.example", "ipBlacklist": []string{"198.51.100.0/24"},
	}, &site)
	if err != nil {
		t.Fatal(err)
	}

	send := func(body string, hdr map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/event", strings.NewReader(body))
		browsertest.Headers(req.Header, "")
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	page := func(url string) string { return `{"type":"pageView","url":"` + url + `"}` }
	stored := func(path string) int {
		var rows []struct{}
		if _, err := pb.ListRecords(ctx, schema.Events, pbrest.ListQuery{Filter: pbrest.Filter("path = {:p}", pbrest.Params{"p": path}), Fields: "id"}, &rows); err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	// waitStored waits for a marker event; the writer keeps order, so
	// every event sent before the marker has been handled by then.
	waitStored := func(path string) {
		t.Helper()
		testwait.Until(t, "marker "+path+" stored", func() bool { return stored(path) > 0 })
	}

	checks := []struct {
		name string
		body string
		hdr  map[string]string
		want int
	}{
		{"invalid payload", `{"type":"pageView","url":"ftp://shop.example/"}`, nil, 400},
		{"malformed JSON", `{"type":`, nil, 400},
		{"oversize", page("https://shop.example/big") + strings.Repeat(" ", 65<<10), nil, 413},
		{"bot", page("https://shop.example/bot"), map[string]string{"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}, 204},
		{"headless browser", page("https://shop.example/headless"), map[string]string{"User-Agent": strings.Replace(browsertest.Chrome, "Chrome/", "HeadlessChrome/", 1)}, 204},
		{"blacklisted IP via trusted proxy", page("https://shop.example/blocked"), map[string]string{"X-Forwarded-For": "198.51.100.23"}, 204},
		{"domain mismatch in URL", page("https://evil.example/mismatch"), nil, 204},
		{"domain mismatch in Origin", page("https://shop.example/origin"), map[string]string{"Origin": "https://evil.example"}, 204},
		{"accepted", page("https://www.shop.example/marker1"), map[string]string{"X-Forwarded-For": "203.0.113.9"}, 204},
	}
	for _, c := range checks {
		if got := send(c.body, c.hdr); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	waitStored("/marker1")
	for _, path := range []string{"/big", "/bot", "/headless", "/blocked", "/mismatch", "/origin"} {
		if n := stored(path); n != 0 {
			t.Errorf("%s was stored (%d events)", path, n)
		}
	}

	// a settings change through PocketBase applies to the next event
	if err := pb.UpdateRecord(ctx, schema.Websites, site.ID, map[string]any{"isArchived": true}, nil); err != nil {
		t.Fatal(err)
	}
	send(page("https://shop.example/archived"), nil)
	send(page("http://localhost/marker2"), nil) // the demo site
	waitStored("/marker2")
	if n := stored("/archived"); n != 0 {
		t.Errorf("event of an archived website stored")
	}

	// SKOPOS_METRICS_TOKEN serves /metrics, and the counters moved
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer m-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `skopos_events_dropped_total{reason="bot"} 2`) {
		t.Errorf("/metrics: status %d, body:\n%s", resp.StatusCode, body)
	}
}
