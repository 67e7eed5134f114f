package hourly_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testclock"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/hourly"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/summarytest"
)

const (
	chromeUA  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	iphoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

// writer is a pipeline writing into app with a settable clock, as the
// embedded server's.
type writer struct {
	p     *pipeline.Pipeline
	clk   *testclock.Clock
	sites []*pipeline.Site
}

func newWriter(t testing.TB, app core.App, websites []store.Website, maxKeys, queue int, at time.Time) *writer {
	t.Helper()
	w := &writer{clk: testclock.New(at)}
	sites := pipeline.NewSites()
	for _, ws := range websites {
		s, err := sites.Put(ws)
		if err != nil {
			t.Fatal(err)
		}
		w.sites = append(w.sites, s)
	}
	p, err := pipeline.New(pipeline.Config{Store: localstore.New(app), Sites: sites, Now: w.clk.Now, Batch: true,
		BatchInterval: time.Hour, MaxBatchSize: 5000, QueueSize: queue + 1, MaxDimensionKeys: maxKeys, RateLimit: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
	return w
}

func (w *writer) browse(t testing.TB, site int, ip, ua, body string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = ip + ":50000"
	browsertest.Headers(r.Header, ua)
	s := w.sites[site]
	if err := w.p.TrackBrowser(r, []byte(body), func(string) *pipeline.Site { return s }); err != nil {
		t.Fatalf("TrackBrowser(%s): %v", body, err)
	}
}

func (w *writer) server(t testing.TB, site int, ip, ua, name string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/hook", nil)
	r.RemoteAddr = ip + ":50000"
	r.Header.Set("User-Agent", ua)
	s := w.sites[site]
	if err := w.p.TrackServer(r, s.TrackingID, s, name, nil, pipeline.Purchase{}); err != nil {
		t.Fatalf("TrackServer: %v", err)
	}
}

func (w *writer) flush(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := w.p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func (w *writer) close(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := w.p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// generate writes n events of traffic on the websites through the
// pipeline, from start over span: visitors in overlapping waves (sessions
// of one to a dozen events, some crossing hours and UTC midnights), some
// coming back, with referrers, languages, campaigns, custom and server
// events and JS errors.
func generate(t testing.TB, app core.App, websites []store.Website, n int, start time.Time, span time.Duration, maxKeys int, seed uint64) {
	t.Helper()
	w := newWriter(t, app, websites, maxKeys, n, start)
	rng := rand.New(rand.NewPCG(seed, 7))
	step := 2 * span / time.Duration(n)
	paths := make([]string, 30)
	for i := range paths {
		paths[i] = fmt.Sprintf("/p/%d", i)
	}
	paths[0] = "/"
	langs := []string{"en-GB", "de-DE", "fr", ""}
	uas := []string{chromeUA, iphoneUA, firefoxUA}
	refs := []string{"", "", "https://www.news.example/a?b=c", "https://search.example/?q=x", "android-app://com.x"}
	utms := []string{"", "", "", "?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
		"?utm_source=ads&utm_campaign=winter", "?utm_source=social&utm_medium=cpc"}
	for i := range n {
		w.clk.Set(w.clk.Now().Add(time.Duration(rng.Int64N(int64(step/time.Millisecond))) * time.Millisecond))
		v := i/4 + rng.IntN(6) // a wave of ~24 events around visitor i/4
		if rng.IntN(10) == 0 && v > 50 {
			v = rng.IntN(v) // a visitor coming back
		}
		site := v % len(websites)
		ip := fmt.Sprintf("10.%d.%d.%d", v/62500, v/250%250, v%250+1)
		ua := uas[v%len(uas)]
		host := websites[site].Domain
		url := "https://" + host + paths[(v+rng.IntN(6))%len(paths)] + utms[rng.IntN(len(utms))]
		switch k := rng.IntN(100); {
		case k < 75:
			ref := refs[rng.IntN(len(refs))]
			w.browse(t, site, ip, ua, fmt.Sprintf(`{"type":"pageView","url":%q,"referrer":%q,"language":%q,"screenWidth":1280,"screenHeight":720}`,
				url, ref, langs[v%len(langs)]))
		case k < 88:
			w.browse(t, site, ip, ua, fmt.Sprintf(`{"type":"custom","name":"cta_%d","url":%q,"customData":{"duration":%d}}`, rng.IntN(5), url, rng.IntN(20)))
		case k < 93:
			w.server(t, site, ip, ua, fmt.Sprintf("server_%d", rng.IntN(3)))
		default:
			w.browse(t, site, ip, ua, fmt.Sprintf(`{"type":"jsError","url":%q,"errorMessage":"E%d","stackTrace":"E\n    at f (https://%s/app.js:1:%d)"}`,
				url, rng.IntN(4), host, rng.IntN(3)))
		}
		if i%5000 == 4999 {
			w.flush(t)
		}
	}
	w.close(t)
}

// rows returns every column of every summary row, by table and id.
func rows(t testing.TB, db dbx.Builder) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range []string{"dash_sum", "dash_sum_items"} {
		var rs []dbx.NullStringMap
		if err := db.Select("*").From(table).All(&rs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			cols := make([]string, 0, len(r))
			for c := range r {
				cols = append(cols, c)
			}
			sort.Strings(cols)
			var b strings.Builder
			for _, c := range cols {
				fmt.Fprintf(&b, "%s=%s ", c, r[c].String)
			}
			out[table+"/"+r["id"].String] = b.String()
		}
	}
	return out
}

// counts returns the summaries the raw rows determine, by table and id:
// the dash_sum counters but jsErrors and the breakdown counts but
// jsError ones, leaving out rows that count nothing.
func counts(t testing.TB, db dbx.Builder) map[string]string {
	t.Helper()
	out := map[string]string{}
	var sums []struct {
		ID       string `db:"id"`
		Website  string `db:"website"`
		Date     string `db:"date"`
		Counters string `db:"counters"`
	}
	err := db.NewQuery(`SELECT id, website, date, pageViews || ' ' || visitors || ' ' || newVisitors || ' ' || returningVisitors
		|| ' ' || engagedSessions || ' ' || bounces || ' ' || durationSeconds AS counters FROM dash_sum`).All(&sums)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sums {
		if s.Counters != "0 0 0 0 0 0 0" {
			out["dash_sum/"+s.ID] = fmt.Sprintf("website=%s date=%s %s", s.Website, s.Date, s.Counters)
		}
	}
	var items []struct {
		ID        string `db:"id"`
		Website   string `db:"website"`
		Date      string `db:"date"`
		Dimension string `db:"dimension"`
		Key       string `db:"key"`
		Count     int    `db:"count"`
	}
	err = db.NewQuery(`SELECT id, website, date, dimension, key, count FROM dash_sum_items WHERE dimension != 'jsError' AND count != 0`).All(&items)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		out["dash_sum_items/"+it.ID] = fmt.Sprintf("website=%s date=%s %s %q %d", it.Website, it.Date, it.Dimension, it.Key, it.Count)
	}
	return out
}

// jsErrorRows returns what the migration must not move: the jsErrors
// per website-day and the jsError breakdown rows.
func jsErrorRows(t testing.TB, db dbx.Builder) map[string]string {
	t.Helper()
	out := map[string]string{}
	var days []struct {
		Website string `db:"website"`
		Day     string `db:"day"`
		N       int    `db:"n"`
	}
	if err := db.NewQuery(`SELECT website, substr(date, 1, 10) AS day, SUM(jsErrors) AS n FROM dash_sum GROUP BY website, day`).All(&days); err != nil {
		t.Fatal(err)
	}
	for _, d := range days {
		out[d.Website+"/"+d.Day] = strconv.Itoa(d.N)
	}
	for k, v := range rows(t, db) {
		if strings.Contains(v, "dimension=jsError ") {
			out[k] = v
		}
	}
	return out
}

func diff(t testing.TB, when string, got, want map[string]string, keep func(k, v string) bool) {
	t.Helper()
	n := 0
	for k, w := range want {
		if keep != nil && !keep(k, w) {
			continue
		}
		if g := got[k]; g != w && n < 10 {
			t.Errorf("%s: %s = %q, want %q", when, k, g, w)
			n++
		}
	}
	for k, g := range got {
		if keep != nil && !keep(k, g) {
			continue
		}
		if _, ok := want[k]; !ok && n < 10 {
			t.Errorf("%s: %s = %q, want no such row", when, k, g)
			n++
		}
	}
}

func migrate(t testing.TB, app core.App, maxKeys int) map[string]*hourly.Result {
	t.Helper()
	res, err := hourly.Migrate(app, maxKeys)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return res
}

// total adds up the websites' results; its KeptDays are "website/day".
func total(res map[string]*hourly.Result) (r hourly.Result) {
	for w, x := range res {
		r.Rebuilt += x.Rebuilt
		r.Unchanged += x.Unchanged
		r.Kept += x.Kept
		for _, d := range x.KeptDays {
			r.KeptDays = append(r.KeptDays, w+"/"+d)
		}
	}
	slices.Sort(r.KeptDays)
	return r
}

var (
	day1 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	day2 = day1.AddDate(0, 0, 1)
)

func TestMigrateMakesDailySummariesHourly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		maxKeys  int  // the pipeline's and the migration's key cap
		daily    bool // collapse the pipeline's hourly rows into daily ones first
		mutate   func(t *testing.T, app core.App, websites []store.Website)
		wantKept []string // the first website's days
	}{
		{name: "daily rows become hourly", daily: true},
		{name: "days with capped breakdowns keep their keys", maxKeys: 4, daily: true},
		{name: "days that do not match their raw rows stay daily", daily: true, wantKept: []string{"2026-11-21", "2026-11-22"},
			mutate: func(t *testing.T, app core.App, websites []store.Website) {
				// raw rows partly deleted on day 2
				_, err := app.DB().NewQuery(`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE website = {:w}
					AND timestamp >= '2026-11-21 10:00:00.000Z' AND timestamp < '2026-11-22' AND type = 'pageView' ORDER BY id LIMIT 3)`).
					Bind(dbx.Params{"w": websites[0].ID}).Execute()
				if err != nil {
					t.Fatal(err)
				}
				// a row the pipeline did not write (its id is not derived)
				// on day 3
				_, err = app.DB().Insert("dash_sum_items", dbx.Params{"id": pipeline.NewID(), "website": websites[0].ID,
					"date": "2026-11-22 00:00:00.000Z", "dimension": "page", "key": "/by-hand", "count": 0,
					"created": "2026-11-22 00:00:00.000Z", "updated": "2026-11-22 00:00:00.000Z"}).Execute()
				if err != nil {
					t.Fatal(err)
				}
			}},
		{name: "hourly rows are left as they are"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := pbtest.Start(t, pbtest.Options{})
			app := srv.App()
			websites := []store.Website{localstore.WebsiteFromRecord(srv.AddWebsite(t, "one.example")),
				localstore.WebsiteFromRecord(srv.AddWebsite(t, "two.example"))}
			maxKeys := c.maxKeys
			if maxKeys == 0 {
				maxKeys = pipeline.DefaultMaxDimensionKeys
			}
			// from 21:00 on day 1 to about 05:00 on day 4 (05:00 on day 3
			// under the race detector)
			events, span := 1600, 56*time.Hour
			if raceEnabled {
				events, span = 500, 32*time.Hour
			}
			generate(t, app, websites, events, day1.Add(21*time.Hour), span, maxKeys, 1)
			if c.maxKeys == 0 {
				summarytest.Check(t, app.DB(), "the pipeline's hourly rows")
			}
			want := counts(t, app.DB()) // the pipeline's own hourly rows
			if c.daily {
				summarytest.CollapseToDaily(t, app)
				var n int
				_ = app.DB().NewQuery("SELECT COUNT(*) FROM dash_sum WHERE date NOT LIKE '% 00:00:00.000Z'").Row(&n)
				if n != 0 {
					t.Fatalf("%d dash_sum rows left hourly", n)
				}
			}
			if c.mutate != nil {
				c.mutate(t, app, websites)
			}
			before := rows(t, app.DB())
			jsBefore := jsErrorRows(t, app.DB())
			var days int
			_ = app.DB().NewQuery("SELECT COUNT(DISTINCT website || substr(date, 1, 10)) FROM dash_sum").Row(&days)

			var wantKept []string
			for _, d := range c.wantKept {
				wantKept = append(wantKept, websites[0].ID+"/"+d)
			}
			res := total(migrate(t, app, maxKeys))
			after := rows(t, app.DB())
			if !slices.Equal(res.KeptDays, wantKept) {
				t.Errorf("kept days %v, want %v", res.KeptDays, wantKept)
			}
			wantRebuilt := days - res.Kept
			if !c.daily {
				wantRebuilt = 0 // nothing to do
			}
			if res.Rebuilt != wantRebuilt || res.Rebuilt+res.Unchanged+res.Kept != days {
				t.Errorf("result %+v, want %d rebuilt of %d website-days", res, wantRebuilt, days)
			}
			kept := func(_, v string) bool {
				for _, d := range c.wantKept {
					if strings.Contains(v, "website="+websites[0].ID+" ") && strings.Contains(v, "date="+d+" ") {
						return true
					}
				}
				return false
			}
			// kept days: not a byte changed; the others: the hourly rows
			// the pipeline wrote, ids included
			diff(t, "kept day", after, before, kept)
			// channel and source have more keys than a capped day keeps,
			// and the daily rows never had them: the migration caps them
			// most counted first, the pipeline in arrival order
			capped := func(v string) bool {
				return c.maxKeys != 0 && (strings.Contains(v, ` channel "`) || strings.Contains(v, ` source "`))
			}
			diff(t, "rebuilt day", counts(t, app.DB()), want, func(k, v string) bool { return !kept(k, v) && !capped(v) })
			diff(t, "JS errors", jsErrorRows(t, app.DB()), jsBefore, nil)
			if c.daily {
				var n int
				_ = app.DB().NewQuery("SELECT COUNT(*) FROM dash_sum WHERE jsErrors != 0 AND date NOT LIKE '% 00:00:00.000Z'").Row(&n)
				if n != 0 {
					t.Errorf("%d dash_sum rows off hour 0 count JS errors", n)
				}
			}
			if !c.daily {
				diff(t, "hourly data", after, before, nil)
			}
			if c.maxKeys == 0 && c.wantKept == nil {
				summarytest.Check(t, app.DB(), "after the migration")
			}
			if c.maxKeys != 0 {
				var other int
				_ = app.DB().NewQuery("SELECT COUNT(*) FROM dash_sum_items WHERE key = '(other)' AND count > 0").Row(&other)
				if other == 0 {
					t.Errorf("no (other) rows: the cap did not apply")
				}
			}

			// a second run changes nothing
			again := total(migrate(t, app, maxKeys))
			if again.Rebuilt != 0 || !slices.Equal(again.KeptDays, wantKept) {
				t.Errorf("second run: %+v", again)
			}
			diff(t, "second run", rows(t, app.DB()), after, nil)

			// the pipeline goes on writing into the migrated hours
			at := day2.Add(13*time.Hour + 30*time.Minute)
			pvBefore := hourPageViews(t, app, websites[0].ID, at)
			w := newWriter(t, app, websites, maxKeys, 10, at)
			w.browse(t, 0, "192.0.2.1", chromeUA, `{"type":"pageView","url":"https://one.example/after"}`)
			w.close(t)
			if got := hourPageViews(t, app, websites[0].ID, at); got != pvBefore+1 {
				t.Errorf("after a page view at %v: its hour counts %d page views, want %d", at, got, pvBefore+1)
			}
			if c.maxKeys == 0 && c.wantKept == nil {
				summarytest.Check(t, app.DB(), "after the pipeline wrote on")
			}
		})
	}
}

