package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// TestMembersPage: the owner sees the people with access and invites one
// (no SMTP here: the link is shown once, to pass on by hand); the link
// opens a sign-up page that creates the account, logs it in and gives it
// the role; an admin sees the page without the owner's forms.
var inviteURL = regexp.MustCompile(`id="invite-url" class="code" readonly value="([^"]+)"`)

func TestMembersPage(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@members.test", "members-pass-1")
	admin := addUser(t, e.app, "admin@members.test", "members-pass-1")
	site := addSite(t, e.app, "Shop <b>", "shop.members.test", owner.Id)
	pbtest.Save(t, e.app, schema.Members, map[string]any{"website": site.Id, "user": admin.Id, "role": "admin"})

	c := e.client(t)
	c.mustLogin("owner@members.test", "members-pass-1")
	r := c.get("/dashboard/sites/" + site.Id + "/members")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "admin@members.test") || !strings.Contains(r.body, `id="invite-form"`) {
		t.Fatalf("members page: %d\n%s", r.StatusCode, r.body)
	}
	r = c.post("/dashboard/sites/"+site.Id+"/members", url.Values{"email": {"new@members.test"}, "role": {"viewer"}})
	if r.StatusCode != http.StatusCreated || !strings.Contains(r.body, `id="invite-url"`) {
		t.Fatalf("invite without SMTP: %d\n%s", r.StatusCode, r.body)
	}
	link := inviteURL.FindStringSubmatch(r.body)
	if link == nil {
		t.Fatalf("no invitation link in\n%s", r.body)
	}
	path := strings.TrimPrefix(link[1], e.dash.URL)

	n := e.client(t)
	r = n.get(path)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `id="signup-form"`) || strings.Contains(r.body, "Shop <b>") {
		t.Fatalf("invitation page: %d\n%s", r.StatusCode, r.body)
	}
	r = n.post(path, url.Values{"password": {"new-pass-123"}, "passwordConfirm": {"new-pass-12"}})
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("different passwords: %d", r.StatusCode)
	}
	r = n.post(path, url.Values{"password": {"new-pass-123"}, "passwordConfirm": {"new-pass-123"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/dashboard/sites/"+site.Id {
		t.Fatalf("sign-up: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if r := n.get("/dashboard/sites/" + site.Id); r.StatusCode != http.StatusOK {
		t.Fatalf("the new viewer's site page: %d", r.StatusCode)
	}
	u, err := e.app.FindAuthRecordByEmail(schema.Users, "new@members.test")
	if err != nil || !u.Verified() || access.RoleOf(e.app, u, site) != access.Viewer {
		t.Fatalf("new account: %v verified=%v", err, u != nil && u.Verified())
	}
	if r := e.client(t).get(path); r.StatusCode != http.StatusGone {
		t.Fatalf("the used link: %d, want 410", r.StatusCode)
	}

	for action, target := range map[string]string{"member.invite": "new@members.test", "member.join": "new@members.test"} {
		if n := count(t, e.app, schema.Audit, dbx.HashExp{"website": site.Id, "action": action, "target": target}); n != 1 {
			t.Errorf("audit rows %s %s: %d, want 1", action, target, n)
		}
	}
	a := e.client(t)
	a.mustLogin("admin@members.test", "members-pass-1")
	r = a.get("/dashboard/sites/" + site.Id + "/members")
	if r.StatusCode != http.StatusOK || strings.Contains(r.body, `id="invite-form"`) || !strings.Contains(r.body, "new@members.test") {
		t.Fatalf("members page as admin: %d\n%s", r.StatusCode, r.body)
	}
}

// TestViewerPagesHaveNoForms: a viewer's pages show the reports without
// the forms and links their routes would refuse (403).
func TestViewerPagesHaveNoForms(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@viewer.test", "viewer-pass-1")
	viewer := addUser(t, e.app, "viewer@viewer.test", "viewer-pass-1")
	site := addSite(t, e.app, "Shop", "shop.viewer.test", owner.Id)
	pbtest.Save(t, e.app, schema.Members, map[string]any{"website": site.Id, "user": viewer.Id, "role": "viewer"})
	pbtest.Save(t, e.app, schema.Goals, map[string]any{"website": site.Id, "name": "Signup", "type": "event", "match": "signup"})
	pbtest.Save(t, e.app, schema.Funnels, map[string]any{"website": site.Id, "name": "Checkout",
		"steps": `[{"name":"a","type":"page","match":"/"},{"name":"b","type":"page","match":"/b"}]`})
	for _, who := range []struct {
		email string
		forms bool
	}{{"owner@viewer.test", true}, {"viewer@viewer.test", false}} {
		c := e.client(t)
		c.mustLogin(who.email, "viewer-pass-1")
		for path, marks := range map[string][]string{
			"/dashboard/sites/" + site.Id:              {`id="shares-link"`, `id="members-link"`, `id="period-zone" href=`},
			"/dashboard/sites/" + site.Id + "/goals":   {`id="goal-form"`, `/delete`},
			"/dashboard/sites/" + site.Id + "/funnels": {`id="funnel-form"`, `/delete`},
			"/dashboard/sites/" + site.Id + "/uptime":  {`id="uptime-settings"`},
			"/dashboard/websites":                      {`href="/dashboard/websites/` + site.Id + `"`},
			"/dashboard/":                              {`href="/dashboard/websites/` + site.Id + `"`},
		} {
			r := c.get(path)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%s as %s: %d", path, who.email, r.StatusCode)
			}
			for _, m := range marks {
				if strings.Contains(r.body, m) != who.forms {
					t.Errorf("%s as %s: %q shown = %v, want %v", path, who.email, m, !who.forms, who.forms)
				}
			}
		}
	}
}
