package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// TestStatsEqualAnIndependentComputation sends two weeks of seeded random
// traffic (DST days, local and UTC midnights, campaigns, custom events
// with properties, JS errors) through the real intake (the SDK-mode
// ingest route, with explicit times) and compares every figure of the
// stats API — KPIs and their previous values and changes, every series
// step, every top list, goals, active users, funnels and event
// properties — for several time zones, periods and filter sets with what
// the oracle (analysis_oracle_test.go) computes from the raw events and
// sessions rows by the README's definitions. Unfiltered whole-hour
// periods are also summed from the hourly summaries directly, against the
// same raw figures.
func TestStatsEqualAnIndependentComputation(t *testing.T) {
	t.Parallel()
	// a City database: regions for two German halves and the US, none
	// for India
	var nets []geotest.Network
	for cidr, place := range map[string][2]string{"198.51.100.0/26": {"DE", "BY"}, "198.51.100.64/26": {"DE", "BE"},
		"203.0.113.0/25": {"US", "CA"}, "203.0.113.128/25": {"IN", ""}} {
		nets = append(nets, geotest.Network{CIDR: cidr, Value: geotest.City(place[0], place[1])})
	}
	geoDB := geotest.Write(t, "GeoLite2-City", nets)
	srv := startEmbeddedWith(t, plugin.Config{GeoIPDatabase: geoDB})
	app := srv.App()
	site := srv.AddWebsite(t, "shop.example")
	other := srv.AddWebsite(t, "other.example")
	token := superuserToken(t, srv)
	tid := site.GetString("trackingId")

	goals := []oGoal{
		{Name: "Pricing", Type: "page", Match: "/pricing"},
		{Name: "Blog post", Type: "page", Match: "/blog/*"},
		{Name: "Docs", Type: "page", Match: "/docs/**"},
		{Name: "Signed up", Type: "event", Match: "signup"},
		{Name: "Pro signup", Type: "event", Match: "signup", Key: "plan", Value: "pro"},
		{Name: "Trial signup", Type: "event", Match: "signup", Key: "trial", Value: "true"},
		{Name: "Three seats", Type: "event", Match: "signup", Key: "seats", Value: "3"},
		{Name: "Coupon", Type: "event", Match: "signup", Key: "coupon", Value: "1.5"},
	}
	for _, g := range goals {
		restCreate(t, srv, token, schema.Goals, map[string]any{"website": site.Id, "name": g.Name, "type": g.Type,
			"match": g.Match, "propertyKey": g.Key, "propertyValue": g.Value})
	}
	// the other website's goal of the same name must not count here
	restCreate(t, srv, token, schema.Goals, map[string]any{"website": other.Id, "name": "Pricing", "type": "page", "match": "/**"})
	funnels := map[string][]oStep{
		"Pricing to signup":  {{"Pricing", "page", "/pricing"}, {"Signup", "event", "signup"}},
		"Home, blog, signup": {{"Home", "page", "/"}, {"Blog", "page", "/blog/*"}, {"Signup", "event", "signup"}},
		"Docs twice":         {{"Docs", "page", "/docs/**"}, {"Docs again", "page", "/docs/**"}},
	}
	funnelIDs := map[string]string{}
	var funnelNames []string
	for name, steps := range funnels {
		funnelIDs[name] = restCreate(t, srv, token, schema.Funnels, map[string]any{"website": site.Id, "name": name, "steps": steps})
		funnelNames = append(funnelNames, name)
	}
	sort.Strings(funnelNames)

	// traffic: the website's, a live bit at the wall clock (for the
	// routes' real clock), and another website's
	nyDST, berlinDST := dstDays(time.Now())
	day := func(d time.Time, n int) string { return d.AddDate(0, 0, n).Format(time.DateOnly) }
	g := newTrafficGen(1, nyDST, berlinDST)
	for range 70 {
		g.visitor(tid, 1+g.r.IntN(4), g.start)
	}
	live := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 3 {
		ip, ua := fmt.Sprintf("203.0.113.%d", 200+i), trafficUAs[i]
		vid := fmt.Sprintf("live-visitor-%d", i)
		for k := range 3 {
			g.evs = append(g.evs, g.event(pipeline.PageView, live.Add(time.Duration(k-3)*time.Minute-time.Duration(i)*10*time.Second), tid, vid, ip, ua, trafficPages[k]))
		}
	}
	og := newTrafficGen(2, nyDST, berlinDST)
	for range 10 {
		og.visitor(other.GetString("trackingId"), 2, og.start)
	}
	all := append(g.sorted(), og.sorted()...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	rows, jsSent := 0, 0
	for _, ev := range all {
		switch ev.Kind {
		case pipeline.JSError:
			jsSent++
		case pipeline.Engagement: // updates its page view's row
		default:
			rows++
		}
	}
	// the engagement the page views end with: each one's largest figures
	type eng struct{ ms, scroll int }
	engaged := map[string]eng{}
	for _, ev := range all {
		if ev.Kind == pipeline.Engagement && ev.PID != "orphan123" {
			id := pipeline.PageViewID(ev.TrackingID, ev.Visitor, ev.PID)
			engaged[id] = eng{max(engaged[id].ms, ev.EngagedMs), max(engaged[id].scroll, ev.Scroll)}
		}
	}
	wantMs, wantScroll := 0, 0
	for _, e := range engaged {
		wantMs, wantScroll = wantMs+e.ms, wantScroll+e.scroll
	}
	for start := 0; start < len(all); start += 400 {
		batch := all[start:min(start+400, len(all))]
		if status, ans := postIngest(t, srv, token, encodeBatch(t, pipeline.BatchID(batch), batch), "gzip"); status != http.StatusOK {
			t.Fatalf("ingest: %d %s", status, ans)
		}
	}
	testwait.For(t, testwait.Events(rows+jsSent), fmt.Sprintf("%d events and %d JS errors stored", rows, jsSent), func() bool {
		var n, js, ms, scroll int
		_ = app.DB().NewQuery(`SELECT (SELECT COUNT(*) FROM events), (SELECT COALESCE(SUM(count), 0) FROM js_errors),
			(SELECT COALESCE(SUM(engagedMs), 0) FROM events), (SELECT COALESCE(SUM(scrollDepth), 0) FROM events)`).Row(&n, &js, &ms, &scroll)
		return n == rows && js == jsSent && ms == wantMs && scroll == wantScroll
	})
	summarytest.Check(t, app.DB(), "after the traffic")
	identifyVisitors(t, app.DB(), site.Id)
	identifyVisitors(t, app.DB(), other.Id) // the same user ids on another website

	o := loadOracle(t, app.DB(), site.Id, goals, g.js)
	checkAccountCoverage(t, o)
	sr := loadSummaries(t, app.DB(), site.Id)
	checkCoverage(t, o, nyDST)
	t.Logf("%d sessions, %d events, %d JS errors of the website", len(o.sessions), len(o.events), len(o.js))
	var coverage oReport
	coverage.engagementOf(o.events)
	if len(coverage.pageEngagement) < 5 || len(coverage.autoEvents) != 4 {
		t.Fatalf("the traffic engages %d pages and has %d kinds of automatic events; want at least 5 and 4",
			len(coverage.pageEngagement), len(coverage.autoEvents))
	}

	// filter values the user agents produced
	device, browser, osName := firstKey(o, "device"), firstKey(o, "browser"), firstKey(o, "os")
	filterSets := [][]string{
		nil,
		{"country:DE"},
		{"region:DE-BY"},
		{"region:!US-CA", "page:/pricing"},
		{"country:DE", "region:!DE-BE"},
		{"device:" + device},
		{"page:/pricing"},
		{"page:/blog/a", "country:!US"},
		{"page:!/"},
		{"event:signup"},
		{"event:!signup", "referrer:Direct"},
		{"goal:Pro signup"},
		{"goal:Blog post", "language:!Unknown"},
		{"goal:!Docs"},
		{"utm_campaign:fall_sale"},
		{"utm_source:!google", "entryPage:/"},
		{"referrer:google.com"},
		{"referrer:!Direct", "exitPage:/pricing"},
		{"country:Unknown", "browser:" + browser},
		{"os:" + osName, "page:/docs/x/y"},
		{"utm_medium:email", "goal:Signed up", "country:!IN"},
		// acquisition: the stored source and channel, term and content
		{"channel:Organic Search"},
		{"source:!Google", "channel:!Direct"},
		{"utm_term:shoes", "source:Gmail"},
		// the account filters: visitors identified by identifyVisitors
		{"user:u1"},
		{"user:!u1", "page:/pricing"},
		{"identified:yes"},
		{"identified:no", "country:!US"},
		{"identified:!no", "event:signup"},
		{"meta.plan:pro"},
		{"meta.plan:!pro"},
		{"meta.seats:2", "device:" + device},
		{"meta.trial:!true", "goal:Pro signup"},
		{"meta.team.size:10", "identified:yes"},
	}

	// the routes, with the wall clock, in the website's zone
	site.Set("timezone", "America/New_York")
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	t.Run("routes", func(t *testing.T) {
		before := time.Now()
		var r stats.Report
		getJSON(t, srv, token, plugin.StatsPath, url.Values{"site": {tid}, "period": {"today"}, "top": {"100"}}, &r)
		// "today" ends at the request's now
		now := r.Period.To
		if now.Before(before) || now.After(time.Now()) {
			t.Fatalf("today ends at %v, not at the request's clock", now)
		}
		if r.Site.ID != site.Id || r.Site.TrackingID != tid || r.Site.Domain != "shop.example" || r.Site.Name != "shop.example" {
			t.Errorf("site %+v", r.Site)
		}
		want := o.expect(namedPeriod(ny, "today", now), nil)
		compareReport(t, "GET stats today", &r, want, 100)
		if r.ActiveUsers != 3 {
			t.Errorf("active users %d, want the 3 live visitors", r.ActiveUsers)
		}

		q := url.Values{"site": {tid}, "from": {day(nyDST, -1)}, "to": {day(nyDST, 1)}, "top": {"100"},
			"filter": {"page:/pricing", "country:!US"}}
		before = time.Now()
		var f stats.Report
		getJSON(t, srv, token, plugin.StatsPath, q, &f)
		after := time.Now()
		want = o.expect(customPeriod(ny, q.Get("from"), q.Get("to"), after), q["filter"])
		if lo := o.expect(customPeriod(ny, q.Get("from"), q.Get("to"), before), q["filter"]).activeUsers; lo != want.activeUsers {
			want.activeUsers = f.ActiveUsers // a live session's 5 minutes ended during the request
		}
		compareReport(t, "GET stats custom filtered", &f, want, 100)

		for _, name := range funnelNames {
			before = time.Now()
			var fr stats.FunnelReport
			getJSON(t, srv, token, plugin.FunnelPath, url.Values{"site": {tid}, "funnel": {funnelIDs[name]}, "period": {"7d"}}, &fr)
			if !localDate(before, ny, 0).Equal(localDate(time.Now(), ny, 0)) {
				continue // New York's day changed during the request
			}
			if fr.ID != funnelIDs[name] || fr.Name != name {
				t.Errorf("GET funnel %s: id %q name %q", name, fr.ID, fr.Name)
			}
			compareFunnel(t, "GET funnel "+name, &fr, o, namedPeriod(ny, "7d", before), nil, funnels[name])
		}

		var props map[string][]stats.PropertyValue
		getJSON(t, srv, token, plugin.PropertiesPath, url.Values{"site": {tid}, "event": {"signup"},
			"from": {day(berlinDST, -1)}, "to": {day(nyDST, 4)}, "filter": {"device:" + device}}, &props)
		compareProperties(t, "GET properties", props, o.properties(customPeriod(ny, day(berlinDST, -1), day(nyDST, 4), time.Now()),
			[]string{"device:" + device}, "signup"), 10)

		var rev plugin.RevenueReport
		getJSON(t, srv, token, plugin.RevenuePath, url.Values{"site": {tid}, "by": {"goal"},
			"from": {day(berlinDST, -1)}, "to": {day(nyDST, 4)}, "filter": {"device:" + device}}, &rev)
		wantRev := o.revenue(customPeriod(ny, day(berlinDST, -1), day(nyDST, 4), time.Now()), []string{"device:" + device}, "goal")
		if len(wantRev) < 4 {
			t.Fatalf("the traffic's revenue covers %d goal and currency rows: too few to test", len(wantRev))
		}
		compareRevenue(t, "GET revenue", rev.Rows, wantRev)
	})

	// stats functions with fixed clocks, every zone, period and filter set
	type periodSpec struct{ name, from, to, now, interval string }
	periods := []periodSpec{
		{"custom", day(nyDST, 0), day(nyDST, 0), day(nyDST, 0) + " 01:30:00.000", ""},             // New York: 25 hours
		{"custom", day(berlinDST, 0), day(berlinDST, 0), day(berlinDST, 1) + " 00:01:00.000", ""}, // Berlin: 25 hours
		{"custom", day(nyDST, -1), day(nyDST, 0), day(nyDST, 4) + " 12:00:00.000", ""},            // two days: by hour
		{"custom", day(berlinDST, -1), day(nyDST, 4), day(nyDST, 1) + " 00:02:00.000", ""},        // everything, by day
		{"7d", "", "", day(nyDST, 2) + " 15:37:12.345", ""},
		{"30d", "", "", day(nyDST, 4) + " 10:00:00.000", ""},
		{"today", "", "", day(nyDST, 0) + " 13:21:07.500", ""},
		{"today", "", "", day(berlinDST, 3) + " 00:04:00.000", ""},
		{"24h", "", "", day(nyDST, 0) + " 09:10:11.000", ""},
		// the other steps: weeks from Monday, months, a week by hour
		{"30d", "", "", day(nyDST, 4) + " 10:00:00.000", "week"},
		{"custom", day(berlinDST, -1), day(nyDST, 4), day(nyDST, 1) + " 00:02:00.000", "month"},
		{"7d", "", "", day(nyDST, 2) + " 15:37:12.345", "hour"},
	}
	ctx := context.Background()
	for zi, zone := range []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.ReplaceAll(zone, "/", "_"), func(t *testing.T) {
			t.Parallel()
			for pi, ps := range periods {
				now, err := time.ParseInLocation("2006-01-02 15:04:05.000", ps.now, loc)
				if err != nil {
					t.Fatal(err)
				}
				p, err := stats.ParsePeriodIn(ps.name, ps.from, ps.to, now, loc)
				if err == nil {
					p, err = p.WithInterval(ps.interval)
				}
				if err != nil {
					t.Fatal(err)
				}
				op := namedOrCustom(loc, ps.name, ps.from, ps.to, now).by(ps.interval)
				if ps.name == "custom" && ps.from == ps.to {
					hours := 24
					if zone == "America/New_York" && ps.from == day(nyDST, 0) || zone == "Europe/Berlin" && ps.from == day(berlinDST, 0) {
						hours = 25 // the DST day
					}
					if n := len(op.buckets()) - 1; n != hours {
						t.Errorf("%s %s: the oracle's day has %d hours, want %d", zone, ps.from, n, hours)
					}
				}
				for fi, fs := range filterSets {
					if raceEnabled && fi != 0 && (fi%len(periods) != (zi+pi)%len(periods) || (fi+zi)%2 == 1) {
						continue // under the race detector each filter set with one period in every other zone
					}
					label := fmt.Sprintf("%s %s %s%s %s filters %v", zone, ps.name, ps.from, ps.to, ps.interval, fs)
					req := stats.Request{Period: p, Filters: statsFilters(fs), Top: 100, Now: now}
					got, err := stats.Query(ctx, app, site.Id, req)
					if err != nil {
						t.Fatalf("%s: %v", label, err)
					}
					want := o.expect(op, fs)
					compareReport(t, label, got, want, 100)
					if len(fs) == 0 && op.onUTCHours() {
						checkSummaries(t, label, sr, want)
					}
					if len(fs) == 0 && ps.from == day(berlinDST, -1) {
						// the top lists cut at 3
						req.Top = 3
						got, err := stats.Query(ctx, app, site.Id, req)
						if err != nil {
							t.Fatal(err)
						}
						compareReport(t, label+" top 3", got, want, 3)
					}
					if fi%2 == 0 {
						for _, name := range funnelNames {
							fr, err := stats.Funnel(ctx, app, site.Id, funnelIDs[name], req)
							if err != nil {
								t.Fatalf("%s: funnel %s: %v", label, name, err)
							}
							compareFunnel(t, label+" funnel "+name, fr, o, op, fs, funnels[name])
						}
					} else {
						for _, ev := range []string{"signup", "cta_click"} {
							props, err := stats.Properties(ctx, app, site.Id, ev, req)
							if err != nil {
								t.Fatalf("%s: properties: %v", label, err)
							}
							compareProperties(t, label+" properties "+ev, props, o.properties(op, fs, ev), 100)
						}
						for _, by := range []string{"goal", "page", "referrer", "source", "channel"} {
							rows, err := stats.Revenue(ctx, app, site.Id, by, req)
							if err != nil {
								t.Fatalf("%s: revenue by %s: %v", label, by, err)
							}
							compareRevenue(t, label+" revenue by "+by, rows, o.revenue(op, fs, by))
						}
					}
				}
			}
		})
	}
}

