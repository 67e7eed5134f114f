package dashboard_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// withErase serves the dashboard with the delete pages: erasures run
// directly (the plugin runs them on its pipeline's worker). A new
// handler forgets logins.
func (e *env) withErase() {
	app := e.app
	h := dashboard.Handler(app, dashboard.Options{Erase: func(ctx context.Context, t erase.Target, actor string) (erase.Result, error) {
		return erase.Erase(ctx, app, t, actor)
	}})
	e.handler.Store(&h)
}

// withEvents stores n page views in each session.
func withEvents(t *testing.T, app core.App, site *core.Record, n int, sessions ...string) {
	t.Helper()
	for _, s := range sessions {
		for i := range n {
			pbtest.Save(t, app, schema.Events, map[string]any{"website": site.Id, "session": s, "type": "pageView",
				"path": "/start", "timestamp": time.Now().UTC().Add(-time.Duration(i) * time.Minute)})
		}
	}
}

// rows counts the site's visitors, sessions and events.
func rows(t *testing.T, app core.App, site *core.Record) [3]int {
	t.Helper()
	w := dbx.HashExp{"website": site.Id}
	return [3]int{count(t, app, schema.Visitors, w), count(t, app, schema.Sessions, w), count(t, app, schema.Events, w)}
}

// TestEraseUserFromTheDashboard: the user's delete page counts what will
// go, escapes the user's values and deletes nothing; another owner gets
// 404 on the page and the form; a POST without the form token is
// refused; the owner's POST erases every device of the user and lands on
// the visitors page with the notice and the erasure in the log.
func TestEraseUserFromTheDashboard(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.withErase()
	owner := addUser(t, e.app, "owner@example.com", "owner-password-1")
	addUser(t, e.app, "other@example.com", "other-password-1")
	site := addSite(t, e.app, "People", "people.example", owner.Id)
	userID, sessions := people(t, e.app, site)
	withEvents(t, e.app, site, 3, sessions...)
	before := rows(t, e.app, site) // the user's 2 visitors, 2 sessions, 6 events, and the anonymous visitor
	c := e.client(t)
	c.mustLogin("owner@example.com", "owner-password-1")

	userPath := "/dashboard/sites/" + site.Id + "/users/" + url.PathEscape(userID)
	if page := c.get(userPath); !strings.Contains(page.body, `href="`+html.EscapeString(userPath+"/delete")+`" id="delete-user"`) {
		t.Errorf("the user page does not link its delete page\n%s", page.body)
	}
	confirm := c.get(userPath + "/delete")
	if confirm.StatusCode != http.StatusOK {
		t.Fatalf("confirm page: %d\n%s", confirm.StatusCode, confirm.body)
	}
	for _, want := range []string{`id="erase-visitors">2<`, `id="erase-sessions">2<`, `id="erase-events">6<`,
		`action="` + html.EscapeString(userPath+"/delete") + `"`, `name="csrf"`} {
		if !strings.Contains(confirm.body, want) {
			t.Errorf("confirm page lacks %q", want)
		}
	}
	assertEscaped(t, confirm.body, []string{userID, hostile[0], `"><img src=x onerror=alert(4)>@x`})
	if !strings.Contains(html.UnescapeString(confirm.body), hostile[0]) {
		t.Error("confirm page does not name the user")
	}
	if got := rows(t, e.app, site); got != before {
		t.Fatalf("the confirm page deleted rows: %v, before %v", got, before)
	}

	o := e.client(t)
	o.mustLogin("other@example.com", "other-password-1")
	if r := o.get(userPath + "/delete"); r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "xss") {
		t.Errorf("another owner's confirm page: %d", r.StatusCode)
	}
	if r := o.post(userPath+"/delete", url.Values{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("another owner's erasure: %d", r.StatusCode)
	}
	if r := c.post(userPath+"/delete", url.Values{"csrf": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("erasure without the form token: %d", r.StatusCode)
	}
	if got := rows(t, e.app, site); got != before {
		t.Fatalf("refused erasures deleted rows: %v, before %v", got, before)
	}

	done := c.post(userPath+"/delete", url.Values{})
	loc := done.Header.Get("Location")
	if done.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/sites/"+site.Id+"/visitors?") {
		t.Fatalf("erasure: %d to %q\n%s", done.StatusCode, loc, done.body)
	}
	if got, want := rows(t, e.app, site), [3]int{before[0] - 2, before[1] - 2, before[2] - 6}; got != want {
		t.Errorf("after the erasure: %v rows, want %v", got, want)
	}
	if n := count(t, e.app, schema.Visitors, dbx.HashExp{"userId": userID}); n != 0 {
		t.Errorf("%d visitors of the user remain", n)
	}
	list := c.get(loc)
	for _, want := range []string{`id="erased">Deleted 2 sessions and 6 events.<`, `id="erasures"`,
		`<td>user</td><td class="val">owner@example.com</td><td class="n">2</td><td class="n">6</td>`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("visitors page lacks %q\n%s", want, list.body)
		}
	}
	if strings.Contains(list.body, "user-link") || !strings.Contains(list.body, `"muted">Anonymous<`) {
		t.Error("the visitors page still lists the user, or lost the anonymous visitor")
	}
	if r := c.get(userPath + "/delete"); r.StatusCode != http.StatusNotFound {
		t.Errorf("an erased user's confirm page: %d", r.StatusCode)
	}
}