// hourPageViews reads the page views of a website's hour from the row the
// pipeline's derived id names.
func hourPageViews(t *testing.T, app core.App, website string, at time.Time) int {
	t.Helper()
	var n int
	err := app.DB().NewQuery("SELECT pageViews FROM dash_sum WHERE id = {:id}").
		Bind(dbx.Params{"id": pipeline.SumID(website, at.Truncate(time.Hour))}).Row(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("the hour %v's row: %v", at, err)
	}
	return n
}

func TestMigrateOnAFreshInstallDoesNothing(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	srv.AddWebsite(t, "one.example")
	if res := migrate(t, srv.App(), 0); len(res) != 0 {
		t.Errorf("result %v, want none", res)
	}
	if r := rows(t, srv.App().DB()); len(r) != 0 {
		t.Errorf("rows after: %v", r)
	}
}

// BenchmarkMigrate: the migration of one website's daily summaries of
// SKOPOS_BENCH_EVENTS events (default 200 000) over 30 days, written by
// the pipeline and collapsed into daily rows before each run (which the
// s/migration and events/s figures leave out), the write-ahead log
// checkpointed as a restart does.
func BenchmarkMigrate(b *testing.B) {
	n := 200000
	if v, err := strconv.Atoi(os.Getenv("SKOPOS_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	srv := pbtest.Start(b, pbtest.Options{})
	app := srv.App()
	websites := []store.Website{localstore.WebsiteFromRecord(srv.AddWebsite(b, "one.example"))}
	start := time.Now()
	generate(b, app, websites, n, day1, 30*24*time.Hour, 0, 1)
	var sessions, items int
	_ = app.DB().NewQuery("SELECT COUNT(*) FROM sessions").Row(&sessions)
	_ = app.DB().NewQuery("SELECT COUNT(*) FROM dash_sum_items").Row(&items)
	b.Logf("%d events (%d sessions, %d hourly breakdown rows) written in %v", n, sessions, items, time.Since(start).Round(time.Millisecond))
	var elapsed time.Duration
	runs := 0
	for b.Loop() {
		summarytest.CollapseToDaily(b, app)
		// as after a restart: the write-ahead log checkpointed
		if _, err := app.DB().NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute(); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res := total(migrate(b, app, 0))
		elapsed += time.Since(start)
		runs++
		if res.Rebuilt == 0 || res.Kept != 0 {
			b.Fatalf("result %+v", res)
		}
	}
	b.ReportMetric(elapsed.Seconds()/float64(runs), "s/migration")
	b.ReportMetric(float64(n*runs)/elapsed.Seconds(), "events/s")
}
