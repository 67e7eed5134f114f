package plugin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/team"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// matrixEnv is one served Skopos with website A (owner, an admin and a
// viewer member) and website B of someone else, with a little traffic,
// a goal and a funnel each.
type matrixEnv struct {
	t          *testing.T
	srv        *pbtest.Server
	app        core.App
	a, b, c    *core.Record
	users      map[string]*core.Record // owner, admin, viewer
	dash       map[string]*http.Client // logged in to the dashboard
	tokens     map[string]string       // PocketBase auth tokens
	funnel     map[string]string       // website id → a funnel id
	session    map[string]string       // website id → a session id
	visitor    map[string]string       // website id → a visitor id
	stranger   *core.Record
	matrixPass string
}

// mcall is one request of a route for one website.
type mcall struct {
	method, path string
	form         url.Values // dashboard forms (the CSRF token is added)
	json         string     // API bodies
}

// matrixRow is a route and the role it needs. A route is the dashboard's
// pattern or "METHOD <first argument of e.Router.METHOD>" of plugin/*.go,
// so that a route added without a row fails TestAccessMatrix.
type matrixRow struct {
	route string
	need  access.Role
	// build makes the request for website site; it may create what the
	// request consumes (a goal to delete), so every caller gets its own
	build func(m *matrixEnv, site *core.Record) mcall
	// ownerMay404: the owner's answer is 404 by design (an id that names
	// nothing), so only the refusals are compared
	ownerMay404 bool
	// deny overrides the answer below need (0: 403) and on the other
	// website (0: 404): keys are the account's, and name a site in their body
	denyBelow, denyOther int
}

func get(path string) func(*matrixEnv, *core.Record) mcall {
	return func(m *matrixEnv, s *core.Record) mcall { return mcall{method: "GET", path: m.expand(path, s)} }
}

func postForm(path string, form url.Values) func(*matrixEnv, *core.Record) mcall {
	return func(m *matrixEnv, s *core.Record) mcall {
		return mcall{method: "POST", path: m.expand(path, s), form: form}
	}
}

func apiJSON(method, path, body string) func(*matrixEnv, *core.Record) mcall {
	return func(m *matrixEnv, s *core.Record) mcall {
		return mcall{method: method, path: m.expand(path, s), json: m.expand(body, s)}
	}
}

// expand fills {id} (record id), {tid} (trackingId), {funnel},
// {session}, {visitor} and {bogus} for site.
func (m *matrixEnv) expand(p string, s *core.Record) string {
	return strings.NewReplacer("{id}", s.Id, "{tid}", s.GetString("trackingId"), "{funnel}", m.funnel[s.Id],
		"{session}", m.session[s.Id], "{visitor}", m.visitor[s.Id], "{bogus}", "nosuchid0000000").Replace(p)
}

// fresh makes a record of collection for site and returns its id: for
// the routes that delete what they are given.
func (m *matrixEnv) fresh(collection string, fields map[string]any) func(*core.Record) string {
	return func(s *core.Record) string {
		f := map[string]any{"website": s.Id}
		for k, v := range fields {
			f[k] = v
		}
		if collection == schema.Goals || collection == schema.Funnels {
			f["name"] = fmt.Sprintf("n-%d", time.Now().UnixNano())
		}
		return pbtest.Save(m.t, m.app, collection, f).Id
	}
}

