package plugin_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/plugin"
)

// The embedded server serves the dashboard under /dashboard with its own
// security headers and without PocketBase's CORS (which would answer any
// origin) or activity log.
func TestServeMountsDashboard(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL + plugin.DashboardPath + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/dashboard/login") {
		t.Fatalf("GET /dashboard/: %d %s, want redirect to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+plugin.DashboardPath+"/login", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `name="password"`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") {
		t.Errorf("CSP = %q", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q: PocketBase's CORS must not apply", got)
	}
	for _, p := range []string{"/dashboard/static/app.css", "/dashboard/static/app.js"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}