func namedOrCustom(loc *time.Location, name, from, to string, now time.Time) oPeriod {
	if name == "custom" {
		return customPeriod(loc, from, to, now)
	}
	return namedPeriod(loc, name, now)
}

func statsFilters(fs []string) []stats.Filter {
	out := []stats.Filter{}
	for _, s := range fs {
		f := parseOFilter(s)
		out = append(out, stats.Filter{Dim: f.Dim, Value: f.Value, Not: f.Not})
	}
	return out
}

// firstKey is the alphabetically first key of a session dimension.
// compareSeries checks every step of a series: its start, page views,
// visitors, bounce rate and average duration.
func compareSeries(t *testing.T, label string, p oPeriod, got []stats.Point, want []oPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d steps, want %d", label, len(got), len(want))
		return
	}
	for i, pt := range got {
		w := want[i]
		if !pt.Time.Equal(w.at) || pt.PageViews != w.pageViews || pt.Visitors != w.visitors ||
			int(math.Round(pt.BounceRate*10)) != w.bounceRateX10 || pt.AvgDurationSeconds != float64(w.avgDuration) {
			t.Errorf("%s: step %d = %v %d page views %d visitors %v%% bounces %vs; want %v %d %d %.1f%% %ds", label, i,
				pt.Time, pt.PageViews, pt.Visitors, pt.BounceRate, pt.AvgDurationSeconds,
				w.at.In(p.loc), w.pageViews, w.visitors, float64(w.bounceRateX10)/10, w.avgDuration)
		}
	}
}