// TestEraseSessionAndVisitor: the session page links the erasure of the
// session and of its visitor; erasing the session keeps the visitor,
// erasing the visitor (from the visitors list) takes its other sessions;
// the identified visitor's hostile values are escaped on the confirm
// pages; unknown ids are 404.
func TestEraseSessionAndVisitor(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.withErase()
	site := addSite(t, e.app, "Shop", "shop.example", "")
	v := pbtest.Save(t, e.app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v-1"})
	var sessions []string
	for i := range 2 {
		s := pbtest.Save(t, e.app, schema.Sessions, map[string]any{"website": site.Id, "visitor": v.Id, "seq": i + 1,
			"startedAt": time.Now().UTC().Add(-time.Hour), "lastActivity": time.Now().UTC(), "entryPath": "/start"})
		sessions = append(sessions, s.Id)
	}
	withEvents(t, e.app, site, 2, sessions...)
	hostileUser(t, e.app, sessions[0])
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)

	base := "/dashboard/sites/" + site.Id
	page := c.get(base + "/sessions/" + sessions[0])
	for _, want := range []string{`href="` + base + `/sessions/` + sessions[0] + `/delete" id="delete-session"`,
		`href="` + base + `/visitors/` + v.Id + `/delete" id="delete-visitor"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("session page lacks %q", want)
		}
	}
	for _, p := range []string{"/sessions/" + sessions[0] + "/delete", "/visitors/" + v.Id + "/delete"} {
		r := c.get(base + p)
		if r.StatusCode != http.StatusOK || !strings.Contains(html.UnescapeString(r.body), hostileName) ||
			!strings.Contains(html.UnescapeString(r.body), hostileEmail) {
			t.Errorf("%s: %d, does not name the visitor\n%s", p, r.StatusCode, r.body)
		}
		for _, raw := range []string{"<script>alert", "<img src=x", "<b onclick"} {
			if strings.Contains(r.body, raw) {
				t.Errorf("%s carries %q unescaped", p, raw)
			}
		}
	}
	if r := c.get(base + "/sessions/" + sessions[0] + "/delete"); !strings.Contains(r.body, `id="erase-sessions">1<`) ||
		!strings.Contains(r.body, `id="erase-events">2<`) {
		t.Errorf("session confirm page counts\n%s", r.body)
	}

	if r := c.post(base+"/sessions/"+sessions[0]+"/delete", url.Values{}); r.StatusCode != http.StatusSeeOther ||
		!strings.Contains(r.Header.Get("Location"), "erased=session&events=2&sessions=1") {
		t.Fatalf("session erasure: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if got := rows(t, e.app, site); got != [3]int{1, 1, 2} {
		t.Errorf("after the session's erasure: %v rows, want the visitor, 1 session, 2 events", got)
	}

	list := c.get(base + "/visitors")
	if !strings.Contains(list.body, `class="status-link delete-visitor" href="`+base+`/visitors/`+v.Id+`/delete"`) {
		t.Errorf("the visitors list does not link the visitor's delete page\n%s", list.body)
	}
	if r := c.post(base+"/visitors/"+v.Id+"/delete", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("visitor erasure: %d\n%s", r.StatusCode, r.body)
	}
	if got := rows(t, e.app, site); got != [3]int{} {
		t.Errorf("after the visitor's erasure: %v rows, want none", got)
	}
	for _, p := range []string{"/sessions/" + sessions[1] + "/delete", "/visitors/nobody/delete", "/users/nobody/delete"} {
		if r := c.get(base + p); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, r.StatusCode)
		}
		if r := c.post(base+p, url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d", p, r.StatusCode)
		}
	}
}

// TestEraseOffWithoutOption: without Options.Erase no page links a delete
// page, and there is none.
func TestEraseOffWithoutOption(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "People", "people.example", "")
	userID, sessions := people(t, e.app, site)
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	base := "/dashboard/sites/" + site.Id
	userPath := base + "/users/" + url.PathEscape(userID)
	for _, p := range []string{base + "/visitors", userPath, base + "/sessions/" + sessions[0]} {
		if r := c.get(p); r.StatusCode != http.StatusOK || strings.Contains(r.body, "/delete") {
			t.Errorf("%s: %d, or it links a delete page", p, r.StatusCode)
		}
	}
	if r := c.get(userPath + "/delete"); r.StatusCode != http.StatusNotFound {
		t.Errorf("delete page without Erase: %d", r.StatusCode)
	}
	if r := c.post(userPath+"/delete", url.Values{}); r.StatusCode != http.StatusMethodNotAllowed && r.StatusCode != http.StatusNotFound {
		t.Errorf("erasure without Erase: %d", r.StatusCode)
	}
	if got := count(t, e.app, schema.Visitors, dbx.HashExp{"userId": userID}); got != 2 {
		t.Errorf("%d visitors of the user, want 2", got)
	}
}

// TestBrowserEraseUser: in Chromium, the user page's delete button asks
// first, then erases and lands on the visitors page with the notice.
func TestBrowserEraseUser(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.withErase()
	site := addSite(t, e.app, "People", "people.example", "")
	userID, sessions := people(t, e.app, site)
	withEvents(t, e.app, site, 1, sessions...)
	ctx := tab(t)
	noDialogs(t, ctx)
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)

	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"/users/"+url.PathEscape(userID), "#delete-user")
	run(t, ctx, "open the delete page", chromedp.Click(css("#delete-user")), chromedp.WaitVisible(css("#erase-confirm")))
	if n := count(t, e.app, schema.Visitors, dbx.HashExp{"userId": userID}); n != 2 {
		t.Fatalf("the delete page erased: %d visitors of the user left", n)
	}
	screenshot(t, ctx, "erase-user-confirm")
	run(t, ctx, "confirm", chromedp.Click(css("#erase-confirm")), chromedp.WaitVisible(css("#erased")))
	if got := text(t, ctx, "#erased"); got != "Deleted 2 sessions and 2 events." {
		t.Errorf("notice %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#visitors a.user-link").length`); n != 0 {
		t.Errorf("%d links to the erased user", n)
	}
	if n := count(t, e.app, schema.Visitors, dbx.HashExp{"userId": userID}); n != 0 {
		t.Errorf("%d visitors of the user left", n)
	}
	screenshot(t, ctx, "erased-user")
}
