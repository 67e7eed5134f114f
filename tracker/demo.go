package tracker

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed demo.html
var demoHTML string

var demoTemplate = template.Must(template.New("demo").Parse(demoHTML))

// DemoOptions configure the demo page. The zero value suits `skopos serve`.
type DemoOptions struct {
	// ScriptSrc is where the page loads skopos.js from; default "/skopos.js".
	ScriptSrc string
	// Endpoint is the script's data-endpoint; default "/api/event".
	Endpoint string
	// AdminURL is the PocketBase admin UI, where the page tells the reader
	// to look for the raw rows; default "/_/".
	AdminURL string
	// DashboardURL is the Skopos dashboard, where the page tells the
	// reader to look at the figures; default "/dashboard/".
	DashboardURL string
}

// DemoHandler serves the demo page on GET and HEAD, for every path it is
// mounted on (its links navigate under /demo/ with history.pushState, and a
// reload there must still find the page). It tracks page views, a few
// declarative custom events, one event queued before the script loaded and
// a JavaScript error on request. The page host must be a website's domain
// for the events to be stored; for `skopos serve` that is localhost.
func DemoHandler(opts DemoOptions) http.Handler {
	if opts.ScriptSrc == "" {
		opts.ScriptSrc = "/skopos.js"
	}
	if opts.Endpoint == "" {
		opts.Endpoint = "/api/event"
	}
	if opts.AdminURL == "" {
		opts.AdminURL = "/_/"
	}
	if opts.DashboardURL == "" {
		opts.DashboardURL = "/dashboard/"
	}
	var buf bytes.Buffer
	// The options are fixed, so the page is rendered once; an error here
	// is a bug in the embedded template.
	if err := demoTemplate.Execute(&buf, opts); err != nil {
		panic("tracker: demo template: " + err.Error())
	}
	page := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method == http.MethodGet {
			_, _ = w.Write(page)
		}
	})
}
