package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

func userToken(t *testing.T, srv interface{ App() core.App }, url, email string) string {
	t.Helper()
	col, _ := srv.App().FindCollectionByNameOrId("users")
	u := core.NewRecord(col)
	u.SetEmail(email)
	u.SetPassword("user-password-1")
	if err := srv.App().Save(u); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"identity":%q,"password":"user-password-1"}`, email)
	resp, err := http.Post(url+"/api/collections/users/auth-with-password", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token  string `json:"token"`
		Record struct {
			ID string `json:"id"`
		} `json:"record"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("user login: %v", err)
	}
	return out.Token + " " + out.Record.ID
}

func getStats(t *testing.T, url, token, query string) (int, *stats.Report) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+plugin.StatsPath+"?"+query, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	var r stats.Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, &r
}

func TestStatsAPIEqualsRawCounts(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	site := srv.AddWebsite(t, "stats.example")
	other := srv.AddWebsite(t, "other.example")

	// traffic: 30 visitors, page views on a few paths, custom events
	for i := range 120 {
		ip := fmt.Sprintf("203.0.113.%d", i%30+1)
		body := fmt.Sprintf(`{"type":"pageView","url":"https://stats.example/p%d","referrer":"https://www.ref%d.example/x"}`, i%4, i%3)
		if i%5 == 0 {
			body = fmt.Sprintf(`{"type":"custom","name":"cta_%d","url":"https://stats.example/p1"}`, i%2)
		}
		post(t, srv, body, map[string]string{"X-Forwarded-For": ip})
	}
	testwait.Until(t, "120 events stored", func() bool { return countEvents(t, app, nil) == 120 })

	pb, _ := pbrest.New(pbrest.Config{URL: srv.URL, Email: srv.Email, Password: srv.Password})
	if err := pb.Authenticate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var token string
	if err := pb.Do(context.Background(), "POST", "/api/collections/_superusers/auth-with-password",
		map[string]string{"identity": srv.Email, "password": srv.Password}, &struct {
			Token *string `json:"token"`
		}{&token}); err != nil {
		t.Fatal(err)
	}

	var raw struct {
		PageViews, Sessions, New, Bounces int
	}
	_ = app.DB().Select("count(*)").From(schema.Events).Where(dbx.HashExp{"website": site.Id, "type": "pageView"}).Row(&raw.PageViews)
	_ = app.DB().NewQuery("SELECT COUNT(*), SUM(isNewVisitor), SUM(eventCount <= 1) FROM sessions WHERE website = {:w}").
		Bind(dbx.Params{"w": site.Id}).Row(&raw.Sessions, &raw.New, &raw.Bounces)
	var rawP1 int
	_ = app.DB().Select("count(*)").From(schema.Events).Where(dbx.HashExp{"website": site.Id, "type": "pageView", "path": "/p1"}).Row(&rawP1)

	for _, period := range []string{"today", "24h", "7d", "30d", "12mo", "custom&from=" + time.Now().UTC().Format(time.DateOnly) + "&to=" + time.Now().UTC().Format(time.DateOnly)} {
		code, r := getStats(t, srv.URL, token, "site="+site.GetString("trackingId")+"&period="+period)
		if code != http.StatusOK {
			t.Fatalf("%s: status %d", period, code)
		}
		if int(r.PageViews.Value) != raw.PageViews || int(r.Visitors.Value) != raw.Sessions || int(r.NewVisitors.Value) != raw.New {
			t.Errorf("%s: pageViews %v visitors %v new %v; raw rows say %d, %d, %d", period, r.PageViews.Value, r.Visitors.Value, r.NewVisitors.Value, raw.PageViews, raw.Sessions, raw.New)
		}
		if want := float64(int(float64(raw.Bounces)/float64(raw.Sessions)*1000+0.5)) / 10; r.BounceRate.Value != want {
			t.Errorf("%s: bounce rate %v, want %v", period, r.BounceRate.Value, want)
		}
		if r.PageViews.Previous != 0 || r.PageViews.Change != 100 {
			t.Errorf("%s: previous %v change %d; want 0 and 100", period, r.PageViews.Previous, r.PageViews.Change)
		}
		top := map[string]int{}
		for _, it := range r.Top["page"] {
			top[it.Key] = it.Count
		}
		if top["/p1"] != rawP1 {
			t.Errorf("%s: top page /p1 = %d, raw %d (top %v)", period, top["/p1"], rawP1, r.Top["page"])
		}
		refs := map[string]int{}
		for _, it := range r.Top["referrer"] {
			refs[it.Key] += it.Count
		}
		if refs["ref0.example"] == 0 {
			t.Errorf("%s: referrer hosts without www.: %v", period, r.Top["referrer"])
		}
		sum := 0
		for _, pt := range r.Series {
			sum += pt.PageViews
		}
		if sum != raw.PageViews {
			t.Errorf("%s: series sums to %d page views, want %d", period, sum, raw.PageViews)
		}
		if r.ActiveUsers != 30 {
			t.Errorf("%s: active users %d, want 30", period, r.ActiveUsers)
		}
	}

	_, week := getStats(t, srv.URL, token, "site="+site.GetString("trackingId")+"&period=7d&top=100")
	checkBreakdownAPI(t, srv.URL, token, site.GetString("trackingId"), week.Top["page"])

	if code, _ := getStats(t, srv.URL, "", "site="+site.GetString("trackingId")+"&period=7d"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	for q, want := range map[string]int{
		"site=nosuchsite&period=7d":                                               404,
		"site=" + site.GetString("trackingId") + "&period=9y":                     400,
		"site=" + site.GetString("trackingId") + "&from=2026-11-05&to=2026-11-01": 400,
	} {
		if code, _ := getStats(t, srv.URL, token, q); code != want {
			t.Errorf("%s: %d, want %d", q, code, want)
		}
	}

	// a users record sees its own website only
	tokenAndID := userToken(t, srv, srv.URL, "owner@example.com")
	userTok, userID, _ := strings.Cut(tokenAndID, " ")
	other.Set("user", userID)
	if err := app.Save(other); err != nil {
		t.Fatal(err)
	}
	if code, _ := getStats(t, srv.URL, userTok, "site="+other.GetString("trackingId")+"&period=7d"); code != http.StatusOK {
		t.Errorf("owner on own site: %d", code)
	}
	if code, _ := getStats(t, srv.URL, userTok, "site="+site.GetString("trackingId")+"&period=7d"); code != http.StatusNotFound {
		t.Errorf("owner on someone else's site: %d, want 404", code)
	}
}
