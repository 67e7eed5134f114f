package dashboard_test

import (
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

var shareURLRE = regexp.MustCompile(`id="share-url" class="code" readonly value="([^"]+)"`)

// createShare submits the shares form and returns the link's path
// (/share/<token>) read from the page that shows it once.
func createShare(t *testing.T, c *client, siteID string, form url.Values) string {
	t.Helper()
	c.get("/dashboard/sites/" + siteID + "/shares")
	r := c.post("/dashboard/sites/"+siteID+"/shares", form)
	m := shareURLRE.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create link %v: %d\n%s", form, r.StatusCode, r.body)
	}
	u, err := url.Parse(m[1])
	if err != nil || !strings.HasPrefix(u.Path, "/share/") || u.Host != strings.TrimPrefix(c.base, "http://") {
		t.Fatalf("link %q: want %s/share/<token>", m[1], c.base)
	}
	return u.Path
}

// TestSharedLinkPages: the owner creates links on the site's shares page
// (shown once, CSRF-checked, owner only); /share/<token> shows the same
// figures as the owner's page, read-only (no menu, no link into
// /dashboard, no sessions, settings or export), its links stay under the
// link; a password link asks for it first; revoked and expired links
// are 404; stored names are escaped.
func TestSharedLinkPages(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@share.example", "owner-password-1")
	other := addUser(t, e.app, "other@share.example", "other-password-1")
	const hostileName = `<img src=x onerror=alert(1)>`
	site := addSite(t, e.app, hostileName+" shop", "share.example", owner.Id)
	e.traffic(t, site, 8)
	funnel := pbtest.Save(t, e.app, schema.Funnels, map[string]any{"website": site.Id, "name": hostileName + " funnel",
		"steps": []map[string]string{{"name": "Pricing", "type": "page", "match": "/pricing"}, {"name": "Signup", "type": "event", "match": "signup"}}})
	otherSite := addSite(t, e.app, "Someone else's", "else-share.example", other.Id)
	elsewhere := pbtest.Save(t, e.app, schema.Funnels, map[string]any{"website": otherSite.Id, "name": "theirs",
		"steps": []map[string]string{{"name": "a", "type": "page", "match": "/"}, {"name": "b", "type": "page", "match": "/b"}}})

	// the plugin-mounted dashboard: it holds the server's share guard
	oc := e.client(t)
	oc.base = e.srv.URL
	oc.mustLogin("owner@share.example", "owner-password-1")
	sitePage := oc.get("/dashboard/sites/" + site.Id + "?period=today")
	if !strings.Contains(sitePage.body, `id="shares-link"`) {
		t.Fatalf("the site page has no Share link")
	}

	// refused forms create nothing
	for _, tc := range []struct {
		name string
		form url.Values
		want int
	}{
		{"past expiry", url.Values{"expires": {"2020-01-01"}}, http.StatusUnprocessableEntity},
		{"bad expiry", url.Values{"expires": {"soon"}}, http.StatusUnprocessableEntity},
		{"password over 72 bytes", url.Values{"password": {strings.Repeat("p", schema.MaxSharePassword+1)}}, http.StatusUnprocessableEntity},
		{"label over the limit", url.Values{"name": {strings.Repeat("n", schema.MaxShareName+1)}}, http.StatusUnprocessableEntity},
		{"no CSRF token", url.Values{"csrf": {""}}, http.StatusForbidden},
	} {
		if r := oc.post("/dashboard/sites/"+site.Id+"/shares", tc.form); r.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, r.StatusCode, tc.want)
		}
	}
	r := oc.do("POST", "/dashboard/sites/"+site.Id+"/shares", url.Values{"csrf": {oc.csrf}},
		map[string]string{"Origin": "https://evil.example"})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", r.StatusCode)
	}
	if n := count(t, e.app, schema.Shares, dbx.NewExp("1=1")); n != 0 {
		t.Fatalf("%d links stored by refused forms", n)
	}

	open := createShare(t, oc, site.Id, url.Values{"name": {hostileName}})
	locked := createShare(t, oc, site.Id, url.Values{"password": {strings.Repeat("p", schema.MaxSharePassword)},
		"expires": {time.Now().AddDate(0, 0, 2).Format(time.DateOnly)}})
	list := oc.get("/dashboard/sites/" + site.Id + "/shares")
	if strings.Contains(list.body, strings.TrimPrefix(open, "/share/")) || strings.Contains(list.body, hostileName) ||
		!strings.Contains(list.body, attr(hostileName)) || strings.Count(list.body, "/revoke") != 2 {
		t.Errorf("the list shows a token, an unescaped name, or not both links:\n%s", list.body)
	}
	// the day chosen is the last day the link works (the site's zone is UTC here)
	if through := "valid through " + time.Now().AddDate(0, 0, 2).Format(time.DateOnly); !strings.Contains(list.body, through) {
		t.Errorf("the list does not say %q", through)
	}

	// another user reaches neither the page nor the links
	xc := e.client(t)
	xc.base = e.srv.URL
	xc.mustLogin("other@share.example", "other-password-1")
	var linkID string
	if err := e.app.DB().Select("id").From(schema.Shares).Where(dbx.HashExp{"name": hostileName}).Row(&linkID); err != nil {
		t.Fatal(err)
	}
	if r := xc.get("/dashboard/sites/" + site.Id + "/shares"); r.StatusCode != http.StatusNotFound {
		t.Errorf("another user's shares page: %d", r.StatusCode)
	}
	if r := xc.post("/dashboard/sites/"+site.Id+"/shares/"+linkID+"/revoke", url.Values{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("another user revokes: %d", r.StatusCode)
	}

	// the shared page equals the owner's, without any account
	anon := e.client(t)
	anon.base = e.srv.URL
	shared := anon.get(open + "?period=today")
	if shared.StatusCode != http.StatusOK {
		t.Fatalf("shared page: %d\n%s", shared.StatusCode, shared.body)
	}
	if got, want := kpis(shared.body), kpis(sitePage.body); len(want) < 7 || !maps.Equal(got, want) {
		t.Errorf("shared KPIs %v, owner's %v", got, want)
	}
	if shared.Header.Get("X-Robots-Tag") == "" || !strings.Contains(shared.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("headers: %v", shared.Header)
	}
	// the page's own stylesheet is the one thing it takes from /dashboard
	body := strings.ReplaceAll(shared.body, `href="/dashboard/static/`, "")
	for _, absent := range []string{`href="/dashboard`, `action="/dashboard`, `id="sessions-link"`, `id="export-menu"`,
		`id="shares-link"`, `id="realtime-link"`, "Log out", `<a id="period-zone"`, hostileName} {
		if strings.Contains(body, absent) {
			t.Errorf("shared page contains %q", absent)
		}
	}
	for _, present := range []string{`id="shared-note"`, attr(hostileName), `href="` + open + `?filter=`, `href="` + open + `/events?`} {
		if !strings.Contains(shared.body, present) {
			t.Errorf("shared page lacks %q", present)
		}
	}
	// funnels: listed on the page, charted read-only under the link
	funnelURL := open + "/funnels/" + funnel.Id
	if !strings.Contains(shared.body, `href="`+funnelURL+`?`) {
		t.Errorf("shared page does not link the funnel %s", funnelURL)
	}
	if r := anon.get(funnelURL + "?period=today"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `id="funnel-chart"`) ||
		strings.Contains(r.body, "Delete funnel") || strings.Contains(r.body, hostileName) || !strings.Contains(r.body, attr(hostileName)) {
		t.Errorf("shared funnel: %d", r.StatusCode)
	}
	if r := anon.get(open + "/funnels/" + elsewhere.Id); r.StatusCode != http.StatusNotFound {
		t.Errorf("another site's funnel through the link: %d, want 404", r.StatusCode)
	}
	if r := anon.get(open + "/events?period=today&name=signup"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "pro") {
		t.Errorf("shared event details: %d", r.StatusCode)
	}
	if r := anon.get(open + "?period=today&filter=page:/pricing"); r.StatusCode != http.StatusOK {
		t.Errorf("shared filtered page: %d", r.StatusCode)
	}
	for _, p := range []string{open + "/sessions", open + "/export", open + "/goals", open + "/funnels", "/dashboard/sites/" + site.Id} {
		if r := anon.get(p); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusFound {
			t.Errorf("%s through a link: %d, want 404 (or the login redirect)", p, r.StatusCode)
		}
	}

	// a password link asks first; a wrong one is refused; the right one
	// opens it for this browser only
	if r := anon.get(locked); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.body, `id="share-password-form"`) ||
		strings.Contains(r.body, `id="kpi-`) {
		t.Fatalf("password link before the password: %d", r.StatusCode)
	}
	if r := anon.get(locked + "/active"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("active-now stream before the password: %d, want 401", r.StatusCode)
	}
	if r := anon.post(locked, url.Values{"password": {"wrong"}}); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", r.StatusCode)
	}
	if r := anon.post(locked, url.Values{"password": {strings.Repeat("p", schema.MaxSharePassword)}, "csrf": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("password form without its CSRF token: %d", r.StatusCode)
	}
	// the form comes back to the page asked for, never elsewhere
	for _, tc := range []struct{ next, want string }{
		{"https://evil.example/", locked},
		{"//evil.example" + locked, locked},
		{locked + "x/events", locked}, // another link's prefix
		{locked + "/events?period=today&name=signup", locked + "/events?period=today&name=signup"},
	} {
		fresh := e.client(t) // not unlocked yet
		fresh.base = e.srv.URL
		fresh.get(locked)
		r := fresh.post(locked, url.Values{"password": {strings.Repeat("p", schema.MaxSharePassword)}, "next": {tc.next}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != tc.want {
			t.Errorf("right password, next %q: %d → %q, want 303 → %q", tc.next, r.StatusCode, r.Header.Get("Location"), tc.want)
		}
	}
	anon.get(locked)
	if r := anon.post(locked, url.Values{"password": {strings.Repeat("p", schema.MaxSharePassword)}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("right password: %d", r.StatusCode)
	}
	if r := anon.get(locked + "?period=today"); r.StatusCode != http.StatusOK || !maps.Equal(kpis(r.body), kpis(sitePage.body)) {
		t.Errorf("password link after the password: %d", r.StatusCode)
	}
	stranger := e.client(t)
	stranger.base = e.srv.URL
	if r := stranger.get(locked); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("another browser: %d, want the password form", r.StatusCode)
	}

	// revoked and expired links are 404
	r = oc.post("/dashboard/sites/"+site.Id+"/shares/"+linkID+"/revoke", url.Values{})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if back := oc.get(r.Header.Get("Location")); !strings.Contains(back.body, `id="revoked"`) || strings.Count(back.body, "/revoke") != 1 {
		t.Errorf("after revoking, the shares page (%s) does not say so or still lists the link", r.Header.Get("Location"))
	}
	if r := anon.get(open); r.StatusCode != http.StatusNotFound {
		t.Errorf("revoked link: %d", r.StatusCode)
	}
	if _, err := e.app.DB().Update(schema.Shares, dbx.Params{"expires": time.Now().Add(-time.Minute).UTC().Format("2006-01-02 15:04:05.000Z")},
		dbx.NewExp("1=1")).Execute(); err != nil {
		t.Fatal(err)
	}
	if r := anon.get(locked); r.StatusCode != http.StatusNotFound {
		t.Errorf("expired link: %d", r.StatusCode)
	}
	if r := anon.get("/share/" + strings.Repeat("x", 43)); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown token: %d", r.StatusCode)
	}
}

// TestSharedErrorPagesStayInTheLink: a shared link's visitor has no
// account, so its error pages (a bad period, an unknown link, the rate
// limit) link to the link's own report or nowhere, never into /dashboard.
func TestSharedErrorPagesStayInTheLink(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@share-err.example", "owner-password-1")
	site := addSite(t, e.app, "Shop", "share-err.example", owner.Id)
	oc := e.client(t)
	oc.base = e.srv.URL
	oc.mustLogin("owner@share-err.example", "owner-password-1")
	open := createShare(t, oc, site.Id, url.Values{})

	anon := e.client(t)
	anon.base = e.srv.URL
	intoDashboard := func(what string, r resp) {
		t.Helper()
		body := strings.ReplaceAll(r.body, `href="/dashboard/static/`, "")
		if strings.Contains(body, `href="/dashboard`) || strings.Contains(body, `action="/dashboard`) {
			t.Errorf("%s (%d) links into the dashboard:\n%s", what, r.StatusCode, r.body)
		}
	}
	r := anon.get(open + "?period=nonsense")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `href="`+open+`"`) {
		t.Errorf("bad period through the link: %d, want 400 linking back to %s\n%s", r.StatusCode, open, r.body)
	}
	intoDashboard("bad period", r)
	unknown := "/share/" + strings.Repeat("x", 43)
	for i := 1; i <= 10; i++ {
		r := anon.get(unknown)
		if r.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown link, try %d: %d, want 404", i, r.StatusCode)
		}
		intoDashboard("unknown link", r)
	}
	r = anon.get(open)
	if r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 10 unknown links: %d, want 429", r.StatusCode)
	}
	intoDashboard("rate limit", r)
}
