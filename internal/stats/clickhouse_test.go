package stats_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/chtest/twin"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// chServer is the ClickHouse of this test binary, started by the first
// test that asks for a database (TestMain closes it).
var chServer chtest.Server

func chTimeout(t testing.TB) context.Context { return twin.Timeout(t) }

// chPeriod is the period name (from and to for a custom one) at now in
// the time zone zone.
func chPeriod(t testing.TB, now time.Time, name, zone, from, to string) stats.Period {
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
	goals := []map[string]any{
		{"name": "Pricing", "type": goal.Page, "match": "/pricing"},
		{"name": "Blog", "type": goal.Page, "match": "/blog/*"},
		{"name": "Docs", "type": goal.Page, "match": "/docs/**"},
		{"name": "Signup", "type": goal.Event, "match": "signup"},
		{"name": "Signup pro", "type": goal.Event, "match": "signup", "propertyKey": "plan", "propertyValue": "pro"},
		{"name": "Seats", "type": goal.Event, "match": "signup", "propertyKey": "seats", "propertyValue": "3"},
	}
	funnels := map[string][]string{}
	const days = 12
	started := time.Now()
	pair := twin.Send(t, srv, ch, days, func(t testing.TB, app core.App, rec *core.Record) {
		for _, g := range goals {
			g["website"] = rec.Id
			pbtest.Save(t, app, schema.Goals, g)
		}
		funnels[rec.Id] = addFunnels(t, app, rec)
	})
	recA, recB := pair.SQLite, pair.ClickHouse
	funnelsA, funnelsB := funnels[recA.Id], funnels[recB.Id]
	t0 := pair.T0
	t.Logf("traffic sent in %v", time.Since(started))
	// the clock a report is asked at: just after the last visit (active
	// users), not on a whole hour (24h and today read raw rows)
	now := pair.Now
	var err error

	period := func(name, zone string, from, to string) stats.Period { return chPeriod(t, now, name, zone, from, to) }
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
