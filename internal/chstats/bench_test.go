package chstats_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/chstats"
	"github.com/skopos-go/skopos/internal/clickhouse"
)

// The benchmark's traffic: 30 days of one website, one session per 10
// events, 8 countries (DE about 20 %), 500 paths ("/" about 15 %).
var (
	benchTo   = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	benchFrom = benchTo.AddDate(0, 0, -30)
)

const (
	benchSite     = "bench"
	eventsPerSess = 10
	batchEvents   = 100_000
)

// BenchmarkCountryFilter30Days measures Report over the 30 days of
// SKOPOS_CH_BENCH_EVENTS events (default 100 000) with country=DE and
// without a filter. The data is generated into a database of its own,
// in batches of 100 000 events; with SKOPOS_CH_BENCH_URL (a server's
// HTTP interface) it is kept there, in database chstats_bench_<N>, and
// later runs reuse it:
//
//	SKOPOS_CH_BENCH_URL=http://127.0.0.1:8123 SKOPOS_CH_BENCH_EVENTS=1000000 \
//		go test -run '^$' -bench CountryFilter30Days -count 5 ./internal/chstats/
func BenchmarkCountryFilter30Days(b *testing.B) {
	n := 100_000
	if v := os.Getenv("SKOPOS_CH_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < eventsPerSess {
			b.Fatalf("SKOPOS_CH_BENCH_EVENTS=%q: a number of events, at least %d", v, eventsPerSess)
		}
	}
	db := benchDatabase(b, n)
	for _, c := range []struct {
		name    string
		filters []chstats.Filter
	}{
		{"country=DE", []chstats.Filter{{Dim: "country", Value: "DE"}}},
		{"unfiltered", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			var res *chstats.Result
			for b.Loop() {
				var err error
				res, err = chstats.Report(context.Background(), db, benchSite, benchFrom, benchTo, time.UTC, c.filters)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Visitors), "visitors")
			b.ReportMetric(float64(res.PageViews), "pageviews")
		})
	}
}

// benchDatabase returns a database holding n events of the benchmark's
// traffic: the kept one of SKOPOS_CH_BENCH_URL when it holds them, else
// one it fills (and, without SKOPOS_CH_BENCH_URL, drops at the end).
func benchDatabase(b *testing.B, n int) *clickhouse.Client {
	url := os.Getenv("SKOPOS_CH_BENCH_URL")
	var db *clickhouse.Client
	if url == "" {
		db = server.Database(b)
		url = server.URL(b)
	} else {
		name := "chstats_bench_" + strconv.Itoa(n)
		db = clickhouse.New(clickhouse.Options{URL: url, Database: name})
		// the last batch of sessions is written after the last of
		// events: both counts complete say the data is
		rows, err := clickhouse.Select[struct{ E, S uint64 }](context.Background(), db,
			`SELECT (SELECT count() FROM events) AS E, (SELECT uniqExact(id) FROM sessions) AS S`)
		if err == nil && rows[0].E == uint64(n) && rows[0].S == uint64(n/eventsPerSess) {
			logSize(b, db)
			return db
		}
		if err := clickhouse.New(clickhouse.Options{URL: url}).Exec(context.Background(), "DROP DATABASE IF EXISTS ?", clickhouse.Ident(name)); err != nil {
			b.Fatal(err)
		}
	}
	// the database may not exist yet: the statements name it
	admin := clickhouse.New(clickhouse.Options{URL: url})
	for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: db.Database()}) {
		if err := admin.Exec(context.Background(), stmt); err != nil {
			b.Fatal(err)
		}
	}
	begin := time.Now()
	if err := generate(context.Background(), db, n); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %d events, %d sessions (two versions each) in %v", n, n/eventsPerSess, time.Since(begin).Round(time.Millisecond))
	logSize(b, db)
	return db
}

// logSize logs the database's size on disk and its parts.
func logSize(b *testing.B, db *clickhouse.Client) {
	rows, err := clickhouse.Select[struct {
		Table       string
		Parts, Rows uint64
		Bytes       uint64
	}](context.Background(), db, `SELECT table AS Table, count() AS Parts, sum(rows) AS Rows, sum(bytes_on_disk) AS Bytes
		FROM system.parts WHERE database = ? AND active GROUP BY table ORDER BY table`, db.Database())
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		b.Logf("%s: %d rows in %d parts, %.1f MiB on disk", r.Table, r.Rows, r.Parts, float64(r.Bytes)/(1<<20))
	}
}

// generate writes n events of the benchmark's traffic and their
// sessions, each session twice: its first version (one event) and its
// last, as the writer updates a session.
func generate(ctx context.Context, db *clickhouse.Client, n int) error {
	r := rand.New(rand.NewPCG(31, 10))
	countries := []string{"US", "FR", "GB", "NL", "IT", "ES", "PL"}
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	path := func() string {
		if r.IntN(100) < 15 {
			return "/"
		}
		return "/page-" + strconv.Itoa(1+r.IntN(499))
	}
	span := benchTo.Sub(benchFrom).Milliseconds() - 3600*1000 // a session's events stay in the window
	var evs, sess []map[string]any
	flush := func() error {
		if err := db.Insert(ctx, "events", evs); err != nil {
			return err
		}
		if err := db.Insert(ctx, "sessions", sess); err != nil {
			return err
		}
		evs, sess = evs[:0], sess[:0]
		return nil
	}
	for i := range n / eventsPerSess {
		id := "s" + strconv.Itoa(i)
		country := "DE"
		if r.IntN(100) >= 20 {
			country = countries[r.IntN(len(countries))]
		}
		start := benchFrom.UnixMilli() + r.Int64N(span)
		s := map[string]any{"id": id, "website": benchSite, "country": country, "state": pick("", "BY", "BE", "HH"),
			"device": pick("desktop", "mobile", "tablet"), "browser": pick("Firefox", "Chrome", "Safari"),
			"os": pick("Linux", "Windows", "macOS", "Android", "iOS"), "language": pick("de", "en", "fr"),
			"referrer": pick("", "https://www.google.com/", "https://news.ycombinator.com/"),
			"channel":  pick("Direct", "Organic Search", "Referral"), "source": pick("", "Google", "HN"),
			"isNewVisitor": r.IntN(2) == 0, "startedAt": start, "created": start}
		ts := start
		for k := range eventsPerSess {
			if k > 0 {
				ts += r.Int64N(5 * 60 * 1000)
			}
			p := path()
			if k == 0 {
				s["entryPath"] = p
			}
			s["exitPath"] = p
			evs = append(evs, map[string]any{"id": id + "-" + strconv.Itoa(k), "session": id, "type": "pageView",
				"path": p, "website": benchSite, "timestamp": ts, "created": ts, "updated": ts})
		}
		first := make(map[string]any, len(s)+3)
		for k, v := range s {
			first[k] = v
		}
		first["exitPath"], first["lastActivity"], first["eventCount"], first["version"], first["updated"] = first["entryPath"], start, 1, 1, start
		s["lastActivity"], s["eventCount"], s["version"], s["updated"] = ts, eventsPerSess, 2, ts
		sess = append(sess, first, s)
		if len(evs) >= batchEvents {
			if err := flush(); err != nil {
				return fmt.Errorf("batch ending with session %d: %w", i, err)
			}
		}
	}
	if len(evs) > 0 {
		return flush()
	}
	return nil
}
