package plugin_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/plugintest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/tracker"
)

func startWithDemo(t *testing.T, demo bool) *pbtest.Server {
	t.Helper()
	return plugintest.Start(t, plugin.Config{Demo: demo})
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func request(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body
}

func TestServeScriptWithoutPocketBaseMiddlewares(t *testing.T) {
	t.Parallel()
	srv := startWithDemo(t, false)
	app := srv.App()

	resp, body := request(t, http.MethodGet, srv.URL+plugin.ScriptPath,
		map[string]string{"Origin": "https://shop.example", "User-Agent": "ScriptVisitor/1.0"})
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, tracker.Script()) {
		t.Fatalf("GET %s: status %d, %d bytes", plugin.ScriptPath, resp.StatusCode, len(body))
	}
	for k, want := range map[string]string{
		"Content-Type":                "text/javascript; charset=utf-8",
		"Cache-Control":               "public, max-age=3600",
		"Access-Control-Allow-Origin": "*",
		"X-Content-Type-Options":      "nosniff",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	etag := resp.Header.Get("ETag")
	if r, _ := request(t, http.MethodGet, srv.URL+plugin.ScriptPath, map[string]string{"If-None-Match": etag}); r.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", r.StatusCode)
	}
	// PocketBase's CORS middleware would answer this preflight with 204
	preflight := map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
	if r, _ := request(t, http.MethodOptions, srv.URL+plugin.ScriptPath, preflight); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS: status %d, want 405", r.StatusCode)
	}
	if r, _ := request(t, http.MethodPost, srv.URL+plugin.ScriptPath, nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", r.StatusCode)
	}
	// without Config.Demo there is no demo page
	if r, _ := request(t, http.MethodGet, srv.URL+plugin.DemoPath, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /demo without Demo: status %d, want 404", r.StatusCode)
	}

	// A request PocketBase does log, sent afterwards: once it is in _logs,
	// the logger has flushed past the script request.
	request(t, http.MethodGet, srv.URL+"/api/collections/websites/records", map[string]string{"User-Agent": "LogProbe/1.0"})
	logs := func(like string) int {
		var n int
		_ = app.AuxDB().Select("count(*)").From("_logs").Where(dbx.Like("data", like)).Row(&n)
		return n
	}
	testwait.Until(t, "the probe request logged", func() bool { return logs("LogProbe/1.0") > 0 })
	if n := logs("ScriptVisitor"); n != 0 {
		t.Fatalf("_logs holds the script request's user agent (%d rows)", n)
	}
}

func TestDemoOnLoopbackIPRedirectsToLocalhost(t *testing.T) {
	t.Parallel()
	srv := startWithDemo(t, true)
	_, port, _ := strings.Cut(srv.Addr, ":")

	for _, host := range []string{"127.0.0.1:" + port, "[::1]:" + port, "127.0.0.2:" + port} {
		resp, _ := request(t, http.MethodGet, srv.URL+"/demo/pricing?x=1", map[string]string{"Host": host})
		want := "http://localhost:" + port + "/demo/pricing?x=1"
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("Host %s: status %d, Location %q; want 302 to %s", host, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, host := range []string{"localhost:" + port, "demo.example:" + port} {
		resp, body := request(t, http.MethodGet, srv.URL+"/demo", map[string]string{"Host": host})
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `src="/skopos.js" data-endpoint="/api/event"`) {
			t.Errorf("Host %s: status %d, want the demo page", host, resp.StatusCode)
		}
	}
	resp, body := request(t, http.MethodGet, srv.URL+"/demo/docs", map[string]string{"Host": "localhost:" + port})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || len(body) == 0 {
		t.Errorf("GET /demo/docs: status %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if r, _ := request(t, http.MethodPost, srv.URL+"/demo", map[string]string{"Host": "localhost:" + port}); r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /demo: status %d, want 405", r.StatusCode)
	}
}
