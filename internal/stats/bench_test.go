package stats_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// BenchmarkQuery30Days measures the stats of a 30-day period over a
// database holding SKOPOS_BENCH_EVENTS events (default 20 000; the figure in
// BENCHMARKS.md uses 1 000 000), spread over the 30 days, 500 paths, one
// session per 10 events, and the daily summaries derived from them.
func BenchmarkQuery30Days(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("SKOPOS_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	srv := pbtest.Start(b, pbtest.Options{})
	app := srv.App()
	col, _ := app.FindCollectionByNameOrId(schema.Websites)
	site := core.NewRecord(col)
	site.Load(map[string]any{"name": "bench", "domain": "bench.example"})
	if err := app.Save(site); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -29)
	fill(b, app, site.Id, n, start, 30*24*time.Hour)

	p, err := stats.ParsePeriod("30d", "", "", now)
	if err != nil {
		b.Fatal(err)
	}
	var events int
	_ = app.DB().NewQuery("SELECT COUNT(*) FROM events").Row(&events)
	b.ReportAllocs()
	for b.Loop() {
		r, err := stats.Query(context.Background(), app, site.Id, stats.Request{Period: p, Top: 10, Now: now})
		if err != nil || int(r.PageViews.Value) != n {
			b.Fatalf("page views %v of %d: %v", r.PageViews.Value, n, err)
		}
	}
	b.ReportMetric(float64(events), "events") // after the loop: b.Loop resets reported metrics
}

// fill inserts n events, n/10 sessions and the summaries computed from
// them with SQL (millions of rows in seconds, not through the pipeline).
func fill(b *testing.B, app core.App, site string, n int, from time.Time, span time.Duration) {
	const layout = "2006-01-02 15:04:05.000Z"
	err := app.RunInTransaction(func(tx core.App) error {
		db := tx.DB()
		exec := func(q string) error { _, err := db.NewQuery(q).Execute(); return err }
		sessions := max(n/10, 1)
		var sb strings.Builder
		flush := func(prefix string) error {
			if sb.Len() == 0 {
				return nil
			}
			err := exec(prefix + strings.TrimSuffix(sb.String(), ","))
			sb.Reset()
			return err
		}
		for i := range sessions {
			t := from.Add(time.Duration(int64(span) / int64(sessions) * int64(i))).Format(layout)
			fmt.Fprintf(&sb, "('s%014d','%s','v%014d',%d,'%s','%s','/p%d','/p%d',10,1,%d,'Chrome','desktop','%s','%s'),",
				i, site, i%(sessions/2+1), i/(sessions/2+1)+1, t, t, i%500, (i+7)%500, boolInt(i%3 == 0), t, t)
			if i%500 == 499 {
				if err := flush(`INSERT INTO sessions (id, website, visitor, seq, startedAt, lastActivity, entryPath, exitPath, eventCount, isEngaged, isNewVisitor, browser, device, created, updated) VALUES `); err != nil {
					return err
				}
			}
		}
		if err := flush(`INSERT INTO sessions (id, website, visitor, seq, startedAt, lastActivity, entryPath, exitPath, eventCount, isEngaged, isNewVisitor, browser, device, created, updated) VALUES `); err != nil {
			return err
		}
		for i := range n {
			t := from.Add(time.Duration(int64(span) / int64(n) * int64(i))).Format(layout)
			fmt.Fprintf(&sb, "('e%014d','s%014d','%s','pageView','/p%d','%s','%s','%s'),", i, i/10, site, i%500, t, t, t)
			if i%500 == 499 {
				if err := flush(`INSERT INTO events (id, session, website, type, path, timestamp, created, updated) VALUES `); err != nil {
					return err
				}
			}
		}
		if err := flush(`INSERT INTO events (id, session, website, type, path, timestamp, created, updated) VALUES `); err != nil {
			return err
		}
		// summaries from the raw rows, as the pipeline keeps them
		return exec(`INSERT INTO dash_sum (id, website, date, pageViews, visitors, newVisitors, returningVisitors, engagedSessions, bounces, durationSeconds, jsErrors, created, updated)
			SELECT 'd' || d, '` + site + `', d || ' 00:00:00.000Z', COALESCE(pv, 0), COALESCE(v, 0), COALESCE(nv, 0), COALESCE(v - nv, 0), COALESCE(en, 0), 0, 0, 0, '', '' FROM
			(SELECT substr(timestamp, 1, 10) AS d, COUNT(*) AS pv FROM events GROUP BY d) LEFT JOIN
			(SELECT substr(startedAt, 1, 10) AS sd, COUNT(*) AS v, SUM(isNewVisitor) AS nv, SUM(isEngaged) AS en FROM sessions GROUP BY sd) ON sd = d;
			INSERT INTO dash_sum_items (id, website, date, dimension, key, count, created, updated)
			SELECT 'i' || substr(timestamp, 1, 10) || path, '` + site + `', substr(timestamp, 1, 10) || ' 00:00:00.000Z', 'page', path, COUNT(*), '', ''
			FROM events GROUP BY substr(timestamp, 1, 10), path;`)
	})
	if err != nil {
		b.Fatal(err)
	}
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}
