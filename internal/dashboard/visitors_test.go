package dashboard_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// people stores a user identified on two devices (hostile name, email
// and metadata) with a session each, and an anonymous visitor; it
// returns the user id and the two sessions in time order.
func people(t *testing.T, app core.App, site *core.Record) (userID string, sessions []string) {
	t.Helper()
	userID = `u/1?"><svg onload=alert(3)>`
	now := time.Now().UTC().Truncate(time.Second)
	for i, dev := range []string{"mobile", "desktop"} {
		v := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v-" + dev, "userId": userID,
			"name": hostile[0], "email": "ada@example.com",
			"metadata": map[string]any{hostile[1]: hostile[2], "plan": `<b>pro</b>`}})
		// the email field validates on save; another writer might not
		if _, err := app.DB().NewQuery(`UPDATE visitors SET email = {:e} WHERE id = {:id}`).
			Bind(map[string]any{"e": `"><img src=x onerror=alert(4)>@x`, "id": v.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
		s := pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site.Id, "visitor": v.Id, "seq": 1,
			"startedAt": now.Add(time.Duration(i-2) * time.Hour), "lastActivity": now.Add(time.Duration(i-2)*time.Hour + time.Minute),
			"device": dev, "browser": "Firefox", "country": "DE", "entryPath": "/start", "eventCount": 2})
		sessions = append(sessions, s.Id)
	}
	anon := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v-anon"})
	pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site.Id, "visitor": anon.Id, "seq": 1,
		"startedAt": now.Add(-30 * time.Minute), "lastActivity": now.Add(-30 * time.Minute), "device": "tablet", "eventCount": 1})
	return userID, sessions
}

// TestVisitorsAndUserPages: the list links the user (once, with both
// devices' sessions counted on one page), the user page lists both
// sessions in time order with the metadata, the export downloads, the
// sessions list links the user; every hostile value is escaped; another
// owner gets 404 on each.
func TestVisitorsAndUserPages(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@example.com", "owner-password-1")
	addUser(t, e.app, "other@example.com", "other-password-1")
	site := addSite(t, e.app, "People", "people.example", owner.Id)
	userID, sessions := people(t, e.app, site)
	c := e.client(t)
	c.mustLogin("owner@example.com", "owner-password-1")

	base := "/dashboard/sites/" + site.Id
	userPath := base + "/users/" + url.PathEscape(userID)
	list := c.get(base + "/visitors?period=7d")
	if list.StatusCode != http.StatusOK {
		t.Fatalf("visitors: %d\n%s", list.StatusCode, list.body)
	}
	if n := strings.Count(list.body, `href="`+html.EscapeString(userPath)+`"`); n != 2 {
		t.Errorf("%d links to %s, want 2 (one per device)", n, userPath)
	}
	if !strings.Contains(list.body, `"muted">Anonymous<`) {
		t.Error("the anonymous visitor is not listed")
	}
	only := c.get(base + "/visitors?period=7d&identified=no")
	if strings.Contains(only.body, "/users/") || !strings.Contains(only.body, `"muted">Anonymous<`) {
		t.Error("identified=no lists identified users")
	}
	found := c.get(base + "/visitors?period=7d&search=" + url.QueryEscape("ONERROR=ALERT(4)"))
	if strings.Count(found.body, `class="status-link user-link"`) != 2 || strings.Contains(found.body, `"muted">Anonymous<`) {
		t.Errorf("search by email:\n%s", found.body)
	}

	page := c.get(userPath)
	if page.StatusCode != http.StatusOK {
		t.Fatalf("user page: %d\n%s", page.StatusCode, page.body)
	}
	first, second := strings.Index(page.body, "/sessions/"+sessions[0]), strings.Index(page.body, "/sessions/"+sessions[1])
	if first < 0 || second < first {
		t.Errorf("sessions %v not both listed in time order", sessions)
	}
	for _, body := range []string{list.body, page.body, found.body} {
		assertEscaped(t, body, append([]string{userID, `"><img src=x onerror=alert(4)>@x`, `<b>pro</b>`}, hostile[:2]...))
	}

	exp := c.get(userPath + "/export")
	var out struct{ Visitors, Sessions []map[string]any }
	if exp.StatusCode != http.StatusOK || json.Unmarshal([]byte(exp.body), &out) != nil || len(out.Visitors) != 2 || len(out.Sessions) != 2 {
		t.Errorf("export: %d %s", exp.StatusCode, exp.body)
	}
	if !strings.HasPrefix(exp.Header.Get("Content-Disposition"), "attachment;") {
		t.Errorf("export headers %v", exp.Header)
	}

	sess := c.get(base + "/sessions?period=7d")
	if n := strings.Count(sess.body, `href="`+html.EscapeString(userPath)+`"`); n != 2 {
		t.Errorf("the sessions list links the user page %d times, want 2", n)
	}
	if site := c.get(base + "?period=7d"); !strings.Contains(site.body, `id="visitors-link"`) {
		t.Error("the site page does not link the visitors page")
	}

	o := e.client(t)
	o.mustLogin("other@example.com", "other-password-1")
	for _, p := range []string{base + "/visitors", userPath, userPath + "/export",
		base + "/visitors/" + sessions[0] + "/export"} {
		if r := o.get(p); r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "ada@") {
			t.Errorf("another owner: %s is %d", p, r.StatusCode)
		}
	}
	if r := c.get(base + "/users/nobody"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown user: %d", r.StatusCode)
	}
	if r := c.get(base + "/visitors?after=garbage"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", r.StatusCode)
	}
}

