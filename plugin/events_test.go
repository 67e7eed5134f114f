package plugin_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/plugintest"
	"github.com/skopos-go/skopos/internal/testwait"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

func startEmbedded(t *testing.T) *pbtest.Server {
	t.Helper()
	return startEmbeddedWith(t, plugin.Config{})
}

func startEmbeddedWith(t *testing.T, cfg plugin.Config) *pbtest.Server {
	t.Helper()
	return plugintest.Start(t, cfg)
}

const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

func post(t *testing.T, srv *pbtest.Server, body string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+plugin.EventPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	browsertest.Headers(req.Header, firefoxUA)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func countEvents(t *testing.T, app core.App, where dbx.Expression) int {
	t.Helper()
	var n int
	if err := app.DB().Select("count(*)").From(schema.Events).Where(where).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEmbeddedEndpointAttributesEventsByPageHost(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	shop := srv.AddWebsite(t, "shop.example")
	blog := srv.AddWebsite(t, "blog.shop.example") // nearest parent wins for its subdomains
	other := srv.AddWebsite(t, "https://www.other.example:8443/")

	cases := []struct {
		url  string
		site string
	}{
		{"https://shop.example/", shop.Id},
		{"https://www.shop.example/cart", shop.Id},
		{"https://eu.shop.example/", shop.Id},
		{"https://blog.shop.example/post", blog.Id},
		{"https://a.blog.shop.example/post", blog.Id},
		{"https://other.example/x", other.Id},
	}
	start := time.Now()
	for _, c := range cases {
		if resp := post(t, srv, `{"type":"pageView","url":"`+c.url+`"}`, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: status %d", c.url, resp.StatusCode)
		}
	}
	if resp := post(t, srv, `{"type":"pageView","url":"https://unknown.example/"}`, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unknown host: status %d, want 204", resp.StatusCode)
	}
	testwait.Until(t, "6 events queryable", func() bool { return countEvents(t, app, nil) == 6 })
	t.Logf("queryable after %v", time.Since(start))
	for _, c := range cases {
		if countEvents(t, app, dbx.HashExp{"website": c.site}) == 0 {
			t.Errorf("no event of %s on website %s", c.url, c.site)
		}
	}
	if n := countEvents(t, app, dbx.HashExp{"website": shop.Id}); n != 3 {
		t.Errorf("shop events = %d, want 3", n)
	}
}

func TestEmbeddedEndpointSeesNewWebsitesAtOnce(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	// the intake decides before it answers: this one is dropped by then
	post(t, srv, `{"type":"pageView","url":"https://late.example/"}`, nil) // unknown yet: dropped
	site := srv.AddWebsite(t, "late.example")                              // record hook registers it
	post(t, srv, `{"type":"pageView","url":"https://late.example/"}`, nil)
	testwait.Until(t, "event on the new site", func() bool {
		return countEvents(t, app, dbx.HashExp{"website": site.Id}) == 1
	})
	if n := countEvents(t, app, nil); n != 1 {
		t.Errorf("events = %d, want 1 (the one before the site existed is dropped)", n)
	}
}

func TestEmbeddedEndpointBypassesPocketBaseCORSAndLogs(t *testing.T) {
	t.Parallel()
	for _, router := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "through-router"}[router], func(t *testing.T) {
			t.Parallel()
			testBypassesCORSAndLogs(t, startEmbeddedWith(t, plugin.Config{EventsThroughRouter: router}))
		})
	}
}

// TestEventsThroughRouterRunsGlobalMiddlewares: by default the event
// endpoint is answered ahead of PocketBase's router, so a middleware an
// app binds to the router does not see it; with EventsThroughRouter it
// does. Either way the event is accepted.
func TestEventsThroughRouterRunsGlobalMiddlewares(t *testing.T) {
	t.Parallel()
	for _, router := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "through-router"}[router], func(t *testing.T) {
			t.Parallel()
			var seen atomic.Int32
			srv := pbtest.Start(t, pbtest.Options{Plain: true, Setup: func(app core.App) error {
				app.OnServe().BindFunc(func(e *core.ServeEvent) error {
					e.Router.BindFunc(func(re *core.RequestEvent) error {
						if re.Request.URL.Path == plugin.EventPath {
							seen.Add(1)
						}
						return re.Next()
					})
					return e.Next()
				})
				return plugin.Register(app, nil, plugin.Config{Out: &bytes.Buffer{}, EventsThroughRouter: router})
			}})
			site := srv.AddWebsite(t, "mw.example")
			if resp := post(t, srv, `{"type":"pageView","url":"https://mw.example/"}`, nil); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got, want := seen.Load(), map[bool]int32{false: 0, true: 1}[router]; got != want {
				t.Errorf("the app's router middleware saw the event request %d times, want %d", got, want)
			}
			testwait.Until(t, "event stored", func() bool {
				return countEvents(t, srv.App(), dbx.HashExp{"website": site.Id}) == 1
			})
		})
	}
}

func testBypassesCORSAndLogs(t *testing.T, srv *pbtest.Server) {
	app := srv.App()
	srv.AddWebsite(t, "private.example")

	// a browser's UA (a bot's event would be dropped) with a version
	// string no other request of the test carries
	const visitorIP, visitorVersion = "198.51.100.77", "131.0.6778.777"
	const visitorUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/" + visitorVersion + " Safari/537.36"
	resp := post(t, srv, `{"type":"pageView","url":"https://private.example/"}`,
		map[string]string{"X-Forwarded-For": visitorIP, "User-Agent": visitorUA, "Origin": "https://private.example"})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got == "*" {
		t.Errorf("PocketBase's CORS middleware answered with %q", got)
	}
	// GET is refused with 405, not PocketBase's 404
	r, err := http.Get(srv.URL + plugin.EventPath)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET status %d, want 405", r.StatusCode)
	}

	// A request PocketBase does log, sent after the event: once it is in
	// _logs, the logger has flushed past the event request.
	probe, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/collections/websites/records", nil)
	probe.Header.Set("User-Agent", "LogProbe/1.0")
	if pr, err := http.DefaultClient.Do(probe); err == nil {
		pr.Body.Close()
	}
	logs := func(like string) int {
		var n int
		_ = app.AuxDB().Select("count(*)").From("_logs").Where(dbx.Like("data", like)).Row(&n)
		return n
	}
	testwait.Until(t, "the probe request logged", func() bool { return logs("LogProbe/1.0") > 0 })
	if n := logs(visitorIP) + logs(visitorVersion); n != 0 {
		t.Fatalf("_logs holds the visitor's IP or user agent (%d rows)", n)
	}
	testwait.Until(t, "event stored", func() bool { return countEvents(t, app, nil) == 1 })
}

// TestBundledCountryDatabaseIsTheDefault: with no GeoIPDatabase, sessions
// get their country from the bundled database; "off" turns it off.
func TestBundledCountryDatabaseIsTheDefault(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ geo, want string }{{"", "US"}, {"off", "Unknown"}} {
		t.Run("GeoIPDatabase="+tc.geo, func(t *testing.T) {
			t.Parallel()
			srv := startEmbeddedWith(t, plugin.Config{GeoIPDatabase: tc.geo})
			srv.AddWebsite(t, "geo.example")
			if resp := post(t, srv, `{"type":"pageView","url":"https://geo.example/"}`, map[string]string{"X-Forwarded-For": "8.8.8.8"}); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var country string
			testwait.Until(t, "the session stored", func() bool {
				return srv.App().DB().NewQuery("SELECT country FROM sessions").Row(&country) == nil
			})
			if country != tc.want {
				t.Errorf("country %q, want %q", country, tc.want)
			}
		})
	}
}
