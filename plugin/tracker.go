package plugin

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/tracker"
)

// Paths of the browser script and the demo page on the embedded server.
const (
	ScriptPath = "/skopos.js"
	DemoPath   = "/demo"
)

// mountTracker serves the browser script and, with Config.Demo, the demo
// page. Like the event endpoint, both are public routes that PocketBase's
// CORS middleware and activity logger must not touch (the logger would
// store every visitor's IP and user agent in _logs).
func (p *plugin) mountTracker(e *core.ServeEvent) {
	e.Router.Any(ScriptPath, apis.WrapStdHandler(tracker.Handler())).
		Unbind(apis.DefaultCorsMiddlewareId, apis.DefaultActivityLoggerMiddlewareId)
	if !p.cfg.Demo {
		return
	}
	page := tracker.DemoHandler(tracker.DemoOptions{ScriptSrc: ScriptPath, Endpoint: EventPath, DashboardURL: DashboardPath + "/"})
	demo := func(re *core.RequestEvent) error {
		if to, ok := demoRedirect(re.Request); ok {
			return re.Redirect(http.StatusFound, to)
		}
		page.ServeHTTP(re.Response, re.Request)
		return nil
	}
	// The page's links navigate under /demo/ with pushState; a reload there
	// must find the page again.
	for _, path := range []string{DemoPath, DemoPath + "/{rest...}"} {
		e.Router.Any(path, demo).
			Unbind(apis.DefaultCorsMiddlewareId, apis.DefaultActivityLoggerMiddlewareId)
	}
}

// demoRedirect sends a demo request made on a loopback IP (127.0.0.1:8090,
// [::1]:8090) to the same port on localhost: the demo website's domain is
// localhost, and events of a page whose host is an IP would match no
// website and be dropped.
func demoRedirect(r *http.Request) (string, bool) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = strings.Trim(r.Host, "[]"), ""
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return "", false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	target := scheme + "://" + demoDomain
	if port != "" {
		target += ":" + port
	}
	return target + r.URL.RequestURI(), true
}
