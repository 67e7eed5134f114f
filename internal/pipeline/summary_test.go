package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/localstore"
)

// expected daily summaries, computed independently from the raw rows
type daySum struct {
	pageViews, visitors, newVisitors, returningVisitors, engaged, bounces, duration, jsErrors int
}

type sumKey struct{ website, date string }
type itemKey struct{ website, date, dim, key string }

func pbDay(t time.Time) string { return t.UTC().Format("2006-01-02") + " 00:00:00.000Z" }

func parsePB(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04:05.000Z", s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func refKey(ref string) string {
	if ref == "" {
		return "Direct"
	}
	host := ref[strings.Index(ref, "://")+3:]
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	return strings.TrimPrefix(host, "www.")
}

func unknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// checkSummaries compares dash_sum and dash_sum_items with counts computed
// from the events, sessions and js_errors rows.
func checkSummaries(t *testing.T, app core.App, when string) {
	t.Helper()
	wantSum := map[sumKey]*daySum{}
	wantItem := map[itemKey]int{}
	sum := func(k sumKey) *daySum {
		if wantSum[k] == nil {
			wantSum[k] = &daySum{}
		}
		return wantSum[k]
	}
	var sessions []struct {
		Website      string `db:"website"`
		StartedAt    string `db:"startedAt"`
		LastActivity string `db:"lastActivity"`
		EntryPath    string `db:"entryPath"`
		ExitPath     string `db:"exitPath"`
		Referrer     string `db:"referrer"`
		Device       string `db:"device"`
		Browser      string `db:"browser"`
		OS           string `db:"os"`
		Language     string `db:"language"`
		Country      string `db:"country"`
		IsNewVisitor bool   `db:"isNewVisitor"`
		IsEngaged    bool   `db:"isEngaged"`
		EventCount   int    `db:"eventCount"`
	}
	err := app.DB().NewQuery(`SELECT website, startedAt, lastActivity, entryPath, exitPath, referrer, device, browser, os,
		language, country, isNewVisitor, isEngaged, eventCount FROM sessions`).All(&sessions)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		start := parsePB(t, s.StartedAt)
		k := sumKey{s.Website, pbDay(start)}
		d := sum(k)
		d.visitors++
		if s.IsNewVisitor {
			d.newVisitors++
		} else {
			d.returningVisitors++
		}
		if s.IsEngaged {
			d.engaged++
		}
		if s.EventCount <= 1 {
			d.bounces++
		}
		d.duration += int(parsePB(t, s.LastActivity).Unix() - start.Unix())
		for dim, key := range map[string]string{"entryPage": s.EntryPath, "exitPage": s.ExitPath, "referrer": refKey(s.Referrer),
			"device": unknown(s.Device), "browser": unknown(s.Browser), "os": unknown(s.OS), "language": unknown(s.Language), "country": unknown(s.Country)} {
			wantItem[itemKey{k.website, k.date, dim, key}]++
		}
	}
	var events []struct {
		Website   string `db:"website"`
		Timestamp string `db:"timestamp"`
		Type      string `db:"type"`
		Path      string `db:"path"`
		EventName string `db:"eventName"`
	}
	if err := app.DB().NewQuery(`SELECT website, timestamp, type, path, eventName FROM events`).All(&events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		k := sumKey{e.Website, pbDay(parsePB(t, e.Timestamp))}
		if e.Type == "pageView" {
			sum(k).pageViews++
			wantItem[itemKey{k.website, k.date, "page", e.Path}]++
		} else {
			wantItem[itemKey{k.website, k.date, "customEvent", e.EventName}]++
		}
	}
	var jsTotal int
	_ = app.DB().NewQuery(`SELECT COALESCE(SUM(count),0) FROM js_errors`).Row(&jsTotal)

	var got []struct {
		Website           string `db:"website"`
		Date              string `db:"date"`
		PageViews         int    `db:"pageViews"`
		Visitors          int    `db:"visitors"`
		NewVisitors       int    `db:"newVisitors"`
		ReturningVisitors int    `db:"returningVisitors"`
		EngagedSessions   int    `db:"engagedSessions"`
		Bounces           int    `db:"bounces"`
		DurationSeconds   int    `db:"durationSeconds"`
		JsErrors          int    `db:"jsErrors"`
	}
	if err := app.DB().NewQuery(`SELECT website, date, pageViews, visitors, newVisitors, returningVisitors, engagedSessions,
		bounces, durationSeconds, jsErrors FROM dash_sum`).All(&got); err != nil {
		t.Fatal(err)
	}
	gotJS := 0
	seen := map[sumKey]bool{}
	for _, g := range got {
		k := sumKey{g.Website, g.Date}
		seen[k] = true
		gotJS += g.JsErrors
		w := sum(k)
		have := daySum{g.PageViews, g.Visitors, g.NewVisitors, g.ReturningVisitors, g.EngagedSessions, g.Bounces, g.DurationSeconds, 0}
		if want := (daySum{w.pageViews, w.visitors, w.newVisitors, w.returningVisitors, w.engaged, w.bounces, w.duration, 0}); have != want {
			t.Errorf("%s: dash_sum %s %s = %+v, raw rows say %+v", when, k.website, k.date, have, want)
		}
	}
	for k, w := range wantSum {
		if !seen[k] && *w != (daySum{}) {
			t.Errorf("%s: no dash_sum row for %v, raw rows say %+v", when, k, *w)
		}
	}
	if gotJS != jsTotal {
		t.Errorf("%s: Σ dash_sum.jsErrors = %d, Σ js_errors.count = %d", when, gotJS, jsTotal)
	}
	var items []struct {
		Website   string `db:"website"`
		Date      string `db:"date"`
		Dimension string `db:"dimension"`
		Key       string `db:"key"`
		Count     int    `db:"count"`
	}
	if err := app.DB().NewQuery(`SELECT website, date, dimension, key, count FROM dash_sum_items`).All(&items); err != nil {
		t.Fatal(err)
	}
	gotItem := map[itemKey]int{}
	jsItems := 0
	for _, it := range items {
		if it.Dimension == "jsError" {
			jsItems += it.Count
			continue
		}
		if it.Count != 0 {
			gotItem[itemKey{it.Website, it.Date, it.Dimension, it.Key}] = it.Count
		}
	}
	for k, w := range wantItem {
		if gotItem[k] != w {
			t.Errorf("%s: dash_sum_items %v = %d, raw rows say %d", when, k, gotItem[k], w)
		}
	}
	for k, g := range gotItem {
		if _, ok := wantItem[k]; !ok {
			t.Errorf("%s: dash_sum_items %v = %d, raw rows have none", when, k, g)
		}
	}
	if jsItems != jsTotal {
		t.Errorf("%s: Σ jsError items = %d, Σ js_errors.count = %d", when, jsItems, jsTotal)
	}
}

