package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// chServer is the ClickHouse of this test binary, started by the first
// test that asks for a database (TestMain closes it).
var chServer chtest.Server

func chTimeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	t.Cleanup(cancel)
	return ctx
}

// chClock is a settable clock shared by a run's pipelines.
type chClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *chClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *chClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// trackedSite is one website's pipeline over a store.
type trackedSite struct {
	p    *pipeline.Pipeline
	site *pipeline.Site
	host string
}

func startTracking(t *testing.T, st store.Store, rec *core.Record, clk *chClock, db *geo.DB) *trackedSite {
	t.Helper()
	sites := pipeline.NewSites()
	ps, err := sites.Put(localstore.WebsiteFromRecord(rec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Store: st, Sites: sites, Now: clk.now, Geo: db, RateLimit: -1,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	return &trackedSite{p: p, site: ps, host: rec.GetString("domain")}
}

// browser is one visitor's device: its address, user agent and language.
type browser struct{ ip, ua, lang string }

func (b browser) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = b.ip + ":50000"
	browsertest.Headers(r.Header, b.ua)
	r.Header.Set("Accept-Language", b.lang)
	return r
}

// send tracks one browser event; body is JSON with %[1]s for the host.
func (s *trackedSite) send(t *testing.T, b browser, body string) {
	t.Helper()
	body = fmt.Sprintf(body, s.host)
	if err := s.p.TrackBrowser(b.request(), []byte(body), func(string) *pipeline.Site { return s.site }); err != nil {
		t.Fatalf("TrackBrowser(%s): %v", body, err)
	}
}

func (s *trackedSite) flush(t *testing.T) {
	t.Helper()
	if err := s.p.Flush(chTimeout(t)); err != nil {
		t.Fatal(err)
	}
}

func (s *trackedSite) close(t *testing.T) {
	t.Helper()
	if err := s.p.Close(chTimeout(t)); err != nil {
		t.Fatal(err)
	}
}

const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"

// chBrowsers are the visitors: three countries of the GeoIP test
// database (one with two visitors) and one address it does not know.
var chBrowsers = []browser{
	{"81.2.69.10", browsertest.Chrome, "en-GB"},
	{"89.160.20.112", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "sv-SE"},
	{"216.160.83.56", firefoxUA, "en-US"},
	{"81.2.69.20", firefoxUA, "en-GB"},
	{"2.125.160.216", browsertest.Chrome, "de-DE"},
}

// chTraffic sends the same visits to a site over days days from t0, step
// by step on clk: page views from referrers and campaigns with
// engagement beacons (some raised later), custom events with data, the
// automatic events, JS errors, second sessions past the timeout, late
// events that move a session's start, identified visitors and, halfway,
// a restart (a new pipeline over a new store). open returns the site's
// pipeline over a fresh store.
func chTraffic(t *testing.T, open func() *trackedSite, clk *chClock, t0 time.Time, days int) {
	t.Helper()
	r := rand.New(rand.NewPCG(31, 2))
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	pages := []string{"/", "/pricing", "/docs", "/docs/api", "/blog/first", "/blog/second", "/about"}
	s := open()
	pv := 0
	for d := range days {
		if d == days/2 {
			s.close(t)
			s = open()
		}
		for i, b := range chBrowsers {
			if (d+i)%4 == 3 {
				continue
			}
			at := t0.AddDate(0, 0, d).Add(time.Duration(6+(3*i+5*d)%14)*time.Hour + time.Duration(1+(7*i+11*d)%50)*time.Minute)
			clk.set(at)
			ref := pick("", "https://news.example.org/item?id=3", "https://www.google.com/", "https://github.com/skopos-go/skopos", "")
			query := pick("", "", "?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "?utm_source=ads&utm_medium=cpc&utm_campaign=summer&utm_term=analytics&utm_content=banner")
			entry := pick(pages...)
			pv++
			first := fmt.Sprintf("pv%08d", pv)
			s.send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s%s%s","pid":"%s","referrer":"%s","language":"%s","screenWidth":%d}`,
				entry, query, first, ref, b.lang, []int{390, 1536, 1920}[i%3]))
			if (d+i)%5 == 0 { // a late event: before the session's start, in its hour
				clk.set(at.Add(-40 * time.Second))
				pv++
				s.send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s/about","pid":"pv%08d"}`, pv))
				clk.set(at)
			}
			s.flush(t)
			steps := r.IntN(4)
			for k := range steps {
				clk.set(at.Add(time.Duration(20*(k+1)) * time.Second))
				if r.IntN(2) == 0 {
					s.send(t, b, fmt.Sprintf(`{"type":"engagement","url":"https://%%[1]s%s","pid":"%s","engagedMs":%d,"scroll":%d}`,
						entry, first, 1000*(k+1)+r.IntN(900), 20*(k+1)))
				}
				pv++
				s.send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s%s","pid":"pv%08d"}`, pick(pages...), pv))
				clk.set(at.Add(time.Duration(20*(k+1))*time.Second + 500*time.Millisecond)) // no tie with the page view (chFunnels)
				switch r.IntN(7) {
				case 0:
					s.send(t, b, `{"type":"custom","name":"signup","url":"https://%[1]s/pricing","customData":{"plan":"`+pick("pro", "free")+`","seats":3}}`)
				case 1:
					s.send(t, b, `{"type":"custom","name":"Outbound Link: Click","url":"https://%[1]s/docs","customData":{"url":"`+pick("https://github.com/x", "https://example.net/")+`"}}`)
				case 2:
					s.send(t, b, `{"type":"custom","name":"File Download","url":"https://%[1]s/docs","customData":{"url":"https://cdn.example.com/a.pdf"}}`)
				case 3:
					s.send(t, b, `{"type":"custom","name":"404","url":"https://%[1]s/missing"}`)
				case 4:
					s.send(t, b, `{"type":"custom","name":"Form: Submit","url":"https://%[1]s/about","customData":{"form":"contact"}}`)
				case 5:
					s.send(t, b, `{"type":"jsError","url":"https://%[1]s/docs","errorMessage":"TypeError: `+pick("boom", "bang")+`","stackTrace":"at f (app.js:1:2)"}`)
				}
			}
			s.flush(t)
			if steps > 0 && r.IntN(2) == 0 { // a beacon raising the first page view later
				clk.set(at.Add(2 * time.Minute))
				s.send(t, b, fmt.Sprintf(`{"type":"engagement","url":"https://%%[1]s%s","pid":"%s","engagedMs":%d,"scroll":100}`,
					entry, first, 30000+r.IntN(5000)))
				s.flush(t)
			}
			if i < 2 && d == 1 {
				id := pipeline.Identity{Metadata: map[string]any{"plan": []string{"pro", "free"}[i], "seats": i + 1}}
				if err := s.p.Identify(chTimeout(t), b.request(), s.site, fmt.Sprintf("user-%d", i+1), id); err != nil {
					t.Fatal(err)
				}
			}
			if (d+i)%3 == 0 { // a second session, past the timeout
				clk.set(at.Add(45 * time.Minute))
				pv++
				s.send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s/docs/api","pid":"pv%08d"}`, pv))
				s.flush(t)
			}
		}
	}
	s.close(t)
}

