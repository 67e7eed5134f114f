package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testclock"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/summarytest"
)

// checkSummaries compares dash_sum and dash_sum_items with counts
// computed from the events, sessions and js_errors rows.
func checkSummaries(t *testing.T, app core.App, when string) {
	t.Helper()
	summarytest.Check(t, app.DB(), when)
}

// TestSummariesEqualTheRawRowsAfterEveryFlush generates a day of traffic
// across midnight on three websites, written by two instances (each
// visitor served by one, as behind a sticky load balancer), one of them
// restarted midway, and compares the summaries with the raw rows after
// every flush.
func TestSummariesEqualTheRawRowsAfterEveryFlush(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		events, visitors, flushEvery := 5000, 600, 500
		start := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
		if raceEnabled { // less traffic, starting later: it still crosses midnight
			events, visitors, start = 900, 300, time.Date(2026, 11, 25, 23, 25, 0, 0, time.UTC)
			flushEvery = 300 // still three flush rounds before the last
		}
		app := e.app()
		sites := []store.Website{e.site, localstore.WebsiteFromRecord(e.srv.AddWebsite(t, "two.example")), localstore.WebsiteFromRecord(e.srv.AddWebsite(t, "three.example"))}
		clk := testclock.New(start)
		startInstance := func() *instance {
			in := e.start(t, pipeline.Config{Now: clk.Now, Batch: true, BatchInterval: time.Hour, MaxBatchSize: 100000})
			for _, s := range sites[1:] {
				_, _ = inSites(in).Put(s)
			}
			return in
		}
		a, b := startInstance(), startInstance()
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
			if i%flushEvery == flushEvery-1 {
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
				a = startInstance()
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
		if nv < visitors*5/6 { // most of the pool came, so sessions and returns mix
			t.Errorf("visitors = %d, want >= %d", nv, visitors*5/6)
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
		clk := testclock.New(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
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

// TestSessionDurationIsRoundedOncePerSession: a session's duration is its
// elapsed milliseconds rounded to the nearest second (half up), whatever
// the sub-second time it started at; the day's durationSeconds is the sum
// of those, and the stats API's raw-row path (today) gives the same sum.
func TestSessionDurationIsRoundedOncePerSession(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, "local", func(t *testing.T, e *env) {
		base := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
		clk := testclock.New(base)
		in := e.start(t, pipeline.Config{Now: clk.Now, Batch: true, BatchInterval: time.Hour, MaxBatchSize: 100000})
		want := 0
		for i, tc := range []struct {
			offset, length time.Duration
			seconds        int
		}{
			// 1.646 s counted as 2, 1 and 2 by the clock-second difference
			{0, 1646 * time.Millisecond, 2},
			{400 * time.Millisecond, 1646 * time.Millisecond, 2},
			{999 * time.Millisecond, 1646 * time.Millisecond, 2},
			{700 * time.Millisecond, 1600 * time.Millisecond, 2},
			{100 * time.Millisecond, 1499 * time.Millisecond, 1},
			{600 * time.Millisecond, 1500 * time.Millisecond, 2}, // half up
			{900 * time.Millisecond, 499 * time.Millisecond, 0},
			{300 * time.Millisecond, 0, 0}, // one event
		} {
			ip := fmt.Sprintf("198.51.100.%d", i+1)
			start := base.Add(time.Duration(i)*time.Minute + tc.offset)
			clk.Set(start)
			in.browse(t, ip, chromeUA, pageView("/a"))
			if tc.length > 0 {
				clk.Set(start.Add(tc.length))
				in.browse(t, ip, chromeUA, pageView("/b"))
			}
			want += tc.seconds
			if got := pipeline.Seconds(tc.length); got != tc.seconds {
				t.Errorf("Seconds(%v) = %d, want %d", tc.length, got, tc.seconds)
			}
		}
		flush(t, in.p)
		app := e.app()
		var stored int
		if err := app.DB().NewQuery("SELECT durationSeconds FROM dash_sum").Row(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != want {
			t.Errorf("durationSeconds = %d, want %d (each session rounded once)", stored, want)
		}
		checkSummaries(t, app, "durations")

		// the stats API's raw-row path: four 1.646 s sessions starting early
		// in their second (each counted 1 by the clock-second difference)
		// average 2 s
		w := localstore.WebsiteFromRecord(e.srv.AddWebsite(t, "two.example"))
		_, _ = inSites(in).Put(w)
		for i := range 4 {
			ip := fmt.Sprintf("198.51.100.%d", 50+i)
			start := base.Add(time.Duration(20+i)*time.Minute + time.Duration(i)*100*time.Millisecond)
			clk.Set(start)
			in.browseSite(t, ip, chromeUA, `{"type":"pageView","url":"https://two.example/a"}`, w)
			clk.Set(start.Add(1646 * time.Millisecond))
			in.browseSite(t, ip, chromeUA, `{"type":"pageView","url":"https://two.example/b"}`, w)
		}
		flush(t, in.p)
		now := base.Add(time.Hour)
		p, err := stats.ParsePeriod("today", "", "", now)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := stats.Query(context.Background(), app, w.ID, stats.Request{Period: p, Top: 10, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.AvgDuration.Value; got != 2 {
			t.Errorf("stats (raw rows) average duration %v, want 2", got)
		}
	})
}