func firstKey(o *oracle, dim string) string {
	var keys []string
	for _, s := range o.sessions {
		keys = append(keys, sessKey(s, dim))
	}
	sort.Strings(keys)
	return keys[0]
}

// checkCoverage fails when the traffic lacks what the test claims to
// cover (a change of the generator or its seed could lose it).
func checkCoverage(t *testing.T, o *oracle, nyDST time.Time) {
	t.Helper()
	ny, _ := time.LoadLocation("America/New_York")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	has := map[string]bool{}
	for _, s := range o.sessions {
		for _, loc := range []*time.Location{time.UTC, ny, kolkata} {
			if next := localDate(s.Start, loc, 1); s.Last.After(next) {
				has["a session across a local midnight in "+loc.String()] = true
			}
			if s.Start.Equal(localDate(s.Start, loc, 0)) {
				has["a session starting exactly at midnight"] = true
			}
		}
		if h := s.Start.Sub(nyDST); h > 5*time.Hour && h < 6*time.Hour {
			has["a session in New York's first 1 a.m. of its DST day"] = true
		} else if h > 6*time.Hour && h < 7*time.Hour {
			has["a session in New York's second 1 a.m. of its DST day"] = true
		}
		has["country "+orUnknownKey(s.Country)] = true
		has["referrer "+refHost(s.Referrer)] = true
		if s.UTM["utm_campaign"] != "" {
			has["a campaign"] = true
		}
		if !s.New {
			has["a returning visitor"] = true
		}
		if s.EventCount == 1 && s.Engaged {
			has["an engaged bounce"] = true
		}
	}
	for _, e := range o.events {
		if e.Name == "signup" && e.Data["coupon"] != nil {
			has["a signup with a coupon"] = true
		}
	}
	for _, want := range []string{
		"a session across a local midnight in UTC", "a session across a local midnight in America/New_York",
		"a session across a local midnight in Asia/Kolkata", "a session starting exactly at midnight",
		"a session in New York's first 1 a.m. of its DST day", "a session in New York's second 1 a.m. of its DST day",
		"country DE", "country US", "country IN", "country Unknown", "referrer Direct", "referrer google.com",
		"a campaign", "a returning visitor", "an engaged bounce", "a signup with a coupon",
	} {
		if !has[want] {
			t.Errorf("the traffic lacks %s", want)
		}
	}
}

