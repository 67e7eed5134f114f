package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/chmigrate"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// The benchmarks of this file share one database, built once per test
// binary: SKOPOS_BENCH_EVENTS events (default 20 000; the figures in
// BENCHMARKS.md use 1 000 000) spread evenly over the last
// SKOPOS_BENCH_DAYS UTC days (default 30: the previous period of a 30-day
// query is empty; 60 with twice the events is a site with steady traffic),
// one session per 10 consecutive events (sessions of 8 countries with a
// skewed share, 7 device/browser/OS mixes, 4 languages, 6 referrers, 1
// in 10 from a campaign), 500 paths of which "/" takes 15 % and /pricing
// 5 % of the page views, 7 in 10 page views with engagement (engaged
// time up to 2 minutes, scroll depth), 2 % of the events a custom "signup" with
// {"plan":"pro"} (a third) or {"plan":"free"}, a visitors row per two
// sessions (every 4th identified, two per user, a third of the users with
// metadata plan "pro"), and the summaries
// (dash_sum hourly, dash_sum_items daily, UTC) computed from those rows as
// the pipeline keeps them.
var fixture struct {
	once   sync.Once
	err    error
	dir    string
	site   string
	now    time.Time // the clock every period is read with
	events int
	built  time.Duration
	// kept: the data dir is SKOPOS_BENCH_DIR, kept after the run;
	// reused: it held a fixture already (fixtureFile)
	kept, reused bool
}

// fixtureFile, in a SKOPOS_BENCH_DIR, records the fixture the dir holds:
// building a million events takes minutes, and before/after figures of
// a schema change are comparable only on the same rows (the new
// schema's migrations run when the kept dir is opened again).
const fixtureFile = "skopos-bench-fixture.json"

type fixtureMeta struct {
	Site   string    `json:"site"`
	Now    time.Time `json:"now"`
	Events int       `json:"events"`
	Days   int       `json:"days"`
}

// loadFixture reads SKOPOS_BENCH_DIR's fixture when it has the events
// and days asked for.
func loadFixture() bool {
	dir := os.Getenv("SKOPOS_BENCH_DIR")
	if dir == "" {
		return false
	}
	data, err := os.ReadFile(filepath.Join(dir, fixtureFile))
	if err != nil {
		return false
	}
	var m fixtureMeta
	if json.Unmarshal(data, &m) != nil || m.Events != benchEvents() || m.Days != envInt("SKOPOS_BENCH_DAYS", 30) {
		return false
	}
	fixture.dir, fixture.site, fixture.now, fixture.events, fixture.kept = dir, m.Site, m.Now, m.Events, true
	return true
}

func saveFixture() error {
	data, err := json.Marshal(fixtureMeta{Site: fixture.site, Now: fixture.now, Events: fixture.events, Days: envInt("SKOPOS_BENCH_DAYS", 30)})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(fixture.dir, fixtureFile), data, 0o644)
}

