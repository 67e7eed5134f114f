package plugin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/visitors"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// identified stores a visitor of site identified as userID with one
// session started at.
func identified(t *testing.T, app core.App, site, visitorID, userID, name string, at time.Time) (visitor, session string) {
	t.Helper()
	v := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site, "visitorId": visitorID, "userId": userID,
		"name": name, "metadata": map[string]any{"plan": "pro"}})
	s := pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site, "visitor": v.Id, "seq": 1,
		"startedAt": at.UTC().Format("2006-01-02 15:04:05.000Z"), "lastActivity": at.UTC().Format("2006-01-02 15:04:05.000Z"),
		"device": "desktop", "country": "DE", "eventCount": 1})
	return v.Id, s.Id
}

// TestVisitorsAndUsersAPI: the list, the user across two devices and both
// exports for the site's owner; 404 for another owner's site and its
// visitors; 401 without a caller.
func TestVisitorsAndUsersAPI(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	ownerToken, owner := tokenUser(t, app, "owner@example.com")
	otherToken, other := tokenUser(t, app, "other@example.com")
	site := srv.AddWebsite(t, "people.example")
	site.Set("user", owner)
	theirs := srv.AddWebsite(t, "theirs.example")
	theirs.Set("user", other)
	for _, s := range []*core.Record{site, theirs} {
		if err := app.Save(s); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	phone, s1 := identified(t, app, site.Id, "v-phone", "u/42 ?", "Ada", now.Add(-2*time.Hour))
	_, s2 := identified(t, app, site.Id, "v-laptop", "u/42 ?", "Ada", now.Add(-time.Hour))
	stranger, _ := identified(t, app, theirs.Id, "v-x", "u-x", "Bob", now.Add(-time.Hour))
	tid := site.GetString("trackingId")
	user := url.PathEscape("u/42 ?")
	q := "?site=" + tid

	code, body := call(t, "GET", srv.URL+plugin.VisitorsPath+q+"&identified=yes&sort=sessions&limit=1", ownerToken, "")
	var page visitors.Page
	if code != http.StatusOK || json.Unmarshal([]byte(body), &page) != nil || len(page.Rows) != 1 || page.Next == "" {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = call(t, "GET", srv.URL+plugin.VisitorsPath+q+"&identified=yes&sort=sessions&limit=1&after="+page.Next, ownerToken, "")
	var next visitors.Page
	if code != http.StatusOK || json.Unmarshal([]byte(body), &next) != nil || len(next.Rows) != 1 || next.Next != "" || next.Rows[0].ID == page.Rows[0].ID {
		t.Fatalf("second page: %d %s", code, body)
	}
	if code, _ := call(t, "GET", srv.URL+plugin.VisitorsPath+q+"&sort=firstSeen&after="+page.Next, ownerToken, ""); code != http.StatusBadRequest {
		t.Errorf("a cursor of another sort: %d", code)
	}

	code, body = call(t, "GET", srv.URL+plugin.UsersPath+"/"+user+q, ownerToken, "")
	var u visitors.UserView
	if code != http.StatusOK || json.Unmarshal([]byte(body), &u) != nil || len(u.Sessions) != 2 ||
		u.Sessions[0].ID != s1 || u.Sessions[1].ID != s2 || u.UserID != "u/42 ?" {
		t.Fatalf("user: %d %s", code, body)
	}

	req, _ := http.NewRequest("GET", srv.URL+plugin.UsersPath+"/"+user+"/export"+q, nil)
	req.Header.Set("Authorization", ownerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var exp struct{ Visitors, Sessions []map[string]any }
	err = json.NewDecoder(resp.Body).Decode(&exp)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(exp.Visitors) != 2 || len(exp.Sessions) != 2 {
		t.Fatalf("user export: %d %v %+v", resp.StatusCode, err, exp)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="skopos-people.example-user-u_42__.json"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	code, body = call(t, "GET", srv.URL+plugin.VisitorsPath+"/"+phone+"/export"+q, ownerToken, "")
	if code != http.StatusOK || !strings.Contains(body, `"visitorId":"v-phone"`) || strings.Contains(body, "v-laptop") {
		t.Errorf("visitor export: %d %s", code, body)
	}

	// another owner's site, another site's visitor, unknown ids: 404
	// alike; no caller: 401
	for _, c := range []struct {
		path, token string
		want        int
	}{
		{plugin.VisitorsPath + q, otherToken, http.StatusNotFound},
		{plugin.UsersPath + "/" + user + q, otherToken, http.StatusNotFound},
		{plugin.UsersPath + "/" + user + "/export" + q, otherToken, http.StatusNotFound},
		{plugin.VisitorsPath + "/" + phone + "/export" + q, otherToken, http.StatusNotFound},
		{plugin.VisitorsPath + "/" + stranger + "/export" + q, ownerToken, http.StatusNotFound},
		{plugin.UsersPath + "/u-x" + q, ownerToken, http.StatusNotFound},
		{plugin.UsersPath + "/u-x/export" + q, ownerToken, http.StatusNotFound},
		{plugin.VisitorsPath + q, "", http.StatusUnauthorized},
		{plugin.VisitorsPath + q + "&identified=maybe", ownerToken, http.StatusBadRequest},
	} {
		if code, body := call(t, "GET", srv.URL+c.path, c.token, ""); code != c.want || strings.Contains(body, "Bob") || strings.Contains(body, "Ada") {
			t.Errorf("%s: %d %s, want %d", c.path, code, body, c.want)
		}
	}
}

// TestErasureAPI: the owner erases a session, a visitor and a user
// through the API while the intake runs; the summaries equal the raw
// rows after each; another owner gets 404 and erases nothing; a shared
// link reads no visitor; every erasure is logged with its caller.
func TestErasureAPI(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	ownerToken, owner := tokenUser(t, app, "owner@erase.example")
	otherToken, _ := tokenUser(t, app, "other@erase.example")
	site := srv.AddWebsite(t, "erase.example")
	site.Set("user", owner)
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	q := "?site=" + site.GetString("trackingId")
	sent := 0
	for v := range 6 {
		for _, path := range []string{"/", "/pricing", "/docs"}[:v%3+1] {
			post(t, srv, fmt.Sprintf(`{"type":"pageView","url":"https://erase.example%s"}`, path),
				map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", v+1)})
			sent++
		}
	}
	testwait.Until(t, "events stored", func() bool { return countEvents(t, app, dbx.HashExp{"website": site.Id}) == sent })
	var vids []string
	if err := app.DB().NewQuery("SELECT id FROM visitors ORDER BY id").Column(&vids); err != nil || len(vids) != 6 {
		t.Fatalf("visitors %v (%v); want 6", vids, err)
	}
	for _, v := range vids[:2] { // one user on two devices (what identify() stores)
		if _, err := app.DB().NewQuery("UPDATE visitors SET userId = 'u/1 ?', name = 'Ada' WHERE id = {:v}").Bind(dbx.Params{"v": v}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	summarytest.Check(t, app.DB(), "before")
	var sid string
	_ = app.DB().NewQuery("SELECT id FROM sessions WHERE visitor = {:v}").Bind(dbx.Params{"v": vids[4]}).Row(&sid)

	share := func() string {
		code, out := call(t, http.MethodPost, srv.URL+plugin.SharesPath, ownerToken, fmt.Sprintf(`{"site":%q}`, site.GetString("trackingId")))
		var s struct{ Token string }
		if err := json.Unmarshal([]byte(out), &s); code != http.StatusCreated || err != nil {
			t.Fatalf("share: %d %s", code, out)
		}
		return s.Token
	}()
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"DELETE", plugin.UsersPath + "/" + url.PathEscape("u/1 ?") + q, otherToken, http.StatusNotFound},
		{"DELETE", plugin.VisitorsPath + "/" + vids[3] + q, otherToken, http.StatusNotFound},
		{"DELETE", plugin.SessionsPath + "/" + sid + q, otherToken, http.StatusNotFound},
		{"DELETE", plugin.VisitorsPath + "/" + vids[3] + q, "", http.StatusUnauthorized},
		{"DELETE", plugin.VisitorsPath + "/nosuchvisitor" + q, ownerToken, http.StatusNotFound},
		{"GET", plugin.VisitorsPath + q + "&share=" + share, "", http.StatusUnauthorized},
		{"GET", plugin.UsersPath + "/" + url.PathEscape("u/1 ?") + q + "&share=" + share, "", http.StatusUnauthorized},
	} {
		if code, body := call(t, c.method, srv.URL+c.path, c.token, ""); code != c.want || strings.Contains(body, "Ada") {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, code, body, c.want)
		}
	}
	if n := countEvents(t, app, dbx.HashExp{"website": site.Id}); n != sent {
		t.Fatalf("refused erasures deleted events: %d of %d left", n, sent)
	}

	for _, c := range []struct {
		path     string
		visitors int
	}{
		{plugin.SessionsPath + "/" + sid, 0},
		{plugin.VisitorsPath + "/" + vids[3], 1},
		{plugin.UsersPath + "/" + url.PathEscape("u/1 ?"), 2},
	} {
		code, body := call(t, "DELETE", srv.URL+c.path+q, ownerToken, "")
		var res erase.Result
		if err := json.Unmarshal([]byte(body), &res); code != http.StatusOK || err != nil || res.Visitors != c.visitors || res.Sessions == 0 {
			t.Errorf("DELETE %s: %d %s; want 200 with %d visitors and their sessions", c.path, code, body, c.visitors)
		}
		summarytest.Check(t, app.DB(), "after DELETE "+c.path)
		if code, _ := call(t, "DELETE", srv.URL+c.path+q, ownerToken, ""); code != http.StatusNotFound {
			t.Errorf("DELETE %s again: %d, want 404", c.path, code)
		}
	}
	var left int
	_ = app.DB().NewQuery("SELECT COUNT(*) FROM visitors").Row(&left)
	if left != 3 {
		t.Errorf("%d visitors left; want 3", left)
	}
	var actors []string
	_ = app.DB().NewQuery("SELECT actor FROM skopos_erasures ORDER BY rowid").Column(&actors)
	if want := "users/" + owner; len(actors) != 3 || actors[0] != want || actors[2] != want {
		t.Errorf("erasure log actors %v; want three by %s", actors, want)
	}
}