// restCreate creates a record through PocketBase's REST API and returns
// its id.
func restCreate(t *testing.T, srv *pbtest.Server, token, collection string, fields map[string]any) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/collections/"+collection+"/records", strings.NewReader(mustJSON(fields)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create %s %v: %d %v", collection, fields, resp.StatusCode, err)
	}
	return out.ID
}

func getJSON(t *testing.T, srv *pbtest.Server, token, path string, q url.Values, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path+"?"+q.Encode(), nil)
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s?%s: %d", path, q.Encode(), resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// --- comparisons ---------------------------------------------------------

func compareMetric(t *testing.T, label, name string, got stats.Metric, want oMetric) {
	t.Helper()
	if got.Value != want.value() || got.Previous != want.previous() || got.Change != want.change() {
		t.Errorf("%s: %s = %v (previous %v, change %d); raw rows say %v (previous %v, change %d)",
			label, name, got.Value, got.Previous, got.Change, want.value(), want.previous(), want.change())
	}
}

func compareReport(t *testing.T, label string, got *stats.Report, want oReport, top int) {
	t.Helper()
	p := want.period
	gp := got.Period
	if !gp.From.Equal(p.from) || !gp.To.Equal(p.to) || gp.Previous == nil || !gp.Previous.From.Equal(p.prevFrom) ||
		!gp.Previous.To.Equal(p.prevTo) || gp.Hourly != p.hourly || gp.Timezone != p.loc.String() {
		t.Fatalf("%s: period %s–%s (previous %+v, hourly %v, %s); want %s–%s (previous %s–%s, hourly %v, %s)", label,
			gp.From, gp.To, gp.Previous, gp.Hourly, gp.Timezone, p.from, p.to, p.prevFrom, p.prevTo, p.hourly, p.loc)
	}
	if len(got.Filters) != len(want.filters) {
		t.Errorf("%s: filters %+v", label, got.Filters)
	}
	for i := range min(len(got.Filters), len(want.filters)) {
		if f, w := got.Filters[i], want.filters[i]; f.Dim != w.Dim || f.Value != w.Value || f.Not != w.Not {
			t.Errorf("%s: filter %d = %+v, want %+v", label, i, f, w)
		}
	}
	compareMetric(t, label, "pageViews", got.PageViews, want.pageViews)
	compareMetric(t, label, "visitors", got.Visitors, want.visitors)
	compareMetric(t, label, "newVisitors", got.NewVisitors, want.newVisitors)
	compareMetric(t, label, "returningVisitors", got.ReturningVisitors, want.returning)
	compareMetric(t, label, "engagementRate", got.EngagementRate, want.engagementRate)
	compareMetric(t, label, "bounceRate", got.BounceRate, want.bounceRate)
	compareMetric(t, label, "avgDurationSeconds", got.AvgDuration, want.avgDuration)
	switch {
	case want.jsErrors == nil && got.JSErrors != nil:
		t.Errorf("%s: jsErrors %+v with filters, want null", label, *got.JSErrors)
	case want.jsErrors != nil && got.JSErrors == nil:
		t.Errorf("%s: jsErrors null without filters", label)
	case want.jsErrors != nil:
		compareMetric(t, label, "jsErrors", *got.JSErrors, *want.jsErrors)
	}

	unit := "day"
	switch {
	case p.interval != "":
		unit = p.interval
	case p.hourly:
		unit = "hour"
	}
	if got.SeriesUnit != unit {
		t.Errorf("%s: series by %s, want %s", label, got.SeriesUnit, unit)
	}
	compareSeries(t, label+" series", p, got.Series, want.series)
	compareSeries(t, label+" previous series", p, got.PreviousSeries, want.prevSeries)

	var gotDims, wantDims []string
	for d := range got.Top {
		gotDims = append(gotDims, d)
	}
	for d := range want.top {
		wantDims = append(wantDims, d)
	}
	sort.Strings(gotDims)
	sort.Strings(wantDims)
	if strings.Join(gotDims, ",") != strings.Join(wantDims, ",") {
		t.Errorf("%s: top lists %v, want %v", label, gotDims, wantDims)
	}
	for _, d := range wantDims {
		compareTop(t, label+" top "+d, got.Top[d], want.top[d], top)
	}

	if len(got.Goals) != len(want.goals) {
		t.Errorf("%s: %d goals %+v, want %d", label, len(got.Goals), got.Goals, len(want.goals))
	} else {
		for i, g := range got.Goals {
			w := want.goals[i]
			if g.Name != w.name || g.Visitors != w.visitors || g.Events != w.events || g.ConversionRate != float64(w.rateX10)/10 {
				t.Errorf("%s: goal %+v; raw rows say %+v", label, g, w)
			}
		}
	}
	if got.ActiveUsers != want.activeUsers {
		t.Errorf("%s: activeUsers %d, raw rows say %d", label, got.ActiveUsers, want.activeUsers)
	}
	compareEngagement(t, label, got, want, top)
}