func TestMain(m *testing.M) {
	code := m.Run()
	chServer.Close()
	if fixture.dir != "" && !fixture.kept {
		_ = os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

func benchEvents() int { return envInt("SKOPOS_BENCH_EVENTS", 20000) }

// benchCH, with SKOPOS_BENCH_STORE=clickhouse, is the ClickHouse database
// the fixture is copied into (chmigrate, once per test binary) and the
// reports read their raw rows from (Request.ClickHouse): the same rows
// and the same code as the SQLite figures, for their ratio. nil reads
// SQLite.
var benchCH struct {
	once sync.Once
	db   *clickhouse.Client
	err  error
}

func benchClickHouse(b *testing.B, app core.App) *clickhouse.Client {
	b.Helper()
	if os.Getenv("SKOPOS_BENCH_STORE") != "clickhouse" {
		return nil
	}
	url := chServer.URL(b) // skips without clickhouse-server
	benchCH.once.Do(func() {
		start := time.Now()
		admin, db := clickhouse.New(clickhouse.Options{URL: url}), clickhouse.New(clickhouse.Options{URL: url, Database: "bench"})
		for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: "bench"}) {
			if benchCH.err = admin.Exec(context.Background(), stmt); benchCH.err != nil {
				return
			}
		}
		res, err := chmigrate.Copy(context.Background(), app, db, chmigrate.Options{Page: 100_000})
		if benchCH.err = err; err == nil {
			benchCH.db = db
			b.Logf("fixture copied into ClickHouse in %v: %+v", time.Since(start).Round(time.Millisecond), res)
		}
	})
	if benchCH.err != nil {
		b.Fatalf("ClickHouse fixture: %v", benchCH.err)
	}
	return benchCH.db
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchApp starts a PocketBase on the shared fixture (building it on the
// first call) and returns the app and the website id. The server stops
// when b ends; the data dir stays for the next benchmark.
func benchApp(b *testing.B) (core.App, string) {
	b.Helper()
	fixture.once.Do(func() {
		start := time.Now()
		if fixture.reused = loadFixture(); fixture.reused {
			b.Logf("fixture of %d events reused from %s", fixture.events, fixture.dir)
			return
		}
		if fixture.dir = os.Getenv("SKOPOS_BENCH_DIR"); fixture.dir != "" {
			fixture.kept = true
			fixture.err = os.MkdirAll(fixture.dir, 0o755)
		} else {
			fixture.dir, fixture.err = os.MkdirTemp("", "skopos-stats-bench-")
		}
		if fixture.err != nil {
			return
		}
		srv := pbtest.Start(b, pbtest.Options{Dir: fixture.dir})
		defer srv.Stop()
		app := srv.App()
		col, err := app.FindCollectionByNameOrId(schema.Websites)
		if err != nil {
			fixture.err = err
			return
		}
		site := core.NewRecord(col)
		site.Load(map[string]any{"name": "bench", "domain": "bench.example"})
		if fixture.err = app.Save(site); fixture.err != nil {
			return
		}
		fixture.site = site.Id
		fixture.now = time.Now().UTC()
		days := envInt("SKOPOS_BENCH_DAYS", 30)
		from := time.Date(fixture.now.Year(), fixture.now.Month(), fixture.now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1-days)
		fixture.events = benchEvents()
		if fixture.err = fill(app, site.Id, fixture.events, from, time.Duration(days)*24*time.Hour); fixture.err != nil {
			return
		}
		fixture.built = time.Since(start)
		if fixture.kept {
			fixture.err = saveFixture()
		}
		b.Logf("fixture of %d events built in %v", fixture.events, fixture.built.Round(time.Millisecond))
	})
	if fixture.err != nil {
		b.Fatalf("fixture: %v", fixture.err)
	}
	return pbtest.Start(b, pbtest.Options{Dir: fixture.dir}).App(), fixture.site
}

func period30d(b *testing.B) stats.Period {
	b.Helper()
	p, err := stats.ParsePeriod("30d", "", "", fixture.now)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// count runs a COUNT query of events e (and sessions s) in p, written
// with {:from} and {:to}: what a figure must be, from the rows.
func count(b *testing.B, app core.App, p stats.Period, q string) int {
	b.Helper()
	var n int
	err := app.DB().NewQuery(q).Bind(dbx.Params{"from": p.From.UTC().Format(pbTime), "to": p.To.UTC().Format(pbTime)}).Row(&n)
	if err != nil || n == 0 {
		b.Fatalf("%s: %d, %v", q, n, err)
	}
	return n
}

const pbTime = "2006-01-02 15:04:05.000Z"

// measure runs run once to warm the connection's page cache, as a
// running server's is, then in the benchmark loop, and adds the
// fixture's size to the results (after the loop: b.Loop resets reported
// metrics).
func measure(b *testing.B, run func()) {
	run()
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64(fixture.events), "events")
}

// BenchmarkQuery30Days measures the stats of a 30-day period without
// filters: summed from the hourly summaries (720 dash_sum rows and the
// hours' breakdown rows).
func BenchmarkQuery30Days(b *testing.B) {
	app, site := benchApp(b)
	ctx := context.Background()
	// UTC: whole UTC days, all from the summaries; New York: the 30 local
	// days' whole UTC days from the summaries and the two partial days at
	// the ends (19 and 5 hours) from raw rows
	for _, zone := range []string{"UTC", "America/New_York"} {
		b.Run(strings.ReplaceAll(zone, "/", "_"), func(b *testing.B) {
			loc, err := stats.Location(zone)
			if err != nil {
				b.Fatal(err)
			}
			p, err := stats.ParsePeriodIn("30d", "", "", fixture.now, loc)
			if err != nil {
				b.Fatal(err)
			}
			want := count(b, app, p, `SELECT COUNT(*) FROM events e WHERE e.type = 'pageView' AND e.timestamp >= {:from} AND e.timestamp < {:to}`)
			ch := benchClickHouse(b, app)
			run := func() {
				r, err := stats.Query(ctx, app, site, stats.Request{Period: p, Top: 10, Now: fixture.now, ClickHouse: ch})
				if err != nil || int(r.PageViews.Value) != want {
					b.Fatalf("page views %v of %d: %v", r.PageViews.Value, want, err)
				}
			}
			measure(b, run)
		})
	}
}

// BenchmarkFilteredQuery30Days measures the stats of a 30-day period
// under one filter of each dimension of stats.FilterDimensions (issue
// 31: a page, 5 % of the page views; a country, 20 % of the sessions;
// a goal on the page), the account filters of issue 29 (user,
// identified, meta.plan, negated and with the page) and pairs of two
// dimensions: every figure from raw rows.
func BenchmarkFilteredQuery30Days(b *testing.B) {
	app, site := benchApp(b)
	p := period30d(b)
	ctx := context.Background()
	utm := func(k, v string) string { return "json_extract(s.utm, '$." + k + "') = '" + v + "'" }
	for _, tc := range []struct {
		name    string
		filters []stats.Filter
		want    string // the filters on the rows, to count the page views
		// visitors: want counts the sessions started in the period with
		// a matching event (an event filter selects no page view)
		visitors bool
	}{
		{"page+country", []stats.Filter{{Dim: "page", Value: "/pricing"}, {Dim: "country", Value: "DE"}},
			`e.path = '/pricing' AND s.country = 'DE'`, false},
		{"page", []stats.Filter{{Dim: "page", Value: "/pricing"}}, `e.path = '/pricing'`, false},
		{"entryPage", []stats.Filter{{Dim: "entryPage", Value: "/pricing"}}, `s.entryPath = '/pricing'`, false},
		{"exitPage", []stats.Filter{{Dim: "exitPage", Value: "/pricing"}}, `s.exitPath = '/pricing'`, false},
		{"referrer", []stats.Filter{{Dim: "referrer", Value: "news.ycombinator.com"}}, `s.referrer = 'https://news.ycombinator.com/item'`, false},
		{"country", []stats.Filter{{Dim: "country", Value: "DE"}}, `s.country = 'DE'`, false},
		{"region", []stats.Filter{{Dim: "region", Value: "BY"}}, `s.state = 'BY'`, false},
		{"device", []stats.Filter{{Dim: "device", Value: "tablet"}}, `s.device = 'tablet'`, false},
		{"browser", []stats.Filter{{Dim: "browser", Value: "Firefox"}}, `s.browser = 'Firefox'`, false},
		{"os", []stats.Filter{{Dim: "os", Value: "iOS"}}, `s.os = 'iOS'`, false},
		{"language", []stats.Filter{{Dim: "language", Value: "fr-FR"}}, `s.language = 'fr-FR'`, false},
		{"utm_source", []stats.Filter{{Dim: "utm_source", Value: "newsletter"}}, utm("utm_source", "newsletter"), false},
		{"utm_medium", []stats.Filter{{Dim: "utm_medium", Value: "email"}}, utm("utm_medium", "email"), false},
		{"utm_campaign", []stats.Filter{{Dim: "utm_campaign", Value: "c1"}}, utm("utm_campaign", "c1"), false},
		{"utm_term", []stats.Filter{{Dim: "utm_term", Value: "t1"}}, utm("utm_term", "t1"), false},
		{"utm_content", []stats.Filter{{Dim: "utm_content", Value: "k1"}}, utm("utm_content", "k1"), false},
		{"channel", []stats.Filter{{Dim: "channel", Value: "Organic Social"}}, `s.channel = 'Organic Social'`, false},
		{"source", []stats.Filter{{Dim: "source", Value: "GitHub"}}, `s.source = 'GitHub'`, false},
		{"event", []stats.Filter{{Dim: "event", Value: "signup"}}, `e.type = 'custom' AND e.eventName = 'signup'`, true},
		{"goal", []stats.Filter{{Dim: "goal", Value: "Pricing"}}, `e.path = '/pricing'`, false},
		// the account filters (issue 29): one user (two devices), the
		// identified quarter and the rest, a metadata value and the rest
		{"user", []stats.Filter{{Dim: "user", Value: "u3"}}, `s.visitor IN (SELECT id FROM visitors WHERE userId = 'u3')`, false},
		{"identified", []stats.Filter{{Dim: "identified", Value: "yes"}}, `s.visitor IN (SELECT id FROM visitors WHERE userId != '')`, false},
		{"identified:no", []stats.Filter{{Dim: "identified", Value: "no"}}, `s.visitor NOT IN (SELECT id FROM visitors WHERE userId != '')`, false},
		{"meta", []stats.Filter{{Dim: "meta.plan", Value: "pro"}},
			`s.visitor IN (SELECT id FROM visitors WHERE json_extract(metadata, '$.plan') = 'pro')`, false},
		{"meta:!", []stats.Filter{{Dim: "meta.plan", Value: "pro", Not: true}},
			`s.visitor NOT IN (SELECT id FROM visitors WHERE json_extract(metadata, '$.plan') = 'pro')`, false},
		{"page+meta", []stats.Filter{{Dim: "page", Value: "/pricing"}, {Dim: "meta.plan", Value: "pro"}},
			`e.path = '/pricing' AND s.visitor IN (SELECT id FROM visitors WHERE json_extract(metadata, '$.plan') = 'pro')`, false},
		// two dimensions (issue 31: ≤ 500 ms)
		{"country+device", []stats.Filter{{Dim: "country", Value: "DE"}, {Dim: "device", Value: "mobile"}},
			`s.country = 'DE' AND s.device = 'mobile'`, false},
		{"channel+browser", []stats.Filter{{Dim: "channel", Value: "Organic Search"}, {Dim: "browser", Value: "Firefox"}},
			`s.channel = 'Organic Search' AND s.browser = 'Firefox'`, false},
		{"goal+country", []stats.Filter{{Dim: "goal", Value: "Pricing"}, {Dim: "country", Value: "DE"}},
			`e.path = '/pricing' AND s.country = 'DE'`, false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			q := `SELECT COUNT(*) FROM events e JOIN sessions s ON s.id = e.session
				WHERE e.type = 'pageView' AND e.timestamp >= {:from} AND e.timestamp < {:to} AND ` + tc.want
			if tc.visitors {
				q = `SELECT COUNT(DISTINCT s.id) FROM events e JOIN sessions s ON s.id = e.session
					WHERE e.timestamp >= {:from} AND e.timestamp < {:to} AND s.startedAt >= {:from} AND s.startedAt < {:to} AND ` + tc.want
			}
			want := count(b, app, p, q)
			for _, f := range tc.filters {
				if f.Dim == "goal" {
					g := saveRecord(b, app, schema.Goals, map[string]any{"website": site, "name": "Pricing", "type": "page", "match": "/pricing"})
					defer func() { _ = app.Delete(g) }()
				}
			}
			ch := benchClickHouse(b, app)
			run := func() {
				r, err := stats.Query(ctx, app, site, stats.Request{Period: p, Filters: tc.filters, Top: 10, Now: fixture.now, ClickHouse: ch})
				got := r.PageViews.Value
				if tc.visitors {
					got = r.Visitors.Value
				}
				if err != nil || int(got) != want {
					b.Fatalf("filtered figure %v, want %d: %v", got, want, err)
				}
			}
			measure(b, run)
		})
	}
}

// BenchmarkGoalConversion30Days measures an unfiltered 30-day Query with
// no goal, with one page goal (/pricing), with one event goal (signup
// with plan = pro) and with both: the difference to "none" is what the
// goals cost (each reads raw rows).
func BenchmarkGoalConversion30Days(b *testing.B) {
	app, site := benchApp(b)
	p := period30d(b)
	ctx := context.Background()
	page := map[string]any{"website": site, "name": "Pricing", "type": "page", "match": "/pricing"}
	event := map[string]any{"website": site, "name": "Pro signup", "type": "event", "match": "signup",
		"propertyKey": "plan", "propertyValue": "pro"}
	for _, tc := range []struct {
		name  string
		goals []map[string]any
	}{
		{"none", nil}, {"page", []map[string]any{page}}, {"event", []map[string]any{event}}, {"both", []map[string]any{page, event}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var recs []*core.Record
			for _, g := range tc.goals {
				recs = append(recs, saveRecord(b, app, schema.Goals, g))
			}
			defer func() {
				for _, r := range recs {
					if err := app.Delete(r); err != nil {
						b.Error(err)
					}
				}
			}()
			run := func() {
				r, err := stats.Query(ctx, app, site, stats.Request{Period: p, Top: 10, Now: fixture.now})
				if err != nil || len(r.Goals) != len(tc.goals) {
					b.Fatalf("goals %+v: %v", r.Goals, err)
				}
				for _, g := range r.Goals {
					if g.Visitors == 0 {
						b.Fatalf("goal %q converted nobody", g.Name)
					}
				}
			}
			measure(b, run)
		})
	}
}

