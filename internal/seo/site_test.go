package seo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixedNow makes LastAnalyzed and LoadTime constant.
func fixedNow() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// site is a local test site: paths and what they answer. "{{site}}" in a
// body is replaced by the server's own URL.
type site map[string]http.HandlerFunc

func htmlPage(body string) http.HandlerFunc { return serve("text/html; charset=utf-8", body) }

func serve(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(strings.ReplaceAll(body, "{{site}}", siteURL(r))))
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// gzipped compresses h's answer when the client accepts gzip, as a well
// configured server does.
func gzipped(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h(rec, r)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(rec.Body.Bytes())
		_ = zw.Close()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Vary", "Accept-Encoding")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(buf.Bytes())
	}
}

func withHeader(key, value string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(key, value)
		h(w, r)
	}
}

func siteURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// start serves s over TLS (or plain http) and returns the server; the
// unknown paths answer 404.
func (s site) start(t *testing.T, tls bool) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f, ok := s[r.URL.Path]; ok {
			f(w, r)
			return
		}
		http.NotFound(w, r)
	})
	srv := httptest.NewUnstartedServer(h)
	// Handshakes the client's transport dials ahead and then abandons when
	// the test ends are logged by the server; they are not failures.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// analyze runs an analysis of srv's home page with a client trusting srv.
func analyze(t *testing.T, srv *httptest.Server, url string) *Result {
	t.Helper()
	res, err := New(Options{Client: srv.Client(), Now: fixedNow}).Analyze(context.Background(), url)
	if err != nil {
		t.Fatalf("Analyze(%s): %v", url, err)
	}
	return res
}

// golden compares res, with the server's address replaced by site.test,
// to testdata/name.json.
func golden(t *testing.T, srv *httptest.Server, res *Result, name string) {
	t.Helper()
	res.LoadTime = 0
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // readable markup in the recommendations' fixes
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	host := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "https://"), "http://")
	got = bytes.ReplaceAll(got, []byte(host), []byte("site.test"))
	file := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("analysis differs from %s (go test -update rewrites it):\n%s", file, got)
	}
}

// critical lists the critical recommendations as "category: title".
func critical(res *Result) []string {
	var out []string
	for _, r := range res.Recommendations {
		if r.Priority == PriorityCritical {
			out = append(out, r.Category+": "+r.Title)
		}
	}
	return out
}

func findRec(res *Result, title string) *Recommendation {
	for i := range res.Recommendations {
		if res.Recommendations[i].Title == title {
			return &res.Recommendations[i]
		}
	}
	return nil
}

func intPtr(v int) *int { return &v }

func floatPtr(v float64) *float64 { return &v }