// compareEngagement: every top page with engaged page views has its
// medians, in the top list's order; every automatic event with data has
// its top rows with their exact counts, by count descending.
func compareEngagement(t *testing.T, label string, got *stats.Report, want oReport, top int) {
	t.Helper()
	var wantPages []oPageEngagement
	for _, it := range got.Top["page"] {
		if pe, ok := want.pageEngagement[it.Key]; ok {
			wantPages = append(wantPages, pe)
		}
	}
	if len(got.PageEngagement) != len(wantPages) {
		t.Errorf("%s: pageEngagement %+v; raw rows say %+v", label, got.PageEngagement, wantPages)
	} else {
		for i, pe := range got.PageEngagement {
			if w := wantPages[i]; pe.Path != w.path || pe.Views != w.views || pe.MedianSeconds != w.seconds || pe.MedianScroll != w.scroll {
				t.Errorf("%s: pageEngagement %+v; raw rows say %+v", label, pe, w)
			}
		}
	}
	if len(got.AutoEvents) != len(want.autoEvents) {
		t.Errorf("%s: autoEvents for %d names; raw rows have %d", label, len(got.AutoEvents), len(want.autoEvents))
	}
	for name, rows := range want.autoEvents {
		items := got.AutoEvents[name]
		if len(items) != min(top, len(rows)) {
			t.Errorf("%s: %s: %d rows, want %d", label, name, len(items), min(top, len(rows)))
			continue
		}
		for i, it := range items {
			w := rows[[2]string{it.Value, it.Page}]
			if it.Count != w[0] || it.Visitors != w[1] || i > 0 && items[i-1].Count < it.Count {
				t.Errorf("%s: %s %+v; raw rows say %d events, %d sessions", label, name, it, w[0], w[1])
			}
		}
	}
}