// wildcardGoals are ten owner-made page goals with "*": most have the
// prefix "/", so each resolves its paths among every page view of the
// period and the previous one (the probe of issue 34's case).
var wildcardGoals = []string{"/*", "/p*", "/*ing", "/p1*", "/p2*", "/*0", "/*5", "/p*9", "/*/**", "/pr*"}

// BenchmarkWildcardGoals30Days measures an unfiltered 30-day Query with
// the ten wildcardGoals.
func BenchmarkWildcardGoals30Days(b *testing.B) {
	app, site := benchApp(b)
	p := period30d(b)
	ctx := context.Background()
	var recs []*core.Record
	for i, m := range wildcardGoals {
		recs = append(recs, saveRecord(b, app, schema.Goals, map[string]any{"website": site, "name": "g" + strconv.Itoa(i), "type": "page", "match": m}))
	}
	defer func() {
		for _, r := range recs {
			_ = app.Delete(r)
		}
	}()
	run := func() {
		r, err := stats.Query(ctx, app, site, stats.Request{Period: p, Top: 10, Now: fixture.now})
		if err != nil || len(r.Goals) != len(wildcardGoals) || r.Goals[0].Visitors == 0 {
			b.Fatalf("goals %+v: %v", r.Goals, err)
		}
	}
	measure(b, run)
}

