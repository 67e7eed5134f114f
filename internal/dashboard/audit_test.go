package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// auditRows are site's audit rows, oldest first.
func auditRows(t *testing.T, app core.App, siteID string) []audit.Row {
	t.Helper()
	rows, err := audit.List(context.Background(), app, siteID, time.Time{}, audit.MaxList)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows
}

func TestAuditLogsEveryDashboardChange(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@audit.test", "audit-password-1")
	site := addSite(t, e.app, "Audited", "audited.example", owner.Id)
	c := e.client(t)
	c.mustLogin("owner@audit.test", "audit-password-1")
	sp := "/dashboard/sites/" + site.Id
	wp := "/dashboard/websites/" + site.Id

	steps := []struct {
		path string
		form url.Values
		want int
	}{
		{wp, url.Values{"name": {"Audited 2"}, "domain": {"audited.example"}, "dataRetentionDays": {"30"},
			"reportFrequency": {"none"}, "uptimeCheckInterval": {"5"}}, http.StatusSeeOther},
		{wp + "/archive", url.Values{"archived": {"1"}}, http.StatusSeeOther},
		{sp + "/goals", url.Values{"name": {"Signup"}, "type": {"page"}, "match": {"/signup"}}, http.StatusSeeOther},
		{sp + "/funnels", url.Values{"name": {"Buy"}, "stepName": {"a", "b"}, "stepType": {"page", "page"}, "stepMatch": {"/a", "/b"}}, http.StatusSeeOther},
		{sp + "/shares", url.Values{"name": {"Client"}, "password": {"share-secret-pw"}}, http.StatusCreated},
		{"/dashboard/keys", url.Values{"name": {"CI"}, "site": {site.GetString("trackingId")}}, http.StatusCreated},
		{"/dashboard/notifications", url.Values{"name": {"Errors"}, "eventType": {"new_session"}, "website": {site.Id},
			"recipientEmail": {"ops@audit.test"}}, http.StatusSeeOther},
	}
	for _, s := range steps {
		if r := c.post(s.path, s.form); r.StatusCode != s.want {
			t.Fatalf("POST %s: status %d, want %d\n%s", s.path, r.StatusCode, s.want, r.body)
		}
	}
	find := func(collection, name string) *core.Record {
		rec, err := e.app.FindFirstRecordByData(collection, "name", name)
		if err != nil {
			t.Fatalf("%s %s: %v", collection, name, err)
		}
		return rec
	}
	rule := find(schema.NotifyRules, "Errors")
	for _, p := range []string{
		"/dashboard/notifications/" + rule.Id + "/active",
		"/dashboard/notifications/" + rule.Id + "/delete",
		sp + "/goals/" + find(schema.Goals, "Signup").Id + "/delete",
		sp + "/funnels/" + find(schema.Funnels, "Buy").Id + "/delete",
		sp + "/shares/" + find(schema.Shares, "Client").Id + "/revoke",
		"/dashboard/keys/" + find(schema.APIKeys, "CI").Id + "/revoke",
	} {
		if r := c.post(p, url.Values{"active": {"0"}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: status %d\n%s", p, r.StatusCode, r.body)
		}
	}

	rows := auditRows(t, e.app, site.Id)
	var got []string
	for _, r := range rows {
		got = append(got, r.Action+" "+r.Target)
		if r.ActorEmail != "owner@audit.test" || r.Actor != "users/"+owner.Id {
			t.Errorf("%s: actor %q %q", r.Action, r.Actor, r.ActorEmail)
		}
		if strings.Contains(string(r.Details), "share-secret-pw") || strings.Contains(string(r.Details), "$2a$") {
			t.Errorf("%s: details %s hold a secret", r.Action, r.Details)
		}
	}
	want := []string{"website.update Audited 2", "website.archive Audited 2", "goal.create Signup", "funnel.create Buy",
		"share.create Client", "key.create CI", "notify.create Errors", "notify.update Errors", "notify.delete Errors",
		"goal.delete Signup", "funnel.delete Buy", "share.revoke Client", "key.revoke CI"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	update := rows[0].DetailsMap()
	name, _ := update["name"].(map[string]any)
	if name["old"] != "Audited" || name["new"] != "Audited 2" || update["dataRetentionDays"] == nil || update["domain"] != nil {
		t.Errorf("website.update details %s: want name and dataRetentionDays, not the unchanged domain", rows[0].Details)
	}

	page := c.get(sp + "/audit")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "owner@audit.test") || !strings.Contains(page.body, "key.revoke") {
		t.Errorf("audit page: status %d\n%s", page.StatusCode, page.body)
	}
	if r := c.get(sp); !strings.Contains(r.body, `id="audit-link"`) {
		t.Error("the site page has no link to its audit log")
	}

	// deleting the website keeps its rows for superusers
	if r := c.post(wp+"/delete", url.Values{"confirm": {"audited.example"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: status %d", r.StatusCode)
	}
	if rows := auditRows(t, e.app, site.Id); len(rows) != len(want)+1 || rows[len(rows)-1].Action != audit.WebsiteDelete ||
		rows[len(rows)-1].WebsiteName != "Audited 2" {
		t.Errorf("after the website's deletion: %d rows, last %+v", len(rows), rows[len(rows)-1])
	}
}

func TestAuditPageByRoleAndMembersRowsOutliveThem(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := pbtest.Save(t, e.app, schema.Users, map[string]any{"email": "o@roles.test"})
	site := addSite(t, e.app, "Roles", "roles.example", owner.Id)
	admin := addUser(t, e.app, "admin@roles.test", "roles-password-1")
	addUser(t, e.app, "viewer@roles.test", "roles-password-1")
	addUser(t, e.app, "stranger@roles.test", "roles-password-1")
	for email, role := range map[string]string{"admin@roles.test": "admin", "viewer@roles.test": "viewer"} {
		u, _ := e.app.FindAuthRecordByEmail(schema.Users, email)
		pbtest.Save(t, e.app, schema.Members, map[string]any{"website": site.Id, "user": u.Id, "role": role})
	}
	path := "/dashboard/sites/" + site.Id + "/audit"
	for email, want := range map[string]int{"admin@roles.test": http.StatusOK, "viewer@roles.test": http.StatusForbidden,
		"stranger@roles.test": http.StatusNotFound} {
		c := e.client(t)
		c.mustLogin(email, "roles-password-1")
		if r := c.get(path); r.StatusCode != want {
			t.Errorf("%s: status %d, want %d", email, r.StatusCode, want)
		}
		if r := c.get("/dashboard/sites/" + site.Id); strings.Contains(r.body, `id="audit-link"`) != (want == http.StatusOK) {
			t.Errorf("%s: audit link shown %v", email, !(want == http.StatusOK))
		}
		if email == "admin@roles.test" {
			c.post("/dashboard/sites/"+site.Id+"/goals", url.Values{"name": {"G"}, "type": {"event"}, "match": {"signup"}})
		}
	}
	if err := e.app.Delete(admin); err != nil {
		t.Fatal(err)
	}
	rows := auditRows(t, e.app, site.Id)
	if len(rows) != 1 || rows[0].ActorEmail != "admin@roles.test" || rows[0].Action != audit.GoalCreate {
		t.Errorf("after the admin's account went: %+v", rows)
	}
}

func TestAuditFailureDoesNotFailTheChange(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "fail@audit.test", "audit-password-1")
	site := addSite(t, e.app, "Fails", "fails.example", owner.Id)
	col, err := e.app.FindCollectionByNameOrId(schema.Audit)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.app.Delete(col); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	c.mustLogin("fail@audit.test", "audit-password-1")
	r := c.post("/dashboard/sites/"+site.Id+"/goals", url.Values{"name": {"Kept"}, "type": {"page"}, "match": {"/kept"}})
	if r.StatusCode != http.StatusSeeOther || count(t, e.app, schema.Goals, dbx.HashExp{"name": "Kept"}) != 1 {
		t.Fatalf("goal with the audit log gone: status %d\n%s", r.StatusCode, r.body)
	}
	testwait.Until(t, "the failed audit write in the app's log", func() bool {
		var n int
		err := e.app.LogQuery().Select("COUNT(*)").AndWhere(dbx.HashExp{"message": "skopos: audit log write failed"}).Row(&n)
		return err == nil && n > 0
	})
}
