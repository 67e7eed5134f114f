package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// dashboardClient logs in to the dashboard of `skopos serve` as the
// superuser and returns a client that keeps the session cookie.
func dashboardClient(t *testing.T, srvURL string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(srvURL + "/dashboard/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token on the login page: %s", page)
	}
	resp, err = c.PostForm(srvURL+"/dashboard/login", url.Values{"csrf": {string(m[1])}, "email": {adminEmail}, "password": {adminPassword}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path == "/dashboard/login" {
		t.Fatalf("dashboard login failed: %d", resp.StatusCode)
	}
	return c
}

func getPage(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return string(b)
}

// TestServeUsersFiltersAndErasure is issue 29's black-box check: two
// devices identified as one user are one user page with both sessions;
// filter=meta.plan:pro answers the raw rows' counts; with storeRawIp on,
// the session page shows the address and its network, with it off it
// says the address was not stored; erasing the user leaves the
// summaries equal to the remaining raw rows and none of the user's rows.
func TestServeUsersFiltersAndErasure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := serve(t, dir, "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword, "SKOPOS_RATE_LIMIT=off")
	pb := client(t, s.URL)
	ctx := context.Background()
	tid := s.Line(t, "demo website trackingId: ")
	var site struct {
		ID string `json:"id"`
	}
	if err := pb.FirstRecord(ctx, schema.Websites, pbrest.Filter("trackingId = {:t}", pbrest.Params{"t": tid}), &site); err != nil {
		t.Fatal(err)
	}

	// a visitor while storeRawIp is off (the default)
	sendBeacon(t, s.URL, "192.0.2.50", browserUA, map[string]any{"type": "pageView", "url": "/"})
	if err := pb.UpdateRecord(ctx, schema.Websites, site.ID, map[string]any{"storeRawIp": true}, nil); err != nil {
		t.Fatal(err)
	}

	// then one user on a desktop and a phone, another user, a stranger
	type device struct{ ip, ua, user, plan string }
	devices := []device{{"8.8.8.8", browserUA, "u-42", "pro"}, {"1.1.1.1", iphoneUA, "u-42", "pro"},
		{"203.0.113.8", androidUA, "u-7", "free"}, {"203.0.113.9", browserUA, "", ""}}
	sent := 1
	for _, d := range devices {
		for _, path := range []string{"/", "/pricing", "/docs"} {
			sendBeacon(t, s.URL, d.ip, d.ua, map[string]any{"type": "pageView", "url": path})
			sent++
		}
	}
	sdk, err := skopos.Init(ctx, skopos.Options{SiteID: tid, PocketBaseURL: s.URL, AdminEmail: adminEmail, AdminPassword: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if d.user == "" {
			continue
		}
		r := httptest.NewRequest(http.MethodPost, "/signup", nil)
		r.RemoteAddr = d.ip + ":50000"
		browsertest.Headers(r.Header, d.ua)
		if err := sdk.Identify(ctx, r, d.user, skopos.IdentifyData{Name: "Ada " + d.user, Email: d.user + "@example.com",
			Metadata: map[string]any{"plan": d.plan}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sdk.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	byWebsite := pbrest.Filter("website = {:w}", pbrest.Params{"w": site.ID})
	var events []rawEvent
	testwait.Until(t, "every event stored", func() bool { return listAll(t, pb, schema.Events, byWebsite, &events) == sent })

	// the user page: both devices, both sessions
	var user struct {
		Visitors []string `json:"visitors"`
		Sessions []struct {
			ID, Device string
		} `json:"sessions"`
	}
	getJSON(t, pb, "/api/skopos/users/u-42", url.Values{"site": {tid}}, &user)
	if len(user.Visitors) != 2 || len(user.Sessions) != 2 || user.Sessions[0].Device == user.Sessions[1].Device {
		t.Fatalf("user page = %+v; want two visitors and their two sessions on two devices", user)
	}

	// filter=meta.plan:pro equals the raw rows: the sessions of the
	// visitors identified with plan pro, and their page views
	var visitors []struct {
		ID       string         `json:"id"`
		Metadata map[string]any `json:"metadata"`
	}
	listAll(t, pb, schema.Visitors, byWebsite, &visitors)
	var sessions []struct {
		ID      string `json:"id"`
		Visitor string `json:"visitor"`
	}
	listAll(t, pb, schema.Sessions, byWebsite, &sessions)
	pro := map[string]bool{}
	for _, v := range visitors {
		if v.Metadata["plan"] == "pro" {
			pro[v.ID] = true
		}
	}
	proSessions := map[string]bool{}
	for _, x := range sessions {
		if pro[x.Visitor] {
			proSessions[x.ID] = true
		}
	}
	proViews := 0
	for _, e := range events {
		if proSessions[e.Session] && e.Type == "pageView" {
			proViews++
		}
	}
	for _, f := range []string{"meta.plan:pro", "user:u-42"} {
		var got statsAnswer
		getJSON(t, pb, "/api/skopos/stats", url.Values{"site": {tid}, "period": {"today"}, "filter": {f}}, &got)
		if int(got.Visitors.Value) != len(proSessions) || int(got.PageViews.Value) != proViews || proViews != 6 {
			t.Errorf("filter %s: visitors %v, page views %v; the raw rows say %d and %d", f, got.Visitors.Value, got.PageViews.Value, len(proSessions), proViews)
		}
	}

	// session pages: the desktop's address and network; the first
	// visitor's address was not stored
	dash := dashboardClient(t, s.URL)
	sessionPage := func(ip string) string {
		var id string
		for _, x := range sessions {
			var row struct {
				IP string `json:"ipAddress"`
			}
			if err := pb.GetRecord(ctx, schema.Sessions, x.ID, &row); err != nil {
				t.Fatal(err)
			}
			if row.IP == ip || ip == "" && row.IP == "" {
				id = x.ID
			}
		}
		if id == "" {
			t.Fatalf("no session with address %q", ip)
		}
		return getPage(t, dash, fmt.Sprintf("%s/dashboard/sites/%s/sessions/%s", s.URL, site.ID, id))
	}
	if page := sessionPage("8.8.8.8"); !strings.Contains(page, "8.8.8.8") || !strings.Contains(page, "AS15169") || !strings.Contains(page, "Google") {
		t.Errorf("the desktop session's page does not show 8.8.8.8 and its network AS15169 Google")
	}
	if page := sessionPage(""); !strings.Contains(page, "Not stored (privacy mode)") || strings.Contains(page, "192.0.2.50") {
		t.Errorf("the privacy-mode session's page does not say its address was not stored")
	}

	// erase the user
	if err := pb.Do(ctx, http.MethodDelete, "/api/skopos/users/u-42?site="+tid, nil, nil); err != nil {
		t.Fatal(err)
	}
	db, err := dbx.Open("sqlite", "file:"+filepath.Join(dir, "data.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	summarytest.Check(t, db, "after erasing u-42")
	var left int
	if err := db.NewQuery(`SELECT (SELECT COUNT(*) FROM visitors WHERE userId = 'u-42')
		+ (SELECT COUNT(*) FROM sessions WHERE ipAddress IN ('8.8.8.8', '1.1.1.1'))
		+ (SELECT COUNT(*) FROM events WHERE session NOT IN (SELECT id FROM sessions))`).Row(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d rows of the erased user remain", left)
	}
	if n := listAll(t, pb, schema.Events, byWebsite, &events); n != sent-6 {
		t.Errorf("%d events left of %d; want the other visitors' %d", n, sent, sent-6)
	}
	var got statsAnswer
	getJSON(t, pb, "/api/skopos/stats", url.Values{"site": {tid}, "period": {"today"}, "filter": {"meta.plan:pro"}}, &got)
	if got.Visitors.Value != 0 || got.PageViews.Value != 0 {
		t.Errorf("after the erasure, filter meta.plan:pro still counts %v visitors and %v page views", got.Visitors.Value, got.PageViews.Value)
	}
}