// BenchmarkFunnel3Steps30Days measures a 3-step funnel over 30 days:
// page "/", then page /pricing, then the custom event signup.
func BenchmarkFunnel3Steps30Days(b *testing.B) {
	app, site := benchApp(b)
	p := period30d(b)
	f := saveRecord(b, app, schema.Funnels, map[string]any{"website": site, "name": "Signup",
		"steps": []map[string]any{{"name": "Home", "type": "page", "match": "/"},
			{"name": "Pricing", "type": "page", "match": "/pricing"}, {"name": "Signed up", "type": "event", "match": "signup"}}})
	defer func() { _ = app.Delete(f) }()
	ctx := context.Background()
	run := func() {
		r, err := stats.Funnel(ctx, app, site, f.Id, stats.Request{Period: p, Now: fixture.now})
		if err != nil || len(r.Steps) != 3 || r.Steps[2].Visitors == 0 {
			b.Fatalf("funnel %+v: %v", r, err)
		}
	}
	measure(b, run)
}

func saveRecord(b *testing.B, app core.App, collection string, fields map[string]any) *core.Record {
	b.Helper()
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		b.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Load(fields)
	if err := app.Save(rec); err != nil {
		b.Fatalf("save %s: %v", collection, err)
	}
	return rec
}

// mix is splitmix64's finalizer: a well-spread pseudo-random number for
// i, the same on every run.
func mix(i uint64) uint64 {
	i += 0x9e3779b97f4a7c15
	i = (i ^ (i >> 30)) * 0xbf58476d1ce4e5b9
	i = (i ^ (i >> 27)) * 0x94d049bb133111eb
	return i ^ (i >> 31)
}