// compareTop: the list holds the top keys with their exact counts, by
// count descending (the order of equal counts is not specified).
func compareTop[T any](t *testing.T, label string, got []T, want map[string]int, top int) {
	t.Helper()
	type kv struct {
		key   string
		count int
	}
	var items []kv
	for _, it := range got {
		switch x := any(it).(type) {
		case stats.Item:
			items = append(items, kv{x.Key, x.Count})
		case stats.PropertyValue:
			items = append(items, kv{x.Value, x.Count})
		}
	}
	if len(items) != min(top, len(want)) {
		t.Errorf("%s: %d keys %v, want %d of %v", label, len(items), items, min(top, len(want)), want)
		return
	}
	seen := map[string]bool{}
	for i, it := range items {
		if seen[it.key] || want[it.key] != it.count {
			t.Errorf("%s: %q counted %d; raw rows say %d (%v)", label, it.key, it.count, want[it.key], want)
		}
		seen[it.key] = true
		if i > 0 && items[i-1].count < it.count {
			t.Errorf("%s: not by count: %v", label, items)
		}
	}
	for k, n := range want {
		if !seen[k] && len(items) > 0 && n > items[len(items)-1].count {
			t.Errorf("%s: %q (%d) left out of %v", label, k, n, items)
		}
	}
}