// assertEscaped fails if a raw value shows unescaped in body.
func assertEscaped(t *testing.T, body string, values []string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(body, v) {
			t.Errorf("%q is not escaped", v)
		}
	}
	for _, tag := range []string{"<img src=x", "<svg onload", "<script>window", "<b>pro"} {
		if strings.Contains(body, tag) {
			t.Errorf("markup %s in the page", tag)
		}
	}
}

// TestBrowserVisitorsAndUser: in Chromium, the hostile values show as
// text, no script runs, the links of the tables are tap targets, and the
// user page is one click away.
func TestBrowserVisitorsAndUser(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "People", "people.example", "")
	userID, _ := people(t, e.app, site)
	ctx := tab(t)
	noDialogs(t, ctx)
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)

	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"?period=7d", "#visitors-link")
	run(t, ctx, "open visitors", chromedp.Click(css("#visitors-link")), chromedp.WaitVisible(css("#visitors")))
	if got := text(t, ctx, "#visitors a.user-link"); got != hostile[0] {
		t.Errorf("first row %q, want the name as text", got)
	}
	small := eval[[]string](t, ctx, `[...document.querySelectorAll("main table a, main form button, main form select, main form input, main nav a")]
		.filter(a => a.getBoundingClientRect().height < 24 && a.type !== "hidden").map(a => a.outerHTML)`)
	if len(small) > 0 {
		t.Errorf("tap targets under 24 px: %q", small)
	}
	run(t, ctx, "open user", chromedp.Click(css("#visitors a.user-link")), chromedp.WaitVisible(css("#user-sessions")))
	if got := text(t, ctx, "#user-id"); got != userID {
		t.Errorf("user id %q, want %q", got, userID)
	}
	meta := text(t, ctx, "#metadata")
	if !strings.Contains(meta, hostile[1]) || !strings.Contains(meta, hostile[2]) || !strings.Contains(meta, "<b>pro</b>") {
		t.Errorf("metadata %q", meta)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#user-sessions tbody tr").length`); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
	small = eval[[]string](t, ctx, `[...document.querySelectorAll("main table a, #export-user")].filter(a => a.getBoundingClientRect().height < 24).map(a => a.outerHTML)`)
	if len(small) > 0 {
		t.Errorf("tap targets under 24 px: %q", small)
	}
}