func matrixRows(m *matrixEnv) []matrixRow {
	const site = "/dashboard/sites/{id}"
	freshGoal := m.fresh(schema.Goals, map[string]any{"type": "event", "match": "x"})
	freshFunnel := m.fresh(schema.Funnels, map[string]any{"steps": `[{"name":"a","type":"page","match":"/"},{"name":"b","type":"page","match":"/b"}]`})
	freshShare := func(s *core.Record) string {
		// hash is unique: one per call
		return pbtest.Save(m.t, m.app, schema.Shares, map[string]any{"website": s.Id,
			"hash": fmt.Sprintf("%064d", time.Now().UnixNano())}).Id
	}
	freshInvite := func(s *core.Record) string {
		owner, _ := m.app.FindRecordById(schema.Users, s.GetString("user"))
		_, rec, err := team.Invite(m.app, owner, s, fmt.Sprintf("i%d@m.test", time.Now().UnixNano()), access.Viewer, time.Now())
		if err != nil {
			m.t.Fatal(err)
		}
		return rec.Id
	}
	// a shared segment of the site's owner: an admin may delete it, a viewer not
	freshSegment := func(s *core.Record) string {
		return pbtest.Save(m.t, m.app, schema.Segments, map[string]any{"website": s.Id, "user": s.GetString("user"),
			"name": fmt.Sprintf("seg-%d", time.Now().UnixNano()), "filters": `["country:DE"]`, "shared": true}).Id
	}
	with := func(method, pattern string, id func(*core.Record) string, form url.Values) func(*matrixEnv, *core.Record) mcall {
		return func(m *matrixEnv, s *core.Record) mcall {
			return mcall{method: method, path: strings.Replace(m.expand(pattern, s), "{x}", id(s), 1), form: form}
		}
	}
	shareJSON := func(m *matrixEnv, s *core.Record) mcall {
		return mcall{method: "DELETE", path: "/api/skopos/shares/" + freshShare(s)}
	}
	empty := url.Values{}
	return []matrixRow{
		// dashboard: reports (viewer)
		{route: "GET " + site, need: access.Viewer, build: get(site)},
		{route: "GET " + site + "/realtime", need: access.Viewer, build: get(site + "/realtime")},
		{route: "GET " + site + "/live/stream", need: access.Viewer, build: get(site + "/live/stream")},
		{route: "GET /dashboard/live/active", need: access.Viewer, build: get("/dashboard/live/active?site={id}")},
		{route: "GET " + site + "/events", need: access.Viewer, build: get(site + "/events?name=signup")},
		{route: "GET " + site + "/breakdown/{dim}", need: access.Viewer, build: get(site + "/breakdown/page")},
		{route: "GET " + site + "/suggest", need: access.Viewer, build: get(site + "/suggest?dim=page")},
		{route: "GET " + site + "/errors", need: access.Viewer, build: get(site + "/errors?message=x"), ownerMay404: true},
		{route: "GET " + site + "/sessions", need: access.Viewer, build: get(site + "/sessions")},
		{route: "GET " + site + "/export", need: access.Viewer, build: get(site + "/export?kind=sessions")},
		{route: "GET " + site + "/sessions/{sid}", need: access.Viewer, build: get(site + "/sessions/{session}")},
		{route: "GET " + site + "/visitors", need: access.Viewer, build: get(site + "/visitors")},
		{route: "GET " + site + "/visitors/{vid}/export", need: access.Viewer, build: get(site + "/visitors/{visitor}/export")},
		{route: "GET " + site + "/users/{userId}", need: access.Viewer, build: get(site + "/users/u-1"), ownerMay404: true},
		{route: "GET " + site + "/users/{userId}/export", need: access.Viewer, build: get(site + "/users/u-1/export"), ownerMay404: true},
		{route: "GET " + site + "/goals", need: access.Viewer, build: get(site + "/goals")},
		{route: "GET " + site + "/funnels", need: access.Viewer, build: get(site + "/funnels")},
		{route: "GET " + site + "/funnels/{fid}", need: access.Viewer, build: get(site + "/funnels/{funnel}")},
		{route: "GET " + site + "/uptime", need: access.Viewer, build: get(site + "/uptime")},
		{route: "GET " + site + "/seo", need: access.Viewer, build: get(site + "/seo")},
		// dashboard: running the site (admin)
		{route: "POST " + site + "/goals", need: access.Admin, build: postForm(site+"/goals", empty)},
		{route: "POST " + site + "/goals/{gid}/delete", need: access.Admin, build: with("POST", site+"/goals/{x}/delete", freshGoal, empty)},
		{route: "POST " + site + "/funnels", need: access.Admin, build: postForm(site+"/funnels", empty)},
		{route: "POST " + site + "/funnels/{fid}/delete", need: access.Admin, build: with("POST", site+"/funnels/{x}/delete", freshFunnel, empty)},
		{route: "POST " + site + "/seo", need: access.Admin, build: postForm(site+"/seo", empty)},
		{route: "GET " + site + "/shares", need: access.Admin, build: get(site + "/shares")},
		{route: "POST " + site + "/shares", need: access.Admin, build: postForm(site+"/shares", url.Values{"name": {"m"}})},
		{route: "POST " + site + "/shares/{sid}/revoke", need: access.Admin, build: with("POST", site+"/shares/{x}/revoke", freshShare, empty)},
		{route: "GET " + site + "/members", need: access.Admin, build: get(site + "/members")},
		{route: "GET " + site + "/audit", need: access.Admin, build: get(site + "/audit")},
		{route: "POST " + site + "/segments", need: access.Viewer, build: postForm(site+"/segments", empty)},
		{route: "POST " + site + "/segments/{gid}/delete", need: access.Admin, build: with("POST", site+"/segments/{x}/delete", freshSegment, empty)},
		{route: "GET SegmentsPath", need: access.Viewer, build: get("/api/skopos/segments?site={tid}")},
		{route: "POST SegmentsPath", need: access.Viewer, build: apiJSON("POST", "/api/skopos/segments", `{"site":"{tid}"}`)},
		{route: `DELETE SegmentsPath+"/{id}"`, need: access.Admin, build: func(m *matrixEnv, s *core.Record) mcall {
			return mcall{method: "DELETE", path: "/api/skopos/segments/" + freshSegment(s)}
		}},
		{route: "GET AuditPath", need: access.Admin, build: get("/api/skopos/audit?site={tid}")},
		{route: "GET /dashboard/websites/{id}", need: access.Admin, build: get("/dashboard/websites/{id}")},
		{route: "POST /dashboard/websites/{id}", need: access.Admin, build: postForm("/dashboard/websites/{id}", empty)},
		{route: "POST /dashboard/websites/{id}/archive", need: access.Admin, build: postForm("/dashboard/websites/{id}/archive", empty)},
		{route: "GET " + site + "/sessions/{sid}/delete", need: access.Admin, build: get(site + "/sessions/{session}/delete")},
		{route: "POST " + site + "/sessions/{sid}/delete", need: access.Admin, build: postForm(site+"/sessions/{bogus}/delete", empty), ownerMay404: true},
		{route: "GET " + site + "/visitors/{vid}/delete", need: access.Admin, build: get(site + "/visitors/{visitor}/delete")},
		{route: "POST " + site + "/visitors/{vid}/delete", need: access.Admin, build: postForm(site+"/visitors/{bogus}/delete", empty), ownerMay404: true},
		{route: "GET " + site + "/users/{userId}/delete", need: access.Admin, build: get(site + "/users/u-1/delete"), ownerMay404: true},
		{route: "POST " + site + "/users/{userId}/delete", need: access.Admin, build: postForm(site+"/users/{bogus}/delete", empty), ownerMay404: true},
		// dashboard: the owner's
		{route: "GET /dashboard/websites/{id}/delete", need: access.Owner, build: get("/dashboard/websites/{id}/delete")},
		{route: "POST /dashboard/websites/{id}/delete", need: access.Owner, build: postForm("/dashboard/websites/{id}/delete", empty)},
		{route: "POST " + site + "/members", need: access.Owner, build: postForm(site+"/members", empty)},
		{route: "POST " + site + "/members/{uid}/role", need: access.Owner, build: postForm(site+"/members/{bogus}/role", url.Values{"role": {"viewer"}})},
		// an admin may remove only themselves (leave): another member is the owner's
		{route: "POST " + site + "/members/{uid}/remove", need: access.Owner, build: postForm(site+"/members/{bogus}/remove", empty)},
		{route: "POST " + site + "/members/{uid}/transfer", need: access.Owner, build: postForm(site+"/members/{bogus}/transfer", empty)},
		{route: "POST " + site + "/invites/{iid}/revoke", need: access.Owner, build: with("POST", site+"/invites/{x}/revoke", freshInvite, empty)},

		// API
		{route: "GET StatsPath", need: access.Viewer, build: get("/api/skopos/stats?site={tid}&period=7d")},
		{route: "GET PropertiesPath", need: access.Viewer, build: get("/api/skopos/stats/properties?site={tid}&period=7d&event=signup")},
		{route: "GET FunnelPath", need: access.Viewer, build: get("/api/skopos/funnel?site={tid}&period=7d&funnel={funnel}")},
		{route: "GET RevenuePath", need: access.Viewer, build: get("/api/skopos/stats/revenue?site={tid}&period=7d")},
		{route: "GET BreakdownPath", need: access.Viewer, build: get("/api/skopos/stats/breakdown?site={tid}&period=7d&dimension=page")},
		{route: "GET ExportPath", need: access.Viewer, build: get("/api/skopos/export?site={tid}&period=7d&kind=sessions")},
		{route: "GET LivePath", need: access.Viewer, build: get("/api/skopos/live?site={tid}")},
		{route: "GET UptimePath", need: access.Viewer, build: get("/api/skopos/uptime?site={tid}")},
		{route: "GET SEOPath", need: access.Viewer, build: get("/api/skopos/seo?site={tid}")},
		{route: "POST SEOAnalyzePath", need: access.Admin, build: apiJSON("POST", "/api/skopos/seo/analyze", `{"site":"{tid}"}`)},
		{route: "GET VisitorsPath", need: access.Viewer, build: get("/api/skopos/visitors?site={tid}&period=7d")},
		{route: `GET VisitorsPath+"/{id}/export"`, need: access.Viewer, build: get("/api/skopos/visitors/{visitor}/export?site={tid}")},
		{route: `GET UsersPath+"/{userId}"`, need: access.Viewer, build: get("/api/skopos/users/u-1?site={tid}"), ownerMay404: true},
		{route: `GET UsersPath+"/{userId}/export"`, need: access.Viewer, build: get("/api/skopos/users/u-1/export?site={tid}"), ownerMay404: true},
		{route: "DELETE path", need: access.Admin, build: apiJSON("DELETE", "/api/skopos/sessions/{bogus}?site={tid}", ""), ownerMay404: true},
		{route: "DELETE path", need: access.Admin, build: apiJSON("DELETE", "/api/skopos/visitors/{bogus}?site={tid}", ""), ownerMay404: true},
		{route: "DELETE path", need: access.Admin, build: apiJSON("DELETE", "/api/skopos/users/{bogus}?site={tid}", ""), ownerMay404: true},
		{route: "POST SharesPath", need: access.Admin, build: apiJSON("POST", "/api/skopos/shares", `{"site":"{tid}"}`)},
		{route: "GET SharesPath", need: access.Admin, build: get("/api/skopos/shares?site={tid}")},
		{route: `DELETE SharesPath+"/{ref}"`, need: access.Admin, build: shareJSON},
		{route: "GET MembersPath", need: access.Admin, build: get("/api/skopos/members?site={tid}")},
		{route: "POST MembersPath", need: access.Owner, build: apiJSON("POST", "/api/skopos/members", `{"site":"{tid}"}`)},
		{route: `PATCH MembersPath+"/{userId}"`, need: access.Owner, build: apiJSON("PATCH", "/api/skopos/members/{bogus}?site={tid}", `{"role":"viewer"}`)},
		{route: `DELETE MembersPath+"/{userId}"`, need: access.Owner, build: apiJSON("DELETE", "/api/skopos/members/{bogus}?site={tid}", "")},
		{route: `POST MembersPath+"/{userId}/transfer"`, need: access.Owner, build: apiJSON("POST", "/api/skopos/members/{bogus}/transfer?site={tid}", "")},
		{route: `DELETE MembersPath+"/invitations/{id}"`, need: access.Owner, build: func(m *matrixEnv, s *core.Record) mcall {
			return mcall{method: "DELETE", path: "/api/skopos/members/invitations/" + freshInvite(s) + "?site=" + s.GetString("trackingId")}
		}},
		// a key's sites are checked as a body field: 400 "no website you administer"
		{route: "POST KeysPath", need: access.Admin, build: apiJSON("POST", "/api/skopos/keys", `{"name":"k","sites":["{tid}"]}`),
			denyBelow: http.StatusBadRequest, denyOther: http.StatusBadRequest},
	}
}

