package plugin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
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
