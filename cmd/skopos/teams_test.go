package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/smtptest"
	"github.com/skopos-go/skopos/internal/testwait"
)

const teamPassword = "team-password-1"

// teamUser is a users record of the black-box tests and its clients.
type teamUser struct {
	email, token string
	dash         *http.Client // logged in to the dashboard; redirects not followed
	csrf         string
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// loginTeamUser logs email in to the dashboard and to the API.
func loginTeamUser(t *testing.T, srvURL, email, password string) *teamUser {
	t.Helper()
	u := &teamUser{email: email}
	jar, _ := cookiejar.New(nil)
	u.dash = &http.Client{Jar: jar, Timeout: testwait.Timeout(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, page := u.do(t, "GET", srvURL+"/dashboard/login", nil)
	m := csrfField.FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("login page: %d", code)
	}
	if code, _ := u.do(t, "POST", srvURL+"/dashboard/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}}); code != http.StatusSeeOther {
		t.Fatalf("dashboard login of %s: %d", email, code)
	}
	u.do(t, "GET", srvURL+"/dashboard/", nil) // the session's CSRF token
	resp, err := http.Post(srvURL+"/api/collections/users/auth-with-password", "application/json",
		strings.NewReader(`{"identity":"`+email+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := regexp.MustCompile(`"token":"([^"]+)"`).FindSubmatch(b)
	if tok == nil {
		t.Fatalf("API login of %s: %s", email, b)
	}
	u.token = string(tok[1])
	return u
}

// do sends a dashboard request (a form when form is not nil, with the
// last CSRF token seen) and returns the status and body.
func (u *teamUser) do(t *testing.T, method, target string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		if form.Get("csrf") == "" {
			form.Set("csrf", u.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := u.dash.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		u.csrf = string(m[1])
	}
	return resp.StatusCode, string(b)
}

// api sends an API request with u's auth token and returns the status.
func (u *teamUser) api(t *testing.T, method, target, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", u.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// inviteLink waits for the invitation mailed to email and returns its link.
func inviteLink(t *testing.T, inbox <-chan smtptest.Message, email string) string {
	t.Helper()
	select {
	case msg := <-inbox:
		hdr, text, html := smtptest.Bodies(t, msg.Data)
		if len(msg.To) != 1 || msg.To[0] != email || !strings.Contains(hdr.Get("Subject"), "Invitation to Teams") {
			t.Fatalf("invitation mail to %v, subject %q", msg.To, hdr.Get("Subject"))
		}
		m := regexp.MustCompile(`http://\S+/dashboard/invite/[A-Za-z0-9]+`).FindString(text)
		if m == "" || !strings.Contains(html, m) {
			t.Fatalf("no invitation link in the mail:\n%s", text)
		}
		return m
	case <-time.After(testwait.Timeout()):
		t.Fatalf("no invitation mailed to %s", email)
	}
	return ""
}

// TestServeTeamsInviteAndRoles is issue 35's black-box check against
// `skopos serve` with a real SMTP server: the owner invites a viewer in
// Chromium; the mailed link, opened in another browser profile, creates
// the account and opens the site; the viewer reads the stats and gets
// 403 on the settings and 404 on another website; an admin, invited to an
// existing account, creates a goal and cannot remove the owner; a used
// link is refused; a shared link pinned to the segment country:DE answers
// only the German visitors, asked filter=country:!DE too.
func TestServeTeamsInviteAndRoles(t *testing.T) {
	t.Parallel()
	smtpPort, inbox := smtptest.Start(t)
	geoDB := geotest.Write(t, "GeoLite2-Country", []geotest.Network{
		{CIDR: "198.51.100.0/24", Value: geotest.City("DE", "")},
		{CIDR: "203.0.113.0/24", Value: geotest.City("US", "")},
	})
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword, "SKOPOS_RATE_LIMIT=off",
		"SKOPOS_GEOIP_DB="+geoDB)
	ctx := context.Background()
	pb := client(t, s.URL)
	useSMTP(t, pb, smtpPort)
	ids := map[string]string{}
	for _, name := range []string{"owner", "admin", "other"} {
		var rec struct {
			ID string `json:"id"`
		}
		if err := pb.CreateRecord(ctx, "users", map[string]any{"email": name + "@teams.test", "password": teamPassword,
			"passwordConfirm": teamPassword}, &rec); err != nil {
			t.Fatal(err)
		}
		ids[name] = rec.ID
	}
	site := map[string]*website{}
	for name, owner := range map[string]string{"Teams": "owner", "Other": "other"} {
		var w website
		if err := pb.CreateRecord(ctx, "websites", map[string]any{"name": name, "domain": strings.ToLower(name) + ".example",
			"user": ids[owner]}, &w); err != nil {
			t.Fatal(err)
		}
		site[name] = &w
	}
	stats := func(w *website) string { return s.URL + "/api/skopos/stats?period=7d&site=" + w.TrackingID }

	// the owner invites a viewer, in Chromium
	tab := chrome.Tab(t, 3*time.Minute)
	members := s.URL + "/dashboard/sites/" + site["Teams"].ID + "/members"
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	do := func(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	do(tab,
		chromedp.Navigate(s.URL+"/dashboard/login"),
		chromedp.SendKeys(css("#email"), "owner@teams.test"),
		chromedp.SendKeys(css("#password"), teamPassword),
		chromedp.Click(css(`form button[type="submit"]`)),
		chromedp.WaitVisible(css("h1")),
		chromedp.Navigate(members),
		chromedp.SendKeys(css("#invite-form #email"), "viewer@teams.test"),
		chromedp.SetValue(css("#invite-form #role"), "viewer"),
		chromedp.Click(css(`#invite-form button[type="submit"]`)),
		chromedp.WaitVisible(css("#done")),
	)
	link := inviteLink(t, inbox, "viewer@teams.test")

	// the link, in a browser profile of its own, creates the account
	tab2 := chrome.Tab(t, 3*time.Minute, chromedp.WithNewBrowserContext())
	do(tab2,
		chromedp.Navigate(link),
		chromedp.WaitVisible(css("#signup-form")),
		chromedp.SendKeys(css("#password"), "viewer-pass-1"),
		chromedp.SendKeys(css("#passwordConfirm"), "viewer-pass-1"),
		chromedp.Click(css(`#signup-form button[type="submit"]`)),
		chromedp.WaitVisible(css("#kpi-h")),
	)
	h1, err := chromedp.Run(tab2, chromedp.Evaluate[string](`document.querySelector("h1").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	where, err := chromedp.Run(tab2, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if h1 != "Teams" || !strings.HasSuffix(where, "/dashboard/sites/"+site["Teams"].ID) {
		t.Fatalf("after sign-up: %q at %s", h1, where)
	}

	// the viewer reads the stats; settings are 403, another site 404
	viewer := loginTeamUser(t, s.URL, "viewer@teams.test", "viewer-pass-1")
	for _, c := range []struct {
		what string
		got  int
		want int
	}{
		{"stats", viewer.api(t, "GET", stats(site["Teams"]), ""), http.StatusOK},
		{"another site's stats", viewer.api(t, "GET", stats(site["Other"]), ""), http.StatusNotFound},
		{"a shared link", viewer.api(t, "POST", s.URL+"/api/skopos/shares", `{"site":"`+site["Teams"].TrackingID+`"}`), http.StatusForbidden},
		{"settings page", first(viewer.do(t, "GET", s.URL+"/dashboard/websites/"+site["Teams"].ID, nil)), http.StatusForbidden},
		{"settings form", first(viewer.do(t, "POST", s.URL+"/dashboard/websites/"+site["Teams"].ID, url.Values{"name": {"x"}})), http.StatusForbidden},
		{"another site's page", first(viewer.do(t, "GET", s.URL+"/dashboard/sites/"+site["Other"].ID, nil)), http.StatusNotFound},
	} {
		if c.got != c.want {
			t.Errorf("viewer, %s: %d, want %d", c.what, c.got, c.want)
		}
	}
	if code, _ := (&teamUser{dash: &http.Client{}}).do(t, "GET", link, nil); code != http.StatusGone {
		t.Errorf("the used link: %d, want 410", code)
	}

	// an admin, invited to an existing account, accepts after logging in
	owner := loginTeamUser(t, s.URL, "owner@teams.test", teamPassword)
	if code, body := owner.do(t, "POST", members, url.Values{"email": {"admin@teams.test"}, "role": {"admin"}}); code != http.StatusSeeOther {
		t.Fatalf("inviting the admin: %d\n%s", code, body)
	}
	link = inviteLink(t, inbox, "admin@teams.test")
	admin := loginTeamUser(t, s.URL, "admin@teams.test", teamPassword)
	if code, body := admin.do(t, "GET", link, nil); code != http.StatusOK || !strings.Contains(body, `id="accept-form"`) {
		t.Fatalf("invitation page for a logged-in account: %d\n%s", code, body)
	}
	if code, _ := admin.do(t, "POST", link, url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("accepting: %d", code)
	}
	goals := s.URL + "/dashboard/sites/" + site["Teams"].ID + "/goals"
	admin.do(t, "GET", goals, nil)
	if code, _ := admin.do(t, "POST", goals, url.Values{"name": {"Signup"}, "type": {"event"}, "match": {"signup"}}); code != http.StatusSeeOther {
		t.Errorf("the admin creates a goal: %d, want 303", code)
	}
	var goal struct {
		ID string `json:"id"`
	}
	if err := pb.FirstRecord(ctx, "goals", "website = '"+site["Teams"].ID+"' && name = 'Signup'", &goal); err != nil {
		t.Errorf("the admin's goal: %v", err)
	}
	if code, _ := admin.do(t, "POST", members+"/"+ids["owner"]+"/remove", url.Values{}); code != http.StatusForbidden {
		t.Errorf("the admin removes the owner: %d, want 403", code)
	}

	// a shared link pinned to a segment "country:DE" answers only German
	// traffic, even when asked for the rest
	for i, ip := range []string{"198.51.100.1", "198.51.100.2", "203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		pageViewFrom(t, s.URL, "https://teams.example", ip, browserUA, fmt.Sprintf("/p%d", i))
	}
	visitors := func(u *teamUser, q string) float64 {
		t.Helper()
		var rep struct {
			Visitors struct {
				Value float64 `json:"value"`
			} `json:"visitors"`
		}
		req, _ := http.NewRequest("GET", stats(site["Teams"])+q, nil)
		if u != nil {
			req.Header.Set("Authorization", u.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stats%s: %d %v", q, resp.StatusCode, err)
		}
		return rep.Visitors.Value
	}
	testwait.Until(t, "five visitors stored", func() bool { return visitors(owner, "") == 5 })
	var seg, pinned struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if err := postJSON(owner, s.URL+"/api/skopos/segments", map[string]any{"site": site["Teams"].TrackingID, "name": "Germany",
		"filters": []string{"country:DE"}, "shared": true}, &seg); err != nil {
		t.Fatal(err)
	}
	if err := postJSON(owner, s.URL+"/api/skopos/shares", map[string]any{"site": site["Teams"].TrackingID, "segment": seg.ID}, &pinned); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]float64{
		"&share=" + pinned.Token: 2, "&share=" + pinned.Token + "&filter=country:!DE": 0,
		"&share=" + pinned.Token + "&filter=country:US": 0, "&share=" + pinned.Token + "&filter=country:DE": 2,
	} {
		if got := visitors(nil, q); got != want {
			t.Errorf("pinned link%s: %v visitors, want %v", q, got, want)
		}
	}
	if got := visitors(viewer, "&segment="+seg.ID); got != 2 {
		t.Errorf("the viewer with the shared segment: %v visitors, want 2", got)
	}

	if code, body := owner.do(t, "GET", members, nil); code != http.StatusOK || !strings.Contains(body, "admin@teams.test") ||
		!strings.Contains(body, "viewer@teams.test") {
		t.Errorf("members page after both accepted: %d", code)
	}
}

type website struct {
	ID         string `json:"id"`
	TrackingID string `json:"trackingId"`
}

func first(code int, _ string) int { return code }

// postJSON posts v with u's auth token and decodes the answer into out.
func postJSON(u *teamUser, target string, v, out any) error {
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(b))
	req.Header.Set("Authorization", u.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %d %s", target, resp.StatusCode, body)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