// notPerSite are the routes of no one website, each with why.
var notPerSite = map[string]string{
	"GET /dashboard":                              "redirect",
	"GET /dashboard/static/":                      "static files",
	"GET /dashboard/login":                        "login",
	"POST /dashboard/login":                       "login",
	"POST /dashboard/logout":                      "logout",
	"GET /dashboard/{$}":                          "overview: lists access.VisibleSites",
	"GET /dashboard/websites":                     "lists access.VisibleSites",
	"POST /dashboard/websites":                    "adds a website the caller owns",
	"GET /dashboard/keys":                         "the account's API keys",
	"POST /dashboard/keys":                        "apikey.Create checks access.Admin per site (row POST KeysPath)",
	"POST /dashboard/keys/{kid}/revoke":           "the key's owner",
	"GET /dashboard/notifications":                "the account's rules",
	"POST /dashboard/notifications":               "a rule's website needs access.Admin (notify.ValidateRule)",
	"GET /dashboard/notifications/{rid}":          "the rule's owner",
	"POST /dashboard/notifications/{rid}":         "the rule's owner",
	"POST /dashboard/notifications/{rid}/active":  "the rule's owner",
	"POST /dashboard/notifications/{rid}/delete":  "the rule's owner",
	"POST /dashboard/notifications/{rid}/test":    "the rule's owner",
	"GET /dashboard/service-keys":                 "the account's vault",
	"POST /dashboard/service-keys":                "the account's vault",
	"POST /dashboard/service-keys/{kid}/{action}": "the account's vault",
	"GET /dashboard/invite/{token}":               "the invitation's token is the credential",
	"POST /dashboard/invite/{token}":              "the invitation's token is the credential",
	"GET /share/{token}":                          "a shared link's token is the credential",
	"POST /share/{token}":                         "a shared link's token is the credential",
	"GET /share/{token}/events":                   "a shared link's token is the credential",
	"GET /share/{token}/breakdown/{dim}":          "a shared link's token is the credential",
	"GET /share/{token}/suggest":                  "a shared link's token is the credential",
	"GET /share/{token}/errors":                   "a shared link's token is the credential",
	"GET /share/{token}/funnels/{fid}":            "a shared link's token is the credential",
	"GET /share/{token}/active":                   "a shared link's token is the credential",
	"GET wire.CapabilitiesPath":                   "public",
	"POST wire.IngestPath":                        "the SDK's ingest key",
	"Any EventPath":                               "public event endpoint",
	"Any ScriptPath":                              "public script",
	"Any path":                                    "the dashboard's mount and the demo pages",
	"GET MetricsPath":                             "metrics token",
	"GET KeysPath":                                "the caller's own keys",
	`DELETE KeysPath+"/{id}"`:                     "the key's owner",
}

