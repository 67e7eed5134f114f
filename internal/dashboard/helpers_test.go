package dashboard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/plugintest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// env is a real PocketBase with the Skopos plugin (schema, event endpoint)
// and the dashboard handler on the same app, served over real HTTP.
type env struct {
	srv     *pbtest.Server
	app     core.App
	dash    *httptest.Server
	handler atomic.Pointer[http.Handler]
}

func start(t *testing.T) *env {
	t.Helper()
	// SEO analysis off: no background runner fetches the test domains
	// and overwrites the analyses the SEO tests store
	srv := plugintest.Start(t, plugin.Config{SEO: plugin.SEOConfig{Off: true}})
	// The dashboard runs on its own listener rather than through
	// plugin.onServe, so these tests do not depend on how (or whether) the
	// plugin mounts it; plugin/dashboard_test.go checks the mount.
	e := &env{srv: srv, app: srv.App()}
	e.setHandler()
	e.dash = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*e.handler.Load()).ServeHTTP(w, r)
	}))
	t.Cleanup(e.dash.Close)
	return e
}

func (e *env) setHandler() {
	h := dashboard.Handler(e.app, dashboard.Options{})
	e.handler.Store(&h)
}

// restart restarts PocketBase (same data and port), which flushes what the
// pipeline holds, JS errors included (they are otherwise written every 5
// minutes). Logins end: the dashboard keeps sessions in memory.
func (e *env) restart() {
	e.srv.Restart()
	e.app = e.srv.App()
	e.setHandler()
}

// client is a browser-like HTTP client: a cookie jar, and redirects are
// returned rather than followed so tests can check them.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (e *env) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: e.dash.URL, hc: &http.Client{Jar: jar, Timeout: testwait.Timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	*http.Response
	body string
}

func (c *client) do(method, path string, form url.Values, hdr map[string]string) resp {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		c.csrf = m[1]
	}
	return resp{r, string(b)}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) get(path string) resp { c.t.Helper(); return c.do("GET", path, nil, nil) }

// post sends a form with the last CSRF token seen (unless it sets its own).
func (c *client) post(path string, form url.Values) resp {
	c.t.Helper()
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf)
	}
	return c.do("POST", path, form, nil)
}

func (c *client) login(email, password string) resp {
	c.t.Helper()
	c.get("/dashboard/login")
	return c.post("/dashboard/login", url.Values{"email": {email}, "password": {password}})
}

func (c *client) mustLogin(email, password string) {
	c.t.Helper()
	if r := c.login(email, password); r.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d\n%s", email, r.StatusCode, r.body)
	}
	c.get("/dashboard/") // picks up the session's CSRF token
}

func addUser(t *testing.T, app core.App, email, password string) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.SetEmail(email)
	rec.SetPassword(password)
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func addSite(t *testing.T, app core.App, name, dom, userID string) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Set("name", name)
	rec.Set("domain", dom)
	rec.Set("user", userID)
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func count(t *testing.T, app core.App, table string, where dbx.Expression) int {
	t.Helper()
	var n int
	if err := app.DB().Select("count(*)").From(table).Where(where).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// beacon posts one browser event to the embedded endpoint, dressed as a
// real browser's beacon from ip.
func (e *env) beacon(t *testing.T, body, ip, ua string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+plugin.EventPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	browsertest.Headers(req.Header, ua)
	req.Header.Set("X-Forwarded-For", ip) // loopback is a trusted proxy by default
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNoContent {
		t.Fatalf("event %s: status %d", body, r.StatusCode)
	}
}

var userAgents = []string{
	browsertest.Chrome,
	"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
}

// traffic generates a day of traffic for a website on dom through the
// real endpoint: visitors with several page views, referrers, custom
// events with payloads and JS errors. It returns the number of rows it
// waits for in events.
func (e *env) traffic(t *testing.T, site *core.Record, visitors int) int {
	t.Helper()
	dom := site.GetString("domain")
	paths := []string{"/", "/pricing", "/blog/hello-world", "/docs/install", "/about"}
	refs := []string{"", "https://www.google.com/search", "https://news.ycombinator.com/item", "https://github.com/skopos-go"}
	events := 0
	for v := range visitors {
		ip := fmt.Sprintf("192.0.2.%d", v+1)
		ua := userAgents[v%len(userAgents)]
		views := 1 + v%4
		for i := range views {
			ref := ""
			if i == 0 {
				ref = refs[v%len(refs)]
			}
			e.beacon(t, fmt.Sprintf(`{"type":"pageView","url":"https://%s%s","referrer":%q,"language":"en-US","screenWidth":1440,"screenHeight":900}`,
				dom, paths[(v+i)%len(paths)], ref), ip, ua)
			events++
		}
		if v%3 == 0 {
			plan := []string{"free", "pro", "team"}[(v/3)%3]
			e.beacon(t, fmt.Sprintf(`{"type":"custom","name":"signup","url":"https://%s/pricing","customData":{"plan":%q}}`, dom, plan), ip, ua)
			events++
		}
	}
	testwait.Until(t, "events stored", func() bool {
		return count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id}) == events
	})
	return events
}

// jsErrors sends n JS errors for the website through the endpoint, then
// restarts the server so that they are written (see restart).
func (e *env) jsErrors(t *testing.T, site *core.Record, n int) {
	t.Helper()
	dom := site.GetString("domain")
	for i := range n {
		e.beacon(t, fmt.Sprintf(`{"type":"jsError","url":"https://%s/docs/install","errorMessage":"TypeError: x is undefined","stackTrace":"TypeError: x is undefined\n    at install (https://%s/app.js:10:5)"}`, dom, dom),
			fmt.Sprintf("192.0.2.%d", i+1), userAgents[i%len(userAgents)])
	}
	e.restart()
	var got int
	if err := e.app.DB().Select("COALESCE(SUM(count), 0)").From(schema.JSErrors).Where(dbx.HashExp{"website": site.Id}).Row(&got); err != nil || got < n {
		t.Fatalf("js_errors after restart: %d (%v), want ≥ %d", got, err, n)
	}
}