func compareFunnel(t *testing.T, label string, got *stats.FunnelReport, o *oracle, p oPeriod, filters []string, steps []oStep) {
	t.Helper()
	sessions, want := o.funnel(p, filters, steps)
	if !got.Period.From.Equal(p.from) || !got.Period.To.Equal(p.to) || len(got.Filters) != len(filters) {
		t.Errorf("%s: period %s–%s, filters %v; want %s–%s, %v", label, got.Period.From, got.Period.To, got.Filters, p.from, p.to, filters)
	}
	if got.Sessions != sessions || len(got.Steps) != len(want) {
		t.Errorf("%s: %d sessions, %d steps; want %d, %d", label, got.Sessions, len(got.Steps), sessions, len(want))
		return
	}
	for i, st := range got.Steps {
		w := want[i]
		if st.Name != steps[i].Name || st.Visitors != w.visitors || st.ConversionRate != float64(w.rateX10)/10 ||
			st.DropOff != w.dropOff || st.DropOffRate != float64(w.dropRateX10)/10 {
			t.Errorf("%s: step %d = %+v; raw rows say %+v", label, i, st, w)
		}
	}
}

// compareRevenue checks every row of the revenue report against the
// oracle: totals, conversions and visitors exactly, and the decimal
// strings (the traffic pays in USD and EUR, two decimals each).
func compareRevenue(t *testing.T, label string, got []stats.RevenueRow, want map[[2]string]oRevenue) {
	t.Helper()
	cents := func(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d: %+v", label, len(got), len(want), got)
	}
	for _, r := range got {
		w, ok := want[[2]string{r.Key, r.Currency}]
		avg := int64(0)
		if w.visitors > 0 {
			avg = (w.total*2 + w.visitors) / (2 * w.visitors) // half up
		}
		if !ok || r.Total != w.total || int64(r.Conversions) != w.conversions || int64(r.Visitors) != w.visitors ||
			r.Amount != cents(w.total) || r.AveragePerVisitor != cents(avg) {
			t.Errorf("%s: %+v, want %+v (average %s)", label, r, w, cents(avg))
		}
	}
}

func compareProperties(t *testing.T, label string, got map[string][]stats.PropertyValue, want map[string]map[string]int, top int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: keys %v, want %v", label, got, want)
	}
	for k, vs := range want {
		compareTop(t, label+" "+k, got[k], vs, top)
	}
}