func startMatrix(t *testing.T) *matrixEnv {
	srv := startEmbedded(t)
	m := &matrixEnv{t: t, srv: srv, app: srv.App(), users: map[string]*core.Record{}, dash: map[string]*http.Client{},
		tokens: map[string]string{}, funnel: map[string]string{}, session: map[string]string{}, visitor: map[string]string{},
		matrixPass: "matrix-password-1"}
	for _, name := range []string{"owner", "admin", "viewer", "stranger"} {
		m.users[name] = pbtest.Save(t, m.app, schema.Users, map[string]any{"email": name + "@m.test", "password": m.matrixPass})
	}
	m.stranger = m.users["stranger"]
	m.a = pbtest.Save(t, m.app, schema.Websites, map[string]any{"name": "A", "domain": "a.m.test", "user": m.users["owner"].Id})
	m.b = pbtest.Save(t, m.app, schema.Websites, map[string]any{"name": "B", "domain": "b.m.test", "user": m.stranger.Id})
	// the viewer of A administers C: the goals' API rules must not mix
	// up two member rows
	c := pbtest.Save(t, m.app, schema.Websites, map[string]any{"name": "C", "domain": "c.m.test", "user": m.stranger.Id})
	m.c = c
	for _, mem := range []struct {
		site       *core.Record
		user, role string
	}{{m.a, "admin", "admin"}, {m.a, "viewer", "viewer"}, {c, "viewer", "admin"}} {
		pbtest.Save(t, m.app, schema.Members, map[string]any{"website": mem.site.Id, "user": m.users[mem.user].Id, "role": mem.role})
	}
	for i, s := range []*core.Record{m.a, m.b} {
		post(t, srv, `{"type":"pageView","url":"https://`+s.GetString("domain")+`/"}`,
			map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1)})
		pbtest.Save(t, m.app, schema.Goals, map[string]any{"website": s.Id, "name": "g", "type": "event", "match": "signup"})
		m.funnel[s.Id] = pbtest.Save(t, m.app, schema.Funnels, map[string]any{"website": s.Id, "name": "f",
			"steps": `[{"name":"a","type":"page","match":"/"},{"name":"b","type":"page","match":"/b"}]`}).Id
	}
	for _, s := range []*core.Record{m.a, m.b} {
		var row struct {
			ID      string `db:"id"`
			Visitor string `db:"visitor"`
		}
		testwait.Until(t, "a session of "+s.GetString("name"), func() bool {
			return m.app.DB().Select("id", "visitor").From(schema.Sessions).Where(dbx.HashExp{"website": s.Id}).One(&row) == nil
		})
		m.session[s.Id], m.visitor[s.Id] = row.ID, row.Visitor
	}
	for _, name := range []string{"owner", "admin", "viewer"} {
		m.dash[name] = m.login(name)
		tok, err := m.users[name].NewAuthToken()
		if err != nil {
			t.Fatal(err)
		}
		m.tokens[name] = tok
	}
	return m
}