// pick returns the value whose cumulative weight (of 100) h%100 falls
// under.
func pick[T any](h uint64, choices []T, weights []int) T {
	r, acc := int(h%100), 0
	for i, w := range weights {
		if acc += w; r < acc {
			return choices[i]
		}
	}
	return choices[len(choices)-1]
}

type benchUA struct{ browser, os, device string }

var (
	benchCountries      = []string{"US", "DE", "GB", "FR", "IN", "BR", "JP", "Unknown"}
	benchCountryWeights = []int{35, 20, 12, 10, 8, 6, 4, 5}
	benchUAs            = []benchUA{{"Chrome", "Windows", "desktop"}, {"Firefox", "Windows", "desktop"}, {"Safari", "macOS", "desktop"},
		{"Edge", "Windows", "desktop"}, {"Mobile Safari", "iOS", "mobile"}, {"Mobile Chrome", "Android", "mobile"}, {"Chrome", "Android", "tablet"}}
	benchUAWeights      = []int{30, 8, 10, 7, 20, 20, 5}
	benchLanguages      = []string{"en-US", "de-DE", "fr-FR", ""}
	benchLanguageWeight = []int{55, 20, 10, 15}
	benchReferrers      = []string{"", "https://www.google.com/", "https://news.ycombinator.com/item", "https://www.bing.com/search",
		"https://github.com/skopos-go/skopos", "https://t.co/x"}
	benchReferrerWeights = []int{40, 30, 10, 8, 7, 5}
	// the source and channel of a session from each referrer (from a
	// campaign: newsletter, Email)
	benchSources = map[string][2]string{"": {"", "Direct"}, "https://www.google.com/": {"Google", "Organic Search"},
		"https://news.ycombinator.com/item": {"Hacker News", "Referral"}, "https://www.bing.com/search": {"Bing", "Organic Search"},
		"https://github.com/skopos-go/skopos": {"GitHub", "Referral"}, "https://t.co/x": {"Twitter", "Organic Social"}}
)

