package chstats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/chstats"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/testwait"
)

var server chtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	server.Close()
	os.Exit(code)
}

func timeout(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	t.Cleanup(cancel)
	return ctx
}

// createTables creates the store's tables in db's database.
func createTables(t testing.TB, db *clickhouse.Client) {
	t.Helper()
	for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: db.Database()}) {
		if err := db.Exec(timeout(t), stmt); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}
}

// session is the latest version of a session, as the oracle reads it.
type session struct {
	id, website                                 string
	country, state, device, browser, os, lang   string
	referrer, entry, exit, channel, source, utm string
	isNew                                       bool
	startedAt, lastActivity                     int64
	eventCount                                  int
}

type event struct {
	session, website, typ, path string
	ts                          int64
}

// dataSet builds a small deterministic store: sessions of two websites
// around [prevFrom, to), each written twice (a first version at its
// first event, the latest at its last: other country, entry, start and
// counts for some), and their events; one session starts before from
// with its only /a page view after it.
func dataSet(prevFrom, from, to time.Time) ([]session, []event, []map[string]any, []map[string]any) {
	r := rand.New(rand.NewPCG(31, 5))
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	paths := []string{"/", "/a", "/b", "/c", "/d"}
	span := to.Sub(prevFrom).Milliseconds() + 12*3600*1000
	var (
		latest   []session
		events   []event
		firsts   []map[string]any
		versions []map[string]any
	)
	for i := range 60 {
		s := session{
			id: fmt.Sprintf("s%02d", i), website: "site",
			country: pick("DE", "FR", "US", ""), state: pick("BY", "BE", ""), device: pick("desktop", "mobile", ""),
			browser: pick("Firefox", "Chrome", ""), os: pick("Linux", "Android", ""), lang: pick("de", "en", ""),
			referrer: pick("", "https://www.google.com/search?q=x", "https://google.com/", "https://news.ycombinator.com/item"),
			channel:  pick("Direct", "Organic Search", ""), source: pick("Google", "HN", ""),
			utm:   pick("", `{"utm_source":"newsletter","utm_medium":"email"}`, `{"utm_source":"x\"y","utm_campaign":"spring"}`),
			isNew: r.IntN(2) == 0,
		}
		if i%7 == 6 {
			s.website = "other"
		}
		s.startedAt = prevFrom.UnixMilli() - 6*3600*1000 + r.Int64N(span)
		n := 1 + r.IntN(9)
		ts := s.startedAt
		for k := range n {
			if k > 0 {
				ts += r.Int64N(40 * 60 * 1000) // across window edges for some
			}
			typ := "pageView"
			if k > 0 && r.IntN(5) == 0 {
				typ = "custom"
			}
			e := event{session: s.id, website: s.website, typ: typ, path: pick(paths...), ts: ts}
			if k == 0 {
				s.entry = e.path
			}
			s.exit = e.path
			events = append(events, e)
		}
		s.lastActivity, s.eventCount = ts, n
		latest = append(latest, s)
		// the first version: another country for some, the start of a
		// session whose first event came late (written second) for others
		first := s
		first.lastActivity, first.eventCount, first.exit = s.startedAt, 1, s.entry
		if i%3 == 0 {
			first.country = pick("FR", "DE", "US", "")
		}
		if i%4 == 1 && n > 1 {
			first.startedAt = events[len(events)-n+1].ts
			first.entry = events[len(events)-n+1].path
		}
		firsts = append(firsts, sessionRow(first, 1))
		versions = append(versions, sessionRow(s, 2))
	}
	edge := session{id: "edge", website: "site", country: "DE", entry: "/d", exit: "/a", eventCount: 2,
		startedAt: from.UnixMilli() - 10*60*1000, lastActivity: from.UnixMilli() + 10*60*1000}
	latest = append(latest, edge)
	events = append(events, event{session: "edge", website: "site", typ: "pageView", path: "/d", ts: edge.startedAt},
		event{session: "edge", website: "site", typ: "pageView", path: "/a", ts: edge.lastActivity})
	firsts = append(firsts, sessionRow(edge, 1))
	versions = append(versions, sessionRow(edge, 2))
	// a page view of a session never written counts without session filters
	events = append(events, event{session: "ghost", website: "site", typ: "pageView", path: "/a", ts: prevFrom.UnixMilli() + span/2})
	return latest, events, firsts, versions
}

