package tracker_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/tracker"
	"github.com/skopos-go/skopos/tracker/internal/minify"
)

// sizeBudget is the most the minified script may weigh at gzip -9: it
// loads on every page of every tracked site, so each byte is paid by
// every visitor.
const sizeBudget = 3072

func TestMinifiedScriptIsUpToDate(t *testing.T) {
	src, err := os.ReadFile("skopos.js")
	if err != nil {
		t.Fatal(err)
	}
	want, err := minify.Script(src)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("skopos.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, want) {
		t.Fatal("skopos.min.js is stale: run `go generate ./tracker` and commit the result")
	}
	if !bytes.Equal(tracker.Script(), want) {
		t.Fatal("the embedded script differs from skopos.min.js")
	}
}

func TestScriptFitsSizeBudget(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	script := tracker.Script()
	_, _ = zw.Write(script)
	_ = zw.Close()
	t.Logf("skopos.min.js: %d bytes, %d bytes at gzip -9 (budget %d)", len(script), buf.Len(), sizeBudget)
	if buf.Len() > sizeBudget {
		t.Fatalf("gzip -9 size %d > budget %d", buf.Len(), sizeBudget)
	}
}

func TestScriptCopyCannotChangeTheServedScript(t *testing.T) {
	s := tracker.Script()
	s[0] ^= 0xff
	if bytes.Equal(s, tracker.Script()) {
		t.Fatal("Script returned the embedded slice itself")
	}
}

func serve(h http.Handler, method string, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/skopos.js", nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerServesTheScriptCacheable(t *testing.T) {
	h := tracker.Handler()
	rec := serve(h, http.MethodGet, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if !bytes.Equal(rec.Body.Bytes(), tracker.Script()) {
		t.Fatal("body is not the script")
	}
	for k, want := range map[string]string{
		"Content-Type":                "text/javascript; charset=utf-8",
		"Cache-Control":               "public, max-age=3600",
		"Access-Control-Allow-Origin": "*",
		"X-Content-Type-Options":      "nosniff",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	etag := rec.Header().Get("ETag")
	if len(etag) < 10 || !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
		t.Fatalf("ETag %q is not a strong validator", etag)
	}

	for _, inm := range []string{etag, `"other", ` + etag, "W/" + etag, "*"} {
		rec := serve(h, http.MethodGet, map[string]string{"If-None-Match": inm})
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: status %d, %d bytes; want 304, none", inm, rec.Code, rec.Body.Len())
		}
	}
	if rec := serve(h, http.MethodGet, map[string]string{"If-None-Match": `"stale"`}); rec.Code != http.StatusOK {
		t.Errorf("stale ETag: status %d, want 200", rec.Code)
	}

	head := serve(h, http.MethodHead, nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 || head.Header().Get("ETag") != etag {
		t.Errorf("HEAD: status %d, %d bytes, ETag %q", head.Code, head.Body.Len(), head.Header().Get("ETag"))
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions} {
		rec := serve(h, m, nil)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: status %d, Allow %q; want 405, GET, HEAD", m, rec.Code, rec.Header().Get("Allow"))
		}
	}
}

// TestHandlerServesGzipWhenAccepted: a client that accepts gzip gets the
// compressed script (about half the bytes) with its own strong ETag and
// Vary; one that refuses it (or says nothing) gets the plain script.
func TestHandlerServesGzipWhenAccepted(t *testing.T) {
	h := tracker.Handler()
	plain := serve(h, http.MethodGet, nil)
	for _, tc := range []struct {
		accept string
		gzip   bool
	}{
		{"gzip, deflate, br, zstd", true},
		{"br;q=1.0, gzip;q=0.8", true},
		{"*", true},
		{"", false},
		{"identity", false},
		{"gzip;q=0", false},
		{"br", false},
	} {
		rec := serve(h, http.MethodGet, map[string]string{"Accept-Encoding": tc.accept})
		if rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%q: Vary %q", tc.accept, rec.Header().Get("Vary"))
		}
		if got := rec.Header().Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("%q: gzip %v, want %v", tc.accept, got, tc.gzip)
			continue
		}
		if !tc.gzip {
			if !bytes.Equal(rec.Body.Bytes(), tracker.Script()) || rec.Header().Get("ETag") != plain.Header().Get("ETag") {
				t.Errorf("%q: not the plain script", tc.accept)
			}
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(zr)
		if !bytes.Equal(body, tracker.Script()) {
			t.Errorf("%q: the gzipped body is not the script", tc.accept)
		}
		if rec.Body.Len()*2 > len(body)+200 || rec.Header().Get("ETag") == plain.Header().Get("ETag") {
			t.Errorf("%q: %d gzipped bytes for %d, ETag %q (plain %q)", tc.accept, rec.Body.Len(), len(body), rec.Header().Get("ETag"), plain.Header().Get("ETag"))
		}
		if rec := serve(h, http.MethodGet, map[string]string{"Accept-Encoding": tc.accept, "If-None-Match": rec.Header().Get("ETag")}); rec.Code != http.StatusNotModified {
			t.Errorf("%q: revalidation status %d, want 304", tc.accept, rec.Code)
		}
	}
}

func TestDemoPageLoadsTheScriptAndQueuesAnEvent(t *testing.T) {
	rec := httptest.NewRecorder()
	tracker.DemoHandler(tracker.DemoOptions{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/demo/pricing", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	body := rec.Body.String()
	for _, want := range []string{
		`<script defer src="/skopos.js" data-endpoint="/api/event"></script>`,
		`(skopos.q = skopos.q || []).push(arguments)`,
		`skopos-event="signup_click"`,
		`skopos-data-from="plan:#plan; price:#price"`,
		`history.pushState`,
		`href="/_/"`,
		`href="/dashboard/"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("demo page lacks %s", want)
		}
	}

	rec = httptest.NewRecorder()
	tracker.DemoHandler(tracker.DemoOptions{ScriptSrc: "https://stats.example/skopos.js", Endpoint: "https://stats.example/api/event"}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/demo", nil))
	if !strings.Contains(rec.Body.String(), `src="https://stats.example/skopos.js" data-endpoint="https://stats.example/api/event"`) {
		t.Error("DemoOptions not applied")
	}
	rec = httptest.NewRecorder()
	tracker.DemoHandler(tracker.DemoOptions{}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/demo", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
}