// TestSummariesEqualTheRawRowsAfterEveryFlush generates a day of traffic
// across midnight on three websites, written by two instances (each
// visitor served by one, as behind a sticky load balancer), one of them
// restarted midway, and compares the summaries with the raw rows after
// every flush.
func TestSummariesEqualTheRawRowsAfterEveryFlush(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		const events, visitors = 5000, 600
		app := e.app()
		sites := []store.Website{e.site, localstore.WebsiteFromRecord(e.srv.AddWebsite(t, "two.example")), localstore.WebsiteFromRecord(e.srv.AddWebsite(t, "three.example"))}
		clk := &clock{t: time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)}
		start := func() *instance {
			in := e.start(t, pipeline.Config{Now: clk.Now, Batch: true, BatchInterval: time.Hour, MaxBatchSize: 100000})
			for _, s := range sites[1:] {
				_, _ = inSites(in).Put(s)
			}
			return in
		}
		a, b := start(), start()
		rng := rand.New(rand.NewPCG(1, 2))
		paths := []string{"/", "/pricing", "/blog", "/blog/a", "/blog/b", "/docs", "/docs/x", "/signup", "/about", "/contact"}
		langs := []string{"en-GB", "de-DE", "fr", ""}
		flushes := 0
		for i := range events {
			clk.Set(clk.Now().Add(time.Duration(rng.IntN(6000)) * time.Millisecond)) // ~8 h in all: crosses midnight
			v := rng.IntN(visitors)
			site := sites[v%len(sites)]
			in := a
			if v%2 == 1 {
				in = b
			}
			ip := fmt.Sprintf("198.51.%d.%d", v/250, v%250+1)
			host := strings.TrimPrefix(site.Domain, "")
			url := "https://" + host + paths[rng.IntN(len(paths))]
			switch k := rng.IntN(100); {
			case k < 70:
				ref := ""
				if rng.IntN(3) == 0 {
					ref = `,"referrer":"https://www.news.example/a?b=c"`
				}
				in.browseSite(t, ip, chromeUA, fmt.Sprintf(`{"type":"pageView","url":%q,"language":%q%s}`, url, langs[v%4], ref), site)
			case k < 82:
				in.browseSite(t, ip, chromeUA, fmt.Sprintf(`{"type":"custom","name":"cta_%d","url":%q,"customData":{"duration":%d}}`, rng.IntN(4), url, rng.IntN(20)), site)
			case k < 88:
				in.serverSite(t, ip, chromeUA, "/api/hook", fmt.Sprintf("server_%d", rng.IntN(3)), site)
			default:
				in.browseSite(t, ip, chromeUA, fmt.Sprintf(`{"type":"jsError","url":%q,"errorMessage":"E%d","stackTrace":"E\n    at f (https://%s/app.js:1:%d)"}`, url, rng.IntN(5), host, rng.IntN(3)), site)
			}
			if i%500 == 499 {
				for _, in := range []*instance{a, b} {
					flush(t, in.p)
					flushes++
					checkSummaries(t, app, fmt.Sprintf("after flush %d (event %d)", flushes, i+1))
				}
			}
			if i == events/2 { // restart instance a: a new process with an empty cache
				if err := a.p.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				a = start()
			}
		}
		flush(t, a.p)
		flush(t, b.p)
		checkSummaries(t, app, "at the end")
		var days int
		_ = app.DB().NewQuery("SELECT COUNT(DISTINCT date) FROM dash_sum").Row(&days)
		if days < 2 {
			t.Errorf("traffic covered %d day(s); the test must cross midnight", days)
		}
		var nv int
		_ = app.DB().NewQuery("SELECT COUNT(*) FROM visitors").Row(&nv)
		if nv < 500 {
			t.Errorf("visitors = %d, want >= 500", nv)
		}
	})
}