// api sends an API request with who's auth token (m.tokens) and returns
// the status and body.
func (m *matrixEnv) api(who, method, path, body string) (int, string) {
	req, _ := http.NewRequest(method, m.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", m.tokens[who])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var matrixCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs name in to the dashboard and returns its client (cookies,
// redirects not followed).
func (m *matrixEnv) login(name string) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: testwait.Timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := m.body(c, "GET", m.srv.URL+"/dashboard/login", nil)
	tok := matrixCSRF.FindStringSubmatch(page)
	form := url.Values{"email": {name + "@m.test"}, "password": {m.matrixPass}, "csrf": {tok[1]}}
	req, _ := http.NewRequest("POST", m.srv.URL+"/dashboard/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", m.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		m.t.Fatalf("login %s: %d", name, resp.StatusCode)
	}
	return c
}

func (m *matrixEnv) body(c *http.Client, method, u string, body io.Reader) string {
	req, _ := http.NewRequest(method, u, body)
	resp, err := c.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// status sends c as name: the dashboard with its session (the CSRF token
// of the site page added to forms), the API with its auth token. Streams
// are read no further than their status.
func (m *matrixEnv) status(name string, c mcall) int {
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	var body io.Reader
	hc := m.dash[name]
	if c.form != nil {
		f := url.Values{}
		for k, v := range c.form {
			f[k] = v
		}
		page := m.body(hc, "GET", m.srv.URL+"/dashboard/", nil)
		if tok := matrixCSRF.FindStringSubmatch(page); tok != nil {
			f.Set("csrf", tok[1])
		}
		body = strings.NewReader(f.Encode())
	} else if c.json != "" {
		body = strings.NewReader(c.json)
	}
	req, _ := http.NewRequestWithContext(ctx, c.method, m.srv.URL+c.path, body)
	switch {
	case c.form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", m.srv.URL)
	case strings.HasPrefix(c.path, "/api/"):
		req.Header.Set("Authorization", m.tokens[name])
		req.Header.Set("Content-Type", "application/json")
		hc = &http.Client{Timeout: testwait.Timeout()}
	}
	resp, err := hc.Do(req)
	if err != nil {
		m.t.Fatalf("%s %s as %s: %v", c.method, c.path, name, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAccessMatrix walks every per-website route (the dashboard's
// patterns, plugin/*.go's e.Router registrations) × role × website: the
// owner and the members of A get the owner's answer at or above the
// route's role and 403 below it; on B, someone else's website, every one
// of them gets 404.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	m := startMatrix(t)
	rows := matrixRows(m)
	covered := map[string]bool{}
	for _, r := range rows {
		covered[r.route] = true
	}
	// every route has a row or a reason
	noop := func(context.Context, erase.Target, string) (erase.Result, error) { return erase.Result{}, nil }
	routes := dashboard.Patterns(dashboard.Handler(m.app, dashboard.Options{Erase: noop}))
	routes = append(routes, apiRoutes(t)...)
	for _, p := range routes {
		if !covered[p] && notPerSite[p] == "" {
			t.Errorf("route %q has no row in the access matrix (or a reason in notPerSite)", p)
		}
	}
	roles := map[string]access.Role{"owner": access.Owner, "admin": access.Admin, "viewer": access.Viewer}
	for _, r := range rows {
		owner := m.status("owner", r.build(m, m.a))
		if owner == http.StatusUnauthorized || owner == http.StatusForbidden || owner >= 500 || (owner == http.StatusNotFound && !r.ownerMay404) {
			t.Errorf("%s as the owner: %d", r.route, owner)
			continue
		}
		for _, name := range []string{"admin", "viewer"} {
			want := owner
			if roles[name] < r.need {
				want = orDefault(r.denyBelow, http.StatusForbidden)
			}
			if got := m.status(name, r.build(m, m.a)); got != want {
				t.Errorf("%s as %s of A: %d, want %d", r.route, name, got, want)
			}
		}
		for _, name := range []string{"owner", "admin", "viewer"} {
			want := orDefault(r.denyOther, http.StatusNotFound)
			if got := m.status(name, r.build(m, m.b)); got != want {
				t.Errorf("%s as %s of A on B: %d, want %d", r.route, name, got, want)
			}
		}
	}
}

func orDefault(v, d int) int {
	if v != 0 {
		return v
	}
	return d
}

var routerCall = regexp.MustCompile(`e\.Router\.([A-Za-z]+)\(([^,]+),`)

// apiRoutes lists "METHOD <first argument>" of every e.Router
// registration in this package's sources.
func apiRoutes(t *testing.T) []string {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range routerCall.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1]+" "+m[2])
		}
	}
	if len(out) < 20 {
		t.Fatalf("found %d e.Router registrations: the scan is broken", len(out))
	}
	return out
}

// TestGoalRulesFollowRoles: PocketBase's own REST API on goals lets
// members read and admins change, per website: the viewer of A, who
// administers C, cannot create a goal on A (the rule's conditions hold
// for one member row, not one row each).
func TestGoalRulesFollowRoles(t *testing.T) {
	t.Parallel()
	m := startMatrix(t)
	pbtest.Save(t, m.app, schema.Goals, map[string]any{"website": m.c.Id, "name": "g", "type": "event", "match": "signup"})
	api := m.api
	list := func(name string) map[string]int {
		code, body := api(name, "GET", "/api/collections/goals/records?perPage=100", "")
		if code != http.StatusOK {
			t.Fatalf("list goals as %s: %d %s", name, code, body)
		}
		out := map[string]int{}
		for _, s := range []*core.Record{m.a, m.b, m.c} {
			out[s.GetString("name")] = strings.Count(body, `"website":"`+s.Id+`"`)
		}
		return out
	}
	if got := list("viewer"); got["A"] != 1 || got["B"] != 0 || got["C"] != 1 {
		t.Errorf("the viewer of A (admin of C) lists %v, want A and C only", got)
	}
	if got := list("admin"); got["A"] != 1 || got["B"] != 0 || got["C"] != 0 {
		t.Errorf("the admin of A lists %v", got)
	}
	create := func(name string, site *core.Record) int {
		code, _ := api(name, "POST", "/api/collections/goals/records",
			fmt.Sprintf(`{"website":%q,"name":"by-%s-%d","type":"event","match":"x"}`, site.Id, name, time.Now().UnixNano()))
		return code
	}
	for _, tt := range []struct {
		who  string
		site *core.Record
		want int
	}{
		{"viewer", m.a, http.StatusBadRequest}, {"viewer", m.c, http.StatusOK}, {"admin", m.a, http.StatusOK},
		{"owner", m.a, http.StatusOK}, {"admin", m.b, http.StatusBadRequest},
	} {
		if got := create(tt.who, tt.site); got != tt.want {
			t.Errorf("create a goal on %s as %s: %d, want %d", tt.site.GetString("name"), tt.who, got, tt.want)
		}
	}
	var goalA string
	if err := m.app.DB().Select("id").From(schema.Goals).Where(dbx.HashExp{"website": m.a.Id, "name": "g"}).Row(&goalA); err != nil {
		t.Fatal(err)
	}
	// moving A's goal to C: the admin of C is only a viewer of A
	if code, _ := api("viewer", "PATCH", "/api/collections/goals/records/"+goalA, `{"website":"`+m.c.Id+`"}`); code != http.StatusNotFound {
		t.Errorf("the viewer of A moves A's goal: %d, want 404", code)
	}
	if code, _ := api("viewer", "DELETE", "/api/collections/goals/records/"+goalA, ""); code != http.StatusNotFound {
		t.Errorf("the viewer of A deletes A's goal: %d, want 404", code)
	}
	if code, _ := api("admin", "DELETE", "/api/collections/goals/records/"+goalA, ""); code != http.StatusNoContent {
		t.Errorf("the admin of A deletes A's goal: %d, want 204", code)
	}
}

// TestKeyFollowsItsOwnersRole: an API key reads a website while its
// owner administers it; demoted to viewer the key gets 403, removed 404.
func TestKeyFollowsItsOwnersRole(t *testing.T) {
	t.Parallel()
	m := startMatrix(t)
	req, _ := http.NewRequest("POST", m.srv.URL+"/api/skopos/keys",
		strings.NewReader(`{"name":"ci","sites":["`+m.a.GetString("trackingId")+`"]}`))
	req.Header.Set("Authorization", m.tokens["admin"])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	key := regexp.MustCompile(`"key":"(sk_[^"]+)"`).FindSubmatch(b)
	if resp.StatusCode != http.StatusCreated || key == nil {
		t.Fatalf("the admin creates a key: %d %s", resp.StatusCode, b)
	}
	read := func() int {
		req, _ := http.NewRequest("GET", m.srv.URL+"/api/skopos/stats?period=7d&site="+m.a.GetString("trackingId"), nil)
		req.Header.Set("Authorization", "Bearer "+string(key[1]))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := read(); got != http.StatusOK {
		t.Fatalf("the admin's key: %d", got)
	}
	if _, err := m.app.DB().Update(schema.Members, dbx.Params{"role": "viewer"}, dbx.HashExp{"website": m.a.Id, "user": m.users["admin"].Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != http.StatusForbidden {
		t.Errorf("the key of a member demoted to viewer: %d, want 403", got)
	}
	if _, err := m.app.DB().Delete(schema.Members, dbx.HashExp{"website": m.a.Id, "user": m.users["admin"].Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != http.StatusNotFound {
		t.Errorf("the key of a removed member: %d, want 404", got)
	}
}

// TestMembersAPI: the members routes invite (the link answered when no
// mail could be sent), list, change a role, let a member leave and
// transfer the website; API keys cannot manage members.
func TestMembersAPI(t *testing.T) {
	t.Parallel()
	m := startMatrix(t)
	tid := m.a.GetString("trackingId")
	call := m.api
	code, body := call("owner", "POST", "/api/skopos/members", `{"site":"`+tid+`","email":"new@m.test","role":"viewer"}`)
	if code != http.StatusCreated || !strings.Contains(body, `"mailed":false`) || !strings.Contains(body, "/dashboard/invite/") {
		t.Fatalf("invite: %d %s", code, body)
	}
	code, body = call("admin", "GET", "/api/skopos/members?site="+tid, "")
	if code != http.StatusOK || strings.Count(body, `"userId"`) != 3 || !strings.Contains(body, `"email":"new@m.test"`) {
		t.Fatalf("list as admin: %d %s", code, body)
	}
	if code, body := call("owner", "PATCH", "/api/skopos/members/"+m.users["viewer"].Id+"?site="+tid, `{"role":"admin"}`); code != http.StatusNoContent {
		t.Fatalf("promote: %d %s", code, body)
	}
	if got := access.RoleOf(m.app, m.users["viewer"], m.a); got != access.Admin {
		t.Fatalf("after PATCH: %v", got)
	}
	if code, _ := call("owner", "PATCH", "/api/skopos/members/"+m.users["viewer"].Id+"?site="+tid, `{"role":"owner"}`); code != http.StatusBadRequest {
		t.Errorf("PATCH to owner: %d, want 400", code)
	}
	if code, _ := call("viewer", "DELETE", "/api/skopos/members/"+m.users["viewer"].Id+"?site="+tid, ""); code != http.StatusNoContent {
		t.Errorf("leave: %d", code)
	}
	if got := access.RoleOf(m.app, m.users["viewer"], m.a); got != access.None {
		t.Errorf("after leaving: %v", got)
	}
	if code, _ := call("owner", "POST", "/api/skopos/members/"+m.users["admin"].Id+"/transfer?site="+tid, ""); code != http.StatusNoContent {
		t.Fatalf("transfer: %d", code)
	}
	site, _ := m.app.FindRecordById(schema.Websites, m.a.Id)
	if access.RoleOf(m.app, m.users["admin"], site) != access.Owner || access.RoleOf(m.app, m.users["owner"], site) != access.Admin {
		t.Errorf("after transfer: %v, %v", access.RoleOf(m.app, m.users["admin"], site), access.RoleOf(m.app, m.users["owner"], site))
	}
	if n, err := m.app.CountRecords(schema.Audit, dbx.HashExp{"website": m.a.Id, "action": audit.OwnerTransfer}); err != nil || n != 1 {
		t.Errorf("audit rows of the transfer: %d %v", n, err)
	}
	// an API key of the (new) owner reads reports but manages no one
	code, body = call("admin", "POST", "/api/skopos/keys", `{"name":"k"}`)
	key := regexp.MustCompile(`"key":"(sk_[^"]+)"`).FindStringSubmatch(body)
	if code != http.StatusCreated || key == nil {
		t.Fatalf("key: %d %s", code, body)
	}
	m.tokens["key"] = "Bearer " + key[1]
	if code, _ := call("key", "GET", "/api/skopos/members?site="+tid, ""); code != http.StatusUnauthorized {
		t.Errorf("members with an API key: %d, want 401", code)
	}
}

// TestSegmentChangesAudited: saving and deleting a segment through the
// API are in the website's audit log.
func TestSegmentChangesAudited(t *testing.T) {
	t.Parallel()
	m := startMatrix(t)
	api := func(method, path, body string) string {
		_, b := m.api("admin", method, path, body)
		return b
	}
	body := api("POST", "/api/skopos/segments", `{"site":"`+m.a.GetString("trackingId")+`","name":"Germany","filters":["country:DE"],"shared":true}`)
	id := regexp.MustCompile(`"id":"([a-z0-9]+)"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatalf("create: %s", body)
	}
	api("DELETE", "/api/skopos/segments/"+id[1], "")
	for _, action := range []string{audit.SegmentCreate, audit.SegmentDelete} {
		if n, err := m.app.CountRecords(schema.Audit, dbx.HashExp{"website": m.a.Id, "action": action, "target": "Germany",
			"actor": "users/" + m.users["admin"].Id}); err != nil || n != 1 {
			t.Errorf("%s rows: %d %v", action, n, err)
		}
	}
}