// benchState is the region of a session in country: three for US, two
// for DE, none elsewhere.
func benchState(country string, h uint64) string {
	switch country {
	case "US":
		return []string{"CA", "NY", "TX"}[h%3]
	case "DE":
		return []string{"BE", "BY"}[h%2]
	}
	return ""
}

// benchPath is the path of event i: "/" 15 %, /pricing 5 %, else one of
// /p0 … /p497.
func benchPath(i int) string {
	h := mix(uint64(i) ^ 0xa5a5)
	switch r := h % 100; {
	case r < 15:
		return "/"
	case r < 20:
		return "/pricing"
	}
	return "/p" + strconv.Itoa(int(h/100%498))
}

// fill inserts n events, n/10 sessions and the hourly summaries computed
// from them with SQL (a million rows in seconds, not through the
// pipeline).
func fill(app core.App, site string, n int, from time.Time, span time.Duration) error {
	const layout = "2006-01-02 15:04:05.000Z"
	at := func(i int) time.Time { return from.Add(time.Duration(int64(span) / int64(n) * int64(i))) }
	return app.RunInTransaction(func(tx core.App) error {
		db := tx.DB()
		exec := func(q string) error { _, err := db.NewQuery(q).Execute(); return err }
		var sb strings.Builder
		rows := 0
		// add appends one row of VALUES, inserting every 500
		add := func(prefix, format string, args ...any) error {
			fmt.Fprintf(&sb, format+",", args...)
			if rows++; rows%500 != 0 {
				return nil
			}
			err := exec(prefix + strings.TrimSuffix(sb.String(), ","))
			sb.Reset()
			return err
		}
		flush := func(prefix string) error {
			if sb.Len() == 0 {
				return nil
			}
			err := exec(prefix + strings.TrimSuffix(sb.String(), ","))
			sb.Reset()
			return err
		}
		const sessIns = `INSERT INTO sessions (id, website, visitor, seq, startedAt, lastActivity, entryPath, exitPath, eventCount,
			isEngaged, isNewVisitor, browser, os, device, language, country, state, referrer, source, channel, utm, created, updated) VALUES `
		sessions := max(n/10, 1)
		visitors := sessions/2 + 1
		for s := range sessions {
			first, last := 10*s, min(10*s+9, n-1)
			h := mix(uint64(s))
			ua := pick(h>>8, benchUAs, benchUAWeights)
			ref := pick(h>>32, benchReferrers, benchReferrerWeights)
			src := benchSources[ref]
			utm := "NULL"
			if h%10 == 0 {
				utm = fmt.Sprintf(`'{"utm_source":"newsletter","utm_medium":"email","utm_campaign":"c%d","utm_term":"t%d","utm_content":"k%d"}'`,
					h>>40%5, h>>44%3, h>>48%2)
				src = [2]string{"newsletter", "Email"}
			}
			country := pick(h>>24, benchCountries, benchCountryWeights)
			start := at(first).Format(layout)
			err := add(sessIns, "('s%014d','%s','v%014d',%d,'%s','%s','%s','%s',%d,%d,%d,'%s','%s','%s','%s','%s','%s','%s','%s','%s',%s,'%s','%s')",
				s, site, s%visitors, s/visitors+1, start, at(last).Format(layout), benchPath(first), benchPath(last), last-first+1,
				boolInt(last > first), boolInt(s < visitors), ua.browser, ua.os, ua.device,
				pick(h>>16, benchLanguages, benchLanguageWeight), country, benchState(country, h>>52),
				ref, src[0], src[1], utm, start, start)
			if err != nil {
				return err
			}
		}
		if err := flush(sessIns); err != nil {
			return err
		}
		// the visitors: every 4th identified, two visitor ids (devices)
		// per user, a third of the users on plan "pro"
		const visIns = `INSERT INTO visitors (id, website, visitorId, userId, metadata, created, updated) VALUES `
		rows = 0
		for v := range visitors {
			user, meta := "", "NULL"
			if v%4 == 0 {
				plan := "free"
				if v/8%3 == 0 {
					plan = "pro"
				}
				user, meta = "u"+strconv.Itoa(v/8), fmt.Sprintf(`'{"plan":"%s","seats":%d}'`, plan, 1+v/8%5)
			}
			if err := add(visIns, "('v%014d','%s','h%014d','%s',%s,'','')", v, site, v, user, meta); err != nil {
				return err
			}
		}
		if err := flush(visIns); err != nil {
			return err
		}
		const evIns = `INSERT INTO events (id, session, website, type, path, eventName, eventData, timestamp, engagedMs, scrollDepth,
			created, updated) VALUES `
		rows = 0
		for i := range n {
			t := at(i).Format(layout)
			typ, name, data := "pageView", "", "NULL"
			ms, scroll := 0, 0
			h := mix(uint64(i) ^ 0x5a5a)
			if h%50 == 0 {
				typ, name, data = "custom", "signup", `'{"plan":"free"}'`
				if h/50%3 == 0 {
					data = `'{"plan":"pro"}'`
				}
			} else if h>>8%10 < 7 {
				ms, scroll = int(h>>16%120000), int(h>>40%101)
			}
			if err := add(evIns, "('e%014d','s%014d','%s','%s','%s','%s',%s,'%s',%d,%d,'%s','%s')",
				i, i/10, site, typ, benchPath(i), name, data, t, ms, scroll, t, t); err != nil {
				return err
			}
		}
		if err := flush(evIns); err != nil {
			return err
		}
		// the summaries, hourly in UTC (date = the hour's start), as the
		// pipeline keeps them: event counters by the event's hour,
		// session counters and breakdowns by the session's start hour
		var refKey strings.Builder
		refKey.WriteString("CASE referrer")
		for _, r := range benchReferrers {
			fmt.Fprintf(&refKey, " WHEN '%s' THEN '%s'", r, domain.ReferrerKey(r))
		}
		refKey.WriteString(" END")
		hour := func(col string) string { return "substr(" + col + ", 1, 13) || ':00:00.000Z'" }
		day := func(col string) string { return "substr(" + col + ", 1, 10) || ' 00:00:00.000Z'" }
		p := dbx.Params{"w": site}
		for _, q := range []string{
			`INSERT INTO dash_sum (id, website, date, pageViews, visitors, newVisitors, returningVisitors, engagedSessions, bounces,
				durationSeconds, jsErrors, created, updated)
			SELECT 'd' || hex(randomblob(7)), {:w}, h, COALESCE(pv, 0), COALESCE(v, 0), COALESCE(nv, 0), COALESCE(v - nv, 0),
				COALESCE(en, 0), COALESCE(bo, 0), COALESCE(du, 0), 0, '', ''
			FROM (SELECT ` + hour("timestamp") + ` AS h FROM events UNION SELECT ` + hour("startedAt") + ` FROM sessions)
			LEFT JOIN (SELECT ` + hour("timestamp") + ` AS eh, COUNT(*) AS pv FROM events WHERE type = 'pageView' GROUP BY eh) ON eh = h
			LEFT JOIN (SELECT ` + hour("startedAt") + ` AS sh, COUNT(*) AS v, SUM(isNewVisitor) AS nv, SUM(isEngaged) AS en,
					SUM(eventCount <= 1) AS bo,
					SUM(MAX(0, CAST(ROUND((julianday(lastActivity) - julianday(startedAt)) * 86400000) AS INTEGER) + 500) / 1000) AS du
				FROM sessions GROUP BY sh) ON sh = h`,
			`INSERT INTO dash_sum_items (id, website, date, dimension, key, count, created, updated)
			SELECT 'i' || hex(randomblob(7)), {:w}, h, dim, key, n, '', '' FROM (
				SELECT ` + day("timestamp") + ` AS h, 'page' AS dim, path AS key, COUNT(*) AS n FROM events WHERE type = 'pageView' GROUP BY h, key
				UNION ALL SELECT ` + day("timestamp") + `, 'customEvent', eventName, COUNT(*) FROM events WHERE type = 'custom' GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'entryPage', entryPath, COUNT(*) FROM sessions GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'exitPage', exitPath, COUNT(*) FROM sessions GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'referrer', ` + refKey.String() + `, COUNT(*) FROM sessions GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'device', device, COUNT(*) FROM sessions GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'browser', browser, COUNT(*) FROM sessions GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'os', os, COUNT(*) FROM sessions GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'language', COALESCE(NULLIF(language, ''), 'Unknown'), COUNT(*) FROM sessions GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'country', country, COUNT(*) FROM sessions GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'utm_source', json_extract(utm, '$.utm_source'), COUNT(*) FROM sessions WHERE utm IS NOT NULL GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'utm_medium', json_extract(utm, '$.utm_medium'), COUNT(*) FROM sessions WHERE utm IS NOT NULL GROUP BY 1, 3
				UNION ALL SELECT ` + day("startedAt") + `, 'utm_campaign', json_extract(utm, '$.utm_campaign'), COUNT(*) FROM sessions WHERE utm IS NOT NULL GROUP BY 1, 3)`,
		} {
			if _, err := db.NewQuery(q).Bind(p).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}