func sessionRow(s session, version uint64) map[string]any {
	return map[string]any{"id": s.id, "website": s.website, "country": s.country, "state": s.state, "device": s.device,
		"browser": s.browser, "os": s.os, "language": s.lang, "referrer": s.referrer, "entryPath": s.entry,
		"exitPath": s.exit, "channel": s.channel, "source": s.source, "utm": s.utm, "isNewVisitor": s.isNew,
		"startedAt": s.startedAt, "lastActivity": s.lastActivity, "eventCount": s.eventCount,
		"created": s.startedAt, "version": version}
}

// oracle computes the report from the latest versions in plain Go.
type oracle struct {
	sessions map[string]session
	events   []event
	loc      *time.Location
}

func (o oracle) dimValue(s session, dim string) string {
	v := map[string]string{"country": s.country, "region": s.state, "device": s.device, "browser": s.browser,
		"os": s.os, "language": s.lang, "referrer": s.referrer, "entryPage": s.entry, "exitPage": s.exit,
		"channel": s.channel, "source": s.source}[dim]
	if strings.HasPrefix(dim, "utm_") {
		var utm map[string]string
		json.Unmarshal([]byte(s.utm), &utm) // "" is no campaign
		v = utm[dim]
	}
	return v
}

func (o oracle) sessMatch(s session, filters []chstats.Filter) bool {
	for _, f := range filters {
		if f.Dim == "page" {
			continue
		}
		v := o.dimValue(s, f.Dim)
		if v == "" && f.Dim != "entryPage" && f.Dim != "exitPage" && f.Dim != "referrer" && !strings.HasPrefix(f.Dim, "utm_") {
			v = "Unknown"
		}
		if (v == f.Value) == f.Not {
			return false
		}
	}
	return true
}

func evMatch(e event, filters []chstats.Filter) bool {
	for _, f := range filters {
		if f.Dim == "page" && (e.path == f.Value) == f.Not {
			return false
		}
	}
	return true
}

func hasSessFilter(filters []chstats.Filter) bool {
	for _, f := range filters {
		if f.Dim != "page" {
			return true
		}
	}
	return false
}

func hasEvFilter(filters []chstats.Filter) bool {
	for _, f := range filters {
		if f.Dim == "page" {
			return true
		}
	}
	return false
}

// counted lists the page views and the sessions of [from, to) that count.
func (o oracle) counted(from, to time.Time, filters []chstats.Filter) ([]event, []session) {
	a, b := from.UnixMilli(), to.UnixMilli()
	var pvs []event
	matched := map[string]bool{} // sessions with a selected event in the window
	for _, e := range o.events {
		if e.website != "site" || e.ts < a || e.ts >= b || !evMatch(e, filters) {
			continue
		}
		if hasSessFilter(filters) {
			s, ok := o.sessions[e.session]
			if !ok || !o.sessMatch(s, filters) {
				continue
			}
		}
		matched[e.session] = true
		if e.typ == "pageView" {
			pvs = append(pvs, e)
		}
	}
	var ss []session
	for _, s := range o.sessions {
		if s.website == "site" && s.startedAt >= a && s.startedAt < b && o.sessMatch(s, filters) &&
			(!hasEvFilter(filters) || matched[s.id]) {
			ss = append(ss, s)
		}
	}
	return pvs, ss
}

func totals(pvs []event, ss []session) chstats.Totals {
	t := chstats.Totals{PageViews: uint64(len(pvs)), Visitors: uint64(len(ss))}
	for _, s := range ss {
		if s.isNew {
			t.NewVisitors++
		}
		if s.eventCount <= 1 {
			t.Bounces++
		}
		t.Duration += uint64(max(0, s.lastActivity-s.startedAt+500) / 1000)
	}
	return t
}

func (o oracle) report(from, to time.Time, filters []chstats.Filter) *chstats.Result {
	pvs, ss := o.counted(from, to, filters)
	res := &chstats.Result{Totals: totals(pvs, ss), Top: map[string][]chstats.Item{}}
	res.Previous = totals(o.counted(from.Add(-to.Sub(from)), from, filters))
	day := func(ms int64) time.Time {
		t := time.UnixMilli(ms).In(o.loc)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, o.loc)
	}
	index := map[time.Time]int{}
	for d := day(from.UnixMilli()); d.Before(to); d = d.AddDate(0, 0, 1) {
		index[d] = len(res.Series)
		res.Series = append(res.Series, chstats.Point{Day: d})
	}
	pages := map[string]uint64{}
	for _, e := range pvs {
		res.Series[index[day(e.ts)]].PageViews++
		pages[e.path]++
	}
	res.Top["page"] = rank(pages)
	for _, s := range ss {
		res.Series[index[day(s.startedAt)]].Visitors++
	}
	for _, dim := range []string{"entryPage", "exitPage", "referrer", "device", "browser", "os", "language", "country",
		"region", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "channel", "source"} {
		c := map[string]uint64{}
		for _, s := range ss {
			v := o.dimValue(s, dim)
			switch {
			case dim == "referrer":
				v = domain.ReferrerKey(v)
			case strings.HasPrefix(dim, "utm_"):
				if v == "" {
					continue
				}
			case v == "" && dim != "entryPage" && dim != "exitPage":
				v = "Unknown"
			}
			c[v]++
		}
		res.Top[dim] = rank(c)
	}
	return res
}