// TestClickHouseReportsEqualSQLite sends the same traffic to a site
// written by the SQLite store and to one written by chstore, and asks
// both for the same reports (periods on whole hours and not, in UTC and
// other zones; no filter, each dimension and its negation, two
// together, goals, events): the reports read from ClickHouse equal the
// SQLite ones but for the site's identity.
func TestClickHouseReportsEqualSQLite(t *testing.T) {
	ch := chServer.StoreDatabase(t)
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	recA, recB := srv.AddWebsite(t, "a.example.com"), srv.AddWebsite(t, "b.example.com")
	goals := []map[string]any{
		{"name": "Pricing", "type": goal.Page, "match": "/pricing"},
		{"name": "Blog", "type": goal.Page, "match": "/blog/*"},
		{"name": "Docs", "type": goal.Page, "match": "/docs/**"},
		{"name": "Signup", "type": goal.Event, "match": "signup"},
		{"name": "Signup pro", "type": goal.Event, "match": "signup", "propertyKey": "plan", "propertyValue": "pro"},
		{"name": "Seats", "type": goal.Event, "match": "signup", "propertyKey": "seats", "propertyValue": "3"},
	}
	for _, rec := range []*core.Record{recA, recB} {
		for _, g := range goals {
			g["website"] = rec.Id
			pbtest.Save(t, app, schema.Goals, g)
		}
	}
	funnelsA, funnelsB := addFunnels(t, app, recA), addFunnels(t, app, recB)
	geoDB, err := geo.Open(geotest.Write(t, "GeoLite2-City", []geotest.Network{
		{CIDR: "81.2.69.0/24", Value: geotest.City("GB", "ENG")},
		{CIDR: "89.160.20.0/24", Value: geotest.City("SE", "E")},
		{CIDR: "216.160.83.0/24", Value: geotest.City("US", "WA")},
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { geoDB.Close() })

	const days = 12
	started := time.Now()
	t0 := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
	clk := &chClock{}
	chTraffic(t, func() *trackedSite { return startTracking(t, localstore.New(app), recA, clk, geoDB) }, clk, t0, days)
	t.Logf("sqlite traffic in %v", time.Since(started))
	var last *chstore.Store
	chTraffic(t, func() *trackedSite {
		last = chstore.New(app, localstore.New(app), ch, chstore.Options{})
		return startTracking(t, last, recB, clk, geoDB)
	}, clk, t0, days)
	if err := last.Ship(chTimeout(t)); err != nil {
		t.Fatal(err)
	}
	t.Logf("traffic sent in %v", time.Since(started))
	// the clock a report is asked at: just after the last visit (active
	// users), not on a whole hour (24h and today read raw rows)
	now := clk.now().Add(time.Minute + 13*time.Second)

	period := func(name, zone string, from, to string) stats.Period {
		t.Helper()
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		p, err := stats.ParsePeriodIn(name, from, to, now, loc)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	month := period("30d", "UTC", "", "")
	report := func(rec *core.Record, p stats.Period, filters []stats.Filter) *stats.Report {
		t.Helper()
		req := stats.Request{Period: p, Filters: filters, Now: now, Top: 5}
		if rec == recB {
			req.ClickHouse = ch
		}
		r, err := stats.Query(chTimeout(t), app, rec.Id, req)
		if err != nil {
			t.Fatalf("%s %v: %v", p.Name, filters, err)
		}
		r.Site = stats.Site{}
		return r
	}

	// a filter on the top key of every dimension of the month, and its
	// negation, besides those the keys cannot give
	base := report(recA, month, nil)
	if base.PageViews.Value < 100 || len(base.Goals) != len(goals) || base.Goals[4].Visitors == 0 || len(base.AutoEvents) != 4 ||
		len(base.PageEngagement) == 0 || base.JSErrors == nil || base.JSErrors.Value == 0 || base.ActiveUsers == 0 {
		t.Fatalf("the traffic does not reach every part of the report: %+v", base)
	}
	var filters [][]stats.Filter
	for _, dim := range stats.FilterDimensions {
		key := ""
		switch dim {
		case "event":
			key = "signup"
		case "goal":
			key = "Blog"
		case "user":
			key = "user-1"
		case "identified":
			key = "yes"
		default:
			if items := base.Top[dim]; len(items) > 0 {
				key = items[len(items)/2].Key
			}
		}
		if key == "" {
			t.Fatalf("no key for %s in %v", dim, base.Top)
		}
		filters = append(filters, []stats.Filter{{Dim: dim, Value: key}}, []stats.Filter{{Dim: dim, Value: key, Not: true}})
	}
	filters = append(filters,
		[]stats.Filter{{Dim: "meta.plan", Value: "pro"}}, []stats.Filter{{Dim: "meta.seats", Value: "2", Not: true}},
		[]stats.Filter{{Dim: "goal", Value: "Signup pro"}}, []stats.Filter{{Dim: "goal", Value: "Docs"}},
		[]stats.Filter{{Dim: "referrer", Value: "Direct"}},
		[]stats.Filter{{Dim: "country", Value: base.Top["country"][0].Key}, {Dim: "page", Value: "/pricing"}},
		[]stats.Filter{{Dim: "device", Value: "mobile", Not: true}, {Dim: "event", Value: "signup"}},
	)
	type request struct {
		p       stats.Period
		filters []stats.Filter
	}
	var reqs []request
	for _, f := range append([][]stats.Filter{nil}, filters...) {
		reqs = append(reqs, request{month, f})
	}
	some := [][]stats.Filter{nil, filters[0], {{Dim: "country", Value: base.Top["country"][0].Key}}, {{Dim: "goal", Value: "Signup"}},
		{{Dim: "identified", Value: "no"}}, filters[len(filters)-1]}
	for _, p := range []stats.Period{
		period("yesterday", "UTC", "", ""), period("7d", "UTC", "", ""), period("today", "UTC", "", ""),
		period("24h", "UTC", "", ""), // not on whole hours
		period("7d", "Asia/Kolkata", "", ""), period("custom", "America/New_York", t0.AddDate(0, 0, 2).Format(time.DateOnly), t0.AddDate(0, 0, 8).Format(time.DateOnly)),
	} {
		for _, f := range some {
			reqs = append(reqs, request{p, f})
		}
	}
	failed := 0
	started = time.Now()
	for _, rq := range reqs {
		want, got := report(recA, rq.p, rq.filters), report(recB, rq.p, rq.filters)
		if !reflect.DeepEqual(got, want) {
			failed++
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			t.Errorf("%s in %s, filters %v:\nclickhouse %s\nsqlite     %s", rq.p.Name, rq.p.Timezone, rq.filters, g, w)
			continue
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s %v: JSON differs:\nclickhouse %s\nsqlite     %s", rq.p.Name, rq.filters, g, w)
		}
	}
	t.Logf("%d of %d reports equal, in %v", len(reqs)-failed, len(reqs), time.Since(started))

	sites := chSites{app: app, ch: ch, a: recA, b: recB, now: now}
	periods := []stats.Period{month, period("7d", "Asia/Kolkata", "", ""), period("24h", "UTC", "", "")}
	sites.compareFunnels(t, funnelsA, funnelsB, periods, some)
	sites.compareBreakdowns(t, periods, some)
	sites.compareSessions(t, periods, some)

	// Goals answers as the reports' goals
	for _, f := range some {
		var out [2][]stats.GoalResult
		for i, rec := range []*core.Record{recA, recB} {
			req := stats.Request{Period: month, Filters: f, Now: now}
			if rec == recB {
				req.ClickHouse = ch
			}
			if out[i], err = stats.Goals(chTimeout(t), app, rec.Id, req); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(out[1], out[0]) {
			t.Errorf("Goals %v: clickhouse %+v, sqlite %+v", f, out[1], out[0])
		}
	}
}
