package skopos_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/tracker"
)

func TestScriptHandlerServesTheBrowserScript(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/skopos.js", skopos.ScriptHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/skopos.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, tracker.Script()) || resp.Header.Get("ETag") == "" {
		t.Fatalf("%d bytes, ETag %q: not the script", len(body), resp.Header.Get("ETag"))
	}
	resp, err = http.Post(srv.URL+"/skopos.js", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
}

func ExampleScriptHandler() {
	// Serve the browser script next to the event endpoint of the SDK
	// client; pages load it with
	// <script defer src="/skopos.js" data-endpoint="/api/event"></script>
	http.Handle("GET /skopos.js", skopos.ScriptHandler())
}