func inSites(in *instance) *pipeline.Sites { return in.sites }

func (in *instance) browseSite(t *testing.T, ip, ua, body string, w store.Website) {
	t.Helper()
	site := in.sites.ByID(w.ID)
	in.track(t, ip, ua, body, site)
}

func (in *instance) serverSite(t *testing.T, ip, ua, path, name string, w store.Website) {
	t.Helper()
	site := in.sites.ByID(w.ID)
	saved := in.site
	in.site = site
	in.server(t, ip, ua, path, name, nil)
	in.site = saved
}

func TestSameJSErrorFromTwoInstancesIsOneRowCountedExactly(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		a, b := e.start(t, pipeline.Config{}), e.start(t, pipeline.Config{})
		body := `{"type":"jsError","url":"https://example.com/app","errorMessage":"Boom","stackTrace":"Error: Boom\n    at f (https://example.com/app.js:1:2)"}`
		var wg sync.WaitGroup
		for _, in := range []*instance{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 500 {
					in.browse(t, fmt.Sprintf("203.0.113.%d", i%200+1), chromeUA, body)
					if i%100 == 99 {
						flush(t, in.p) // interleave the two instances' upserts
					}
				}
			}()
		}
		wg.Wait()
		flush(t, a.p)
		flush(t, b.p)
		var rows []struct {
			Count int `db:"count"`
		}
		if err := e.app().DB().NewQuery("SELECT count FROM js_errors").All(&rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Count != 1000 {
			t.Fatalf("js_errors = %+v; want one row with count 1000", rows)
		}
		checkSummaries(t, e.app(), "after 1000 JS errors")
	})
}

func TestBreakdownKeysAreCappedPerDay(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		clk := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
		in := e.start(t, pipeline.Config{Now: clk.Now, MaxDimensionKeys: 3})
		for i := range 6 {
			in.browse(t, "203.0.113.1", chromeUA, pageView(fmt.Sprintf("/p%d", i)))
		}
		flush(t, in.p)
		if err := in.p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		in = e.start(t, pipeline.Config{Now: clk.Now, MaxDimensionKeys: 3}) // a restart remembers the day's keys
		in.browse(t, "203.0.113.1", chromeUA, pageView("/p7"))
		in.browse(t, "203.0.113.1", chromeUA, pageView("/p0"))
		flush(t, in.p)
		var rows []struct {
			Key   string `db:"key"`
			Count int    `db:"count"`
		}
		if err := e.app().DB().NewQuery("SELECT key, count FROM dash_sum_items WHERE dimension='page' ORDER BY key").All(&rows); err != nil {
			t.Fatal(err)
		}
		want := "(other)=4 /p0=2 /p1=1 /p2=1"
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%s=%d", r.Key, r.Count))
		}
		if strings.Join(got, " ") != want {
			t.Errorf("page breakdown = %v, want %s", got, want)
		}
	})
}