func rank(c map[string]uint64) []chstats.Item {
	items := []chstats.Item{}
	for k, n := range c {
		items = append(items, chstats.Item{Key: k, Count: n})
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].Count != items[j].Count {
			return items[i].Count > items[j].Count
		}
		return items[i].Key < items[j].Key
	})
	return items[:min(chstats.TopN, len(items))]
}

func TestReportEqualsTheRowsLatestVersions(t *testing.T) {
	db := server.Database(t)
	createTables(t, db)
	loc := time.FixedZone("UTC+2", 2*3600)
	from := time.Date(2026, 3, 10, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 3)
	latest, events, firsts, versions := dataSet(from.Add(-to.Sub(from)), from, to)
	ctx := timeout(t)
	// the latest versions first for half of the sessions: the version,
	// not the order of writes, decides
	if err := db.Insert(ctx, "sessions", append(versions[:30:30], firsts[30:]...)); err != nil {
		t.Fatal(err)
	}
	if err := db.Insert(ctx, "sessions", append(firsts[:30:30], versions[30:]...)); err != nil {
		t.Fatal(err)
	}
	var evRows []map[string]any
	for i, e := range events {
		evRows = append(evRows, map[string]any{"id": fmt.Sprintf("e%03d", i), "session": e.session, "website": e.website,
			"type": e.typ, "path": e.path, "timestamp": e.ts})
	}
	if err := db.Insert(ctx, "events", evRows); err != nil {
		t.Fatal(err)
	}
	o := oracle{sessions: map[string]session{}, events: events, loc: loc}
	for _, s := range latest {
		o.sessions[s.id] = s
	}
	for _, filters := range [][]chstats.Filter{
		nil,
		{{Dim: "country", Value: "DE"}},
		{{Dim: "country", Value: "DE", Not: true}},
		{{Dim: "page", Value: "/a"}},
		{{Dim: "country", Value: "DE"}, {Dim: "page", Value: "/b"}},
		{{Dim: "region", Value: "Unknown"}},
		{{Dim: "utm_source", Value: `x"y`}},
		{{Dim: "entryPage", Value: "/c"}, {Dim: "page", Value: "/", Not: true}},
	} {
		t.Run(fmt.Sprint(filters), func(t *testing.T) {
			got, err := chstats.Report(timeout(t), db, "site", from, to, loc, filters)
			if err != nil {
				t.Fatal(err)
			}
			want := o.report(from, to, filters)
			if want.Visitors == 0 || want.PageViews == 0 || want.Previous.Visitors == 0 {
				t.Fatalf("the data set leaves the case empty: %+v", want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
	// the first versions would count otherwise: the case is not vacuous
	firstCountry := map[string]string{}
	for _, r := range firsts {
		firstCountry[r["id"].(string)] = r["country"].(string)
	}
	changed := 0
	for _, s := range latest {
		if firstCountry[s.id] != s.country && s.website == "site" && s.startedAt >= from.UnixMilli() && s.startedAt < to.UnixMilli() {
			changed++
		}
	}
	if changed == 0 {
		t.Error("no session of the window changed its country between versions")
	}
}

func TestReportRefusesUnknownDimensionsAndWindows(t *testing.T) {
	db := server.Database(t)
	from := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	if _, err := chstats.Report(timeout(t), db, "site", from, from.AddDate(0, 0, 1), time.UTC,
		[]chstats.Filter{{Dim: "colour", Value: "red"}}); err == nil {
		t.Error("an unknown dimension was accepted")
	}
	if _, err := chstats.Report(timeout(t), db, "site", from.Add(time.Minute), from.AddDate(0, 0, 1), time.UTC, nil); err == nil {
		t.Error("a window off the quarter hours was accepted")
	}
}
