package stats

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/domain"
	"golang.org/x/sync/errgroup"
)

// The raw path: a filtered period, or one not on whole UTC hours, is
// counted from the events and sessions themselves.

// durationSum is the sum of the sessions' durations, each rounded to the
// second once, as the summaries count them.
const durationSum = `SUM(` + sessionSeconds + `)`

// sessionSeconds is one session's duration as the summaries count it:
// its elapsed milliseconds rounded to the second, half up (pipeline.Seconds).
const sessionSeconds = `MAX(0, CAST(ROUND((julianday(s.lastActivity) - julianday(s.startedAt)) * 86400000) AS INTEGER) + 500) / 1000`

// rawTotals counts p's figures from the raw rows (the previous period of
// a report the summaries do not serve).
func (q *querier) rawTotals(p Period) (totals, error) {
	if q.ch != nil {
		_, t, err := q.chSeries(p, []time.Time{p.From, p.To})
		if err == nil && !q.filtered() {
			t.jsErrors, err = q.jsErrors(p)
		}
		return t, err
	}
	var row totalsRow
	err := q.db.NewQuery(`SELECT COUNT(*)` + q.eventsFrom() + ` AND e.type = 'pageView'`).
		WithContext(q.ctx).Bind(q.params(p, nil)).Row(&row.PageViews)
	if err != nil {
		return totals{}, fmt.Errorf("stats: page views: %w", err)
	}
	err = q.db.NewQuery(`SELECT COUNT(*), SUM(s.isNewVisitor), SUM(NOT s.isNewVisitor), SUM(s.isEngaged), SUM(s.eventCount <= 1), `+
		durationSum+q.sessionsFrom()).
		WithContext(q.ctx).Bind(q.params(p, nil)).
		Row(&row.Visitors, &row.NewVisitors, &row.Returning, &row.Engaged, &row.Bounces, &row.Duration)
	if err != nil {
		return totals{}, fmt.Errorf("stats: sessions: %w", err)
	}
	t := row.totals()
	if !q.filtered() {
		t.jsErrors, err = q.jsErrors(p)
	}
	return t, err
}

// rawSeries counts w's series, of the steps bounds delimit, and its
// totals from the raw rows (honoring the filters): page views by their
// time, sessions by their start, each grouped by quarter hour in the
// index's order. The first step may start before w ("24h" starts its
// first at the hour): only w's rows count. The totals count every row of
// w, in a step or not.
func (q *querier) rawSeries(w Period, bounds []time.Time) ([]Point, totals, error) {
	if q.ch != nil {
		return q.chSeries(w, bounds)
	}
	out, bucket := newSeries(bounds, w.Location())
	var tot totals
	var rows []struct {
		Sessions bool   `db:"sessions"` // a row of sessions, else of page views
		Quarter  string `db:"q"`
		N        int    `db:"n"`
		New      int    `db:"new"`
		Engaged  int    `db:"engaged"`
		Bounces  int    `db:"bounces"`
		Duration int    `db:"duration"`
	}
	err := q.db.NewQuery(`SELECT FALSE AS sessions, ` + quarterKey("e.timestamp") + ` AS q, COUNT(*) AS n, 0 AS new, 0 AS engaged,
			0 AS bounces, 0 AS duration` + q.eventsFrom() + ` AND e.type = 'pageView' GROUP BY q
		UNION ALL SELECT TRUE, ` + quarterKey("s.startedAt") + ` AS q, COUNT(*), SUM(s.isNewVisitor), SUM(s.isEngaged),
			SUM(s.eventCount <= 1), ` + durationSum + q.sessionsFrom() + ` GROUP BY q`).WithContext(q.ctx).Bind(q.params(w, nil)).All(&rows)
	if err != nil {
		return nil, tot, fmt.Errorf("stats: series: %w", err)
	}
	for _, r := range rows {
		t, ok := parseQuarter(r.Quarter)
		pt := bucket(t)
		if !ok {
			pt = nil
		}
		if !r.Sessions {
			tot.pageViews += float64(r.N)
			if pt != nil {
				pt.PageViews += r.N
			}
			continue
		}
		tot.addSessions(r.N, r.New, r.Engaged, r.Bounces, r.Duration)
		if pt != nil {
			pt.addSessions(r.N, r.Bounces, r.Duration)
		}
	}
	return out, tot, nil
}

// addSessions counts n sessions into t: isNew of them new, engaged
// engaged, bounces bounces, their durations summing to duration seconds.
func (t *totals) addSessions(n, isNew, engaged, bounces, duration int) {
	t.visitors += float64(n)
	t.newVisitors += float64(isNew)
	t.returning += float64(n - isNew)
	t.engaged += float64(engaged)
	t.bounces += float64(bounces)
	t.duration += float64(duration)
}

// addSessions counts n sessions started in the step into pt.
func (pt *Point) addSessions(n, bounces, duration int) {
	pt.Visitors += n
	pt.bounces += bounces
	pt.duration += duration
}

// quarterKey groups a stored date by UTC quarter hour ("2026-11-30 01:2"
// is 01:30–01:45): every time zone's hours start on one.
func quarterKey(col string) string {
	return `substr(` + col + `, 1, 14) || (CAST(substr(` + col + `, 15, 2) AS INTEGER) / 15)`
}

func parseQuarter(k string) (time.Time, bool) {
	if len(k) != 15 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02 15:", k[:14])
	if err != nil || k[14] < '0' || k[14] > '3' {
		return time.Time{}, false
	}
	return t.Add(time.Duration(k[14]-'0') * 15 * time.Minute), true
}

// sessionDims are the session dimensions the breakdowns list, with
// the expressions that read them.
var sessionDims = []struct{ dim, expr string }{
	{"entryPage", "s.entryPath"}, {"exitPage", "s.exitPath"}, {"referrer", "s.referrer"}, {"device", "s.device"},
	{"browser", "s.browser"}, {"os", "s.os"}, {"language", "s.language"}, {"country", "s.country"}, {"region", "s.state"},
	{"utm_source", "json_extract(s.utm, '$.utm_source')"}, {"utm_medium", "json_extract(s.utm, '$.utm_medium')"},
	{"utm_campaign", "json_extract(s.utm, '$.utm_campaign')"}, {"utm_term", "json_extract(s.utm, '$.utm_term')"},
	{"utm_content", "json_extract(s.utm, '$.utm_content')"}, {"channel", "s.channel"}, {"source", "s.source"},
	// not a summary dimension: top() leaves it out, so only filtered
	// reports (read from raw rows alone) list it
	{"referrerUrl", "s.referrer"},
}

// raw computes p's totals, series and breakdowns from the raw rows in
// two statements, one over the events (rawEvents) and one over the
// sessions (rawSessions); n <= 0 keeps every key (a part of a period,
// whose caller ranks them).
func (q *querier) raw(p Period, n int) (totals, []Point, map[string][]Item, error) {
	var tot totals
	series, bucket := newSeries(p.Buckets(), p.Location())
	out := emptyTop()
	params := q.params(p, dbx.Params{"n": n})
	events := q.rawEvents
	if len(q.c.sess) > 0 {
		events = func(params dbx.Params, bucket func(time.Time) *Point, tot *totals, out map[string][]Item) error {
			return q.streamEvents(p, n, params, bucket, tot, out)
		}
	}
	sessions := q.rawSessions
	if q.ch != nil {
		events, sessions = q.chEvents(p, n), q.chSessions(p)
	}
	// the two statements read different rows into different fields (of
	// tot and of the series' points), so they run side by side, each on
	// a connection of its own
	var (
		g         errgroup.Group
		dimCounts []map[string]int
	)
	g.Go(func() error { return events(params, bucket, &tot, out) })
	g.Go(func() (err error) {
		dimCounts, err = sessions(params, bucket, &tot)
		return err
	})
	if err := g.Wait(); err != nil {
		return tot, nil, nil, err
	}
	var err error
	for i, c := range sessionDims {
		out[c.dim] = sessionItems(c.dim, dimCounts[i], n)
	}
	if q.filtered() {
		delete(out, "jsError") // error groups are not linked to sessions
		return tot, series, out, nil
	}
	delete(out, "referrerUrl") // a drill-down of filtered reports only, whichever rows they read
	if tot.jsErrors, err = q.jsErrors(p); err != nil {
		return tot, nil, nil, err
	}
	if n <= 0 {
		return tot, series, out, nil // a part of a period: its caller counts them
	}
	return tot, series, out, q.jsErrorTop(p, n, out)
}

// rawEvents reads the events in one statement: page views per quarter
// hour (the total and the series) and the top pages and custom events
// (ranked per type) into out. Each part reads the events through the
// index itself: writing them to a temporary table costs more than a
// second index scan. With session filters streamEvents reads them.
func (q *querier) rawEvents(params dbx.Params, bucket func(time.Time) *Point, tot *totals, out map[string][]Item) error {
	var evRows []dimRow
	err := q.db.NewQuery(`WITH sel AS NOT MATERIALIZED (SELECT ` + quarterKey("e.timestamp") + ` AS q, e.type AS t,
			CASE e.type WHEN 'custom' THEN e.eventName ELSE e.path END AS k` + q.eventsFrom() + ` AND e.type IN ('pageView', 'custom'))
		SELECT 'series' AS dim, q AS key, COUNT(*) AS n FROM sel WHERE t = 'pageView' GROUP BY q
		UNION ALL SELECT dim, key, n FROM (
			SELECT dim, key, n, ROW_NUMBER() OVER (PARTITION BY dim ORDER BY n DESC, key) AS rn FROM (
				SELECT CASE t WHEN 'custom' THEN 'customEvent' ELSE 'page' END AS dim, k AS key, COUNT(*) AS n FROM sel GROUP BY t, k))
		WHERE {:n} <= 0 OR rn <= {:n}`).WithContext(q.ctx).Bind(params).All(&evRows)
	if err != nil {
		return fmt.Errorf("stats: events: %w", err)
	}
	for _, r := range evRows {
		if r.Dim != "series" {
			out[r.Dim] = append(out[r.Dim], Item{Key: r.Key, Count: r.Count})
			continue
		}
		// every page view of the window counts in the total; the series
		// places it by its quarter hour
		tot.pageViews += float64(r.Count)
		if t, ok := parseQuarter(r.Key); ok {
			if pt := bucket(t); pt != nil {
				pt.PageViews += r.Count
			}
		}
	}
	for _, items := range out { // ranked per type, in any order
		sortItems(items)
	}
	return nil
}

// rawSessions reads the sessions that count in one pass over their rows:
// their counters into tot, their starts per quarter hour into the series
// and the count of every value of each of sessionDims (in its order),
// which it returns. Summing here beats a GROUP BY per dimension, with
// which SQLite sorts the sessions a dozen times.
func (q *querier) rawSessions(params dbx.Params, bucket func(time.Time) *Point, tot *totals) ([]map[string]int, error) {
	cols := []string{quarterKey("s.startedAt"), "s.isNewVisitor", "s.isEngaged", "s.eventCount <= 1",
		sessionSeconds}
	for _, c := range sessionDims {
		cols = append(cols, "COALESCE("+c.expr+", '')")
	}
	rows, err := q.db.NewQuery(`SELECT ` + strings.Join(cols, ", ") + q.sessionsFrom()).WithContext(q.ctx).Bind(params).Rows()
	if err != nil {
		return nil, fmt.Errorf("stats: sessions: %w", err)
	}
	defer rows.Close()
	var (
		quarter                      string
		isNew, engaged, bounce, secs int64
		dims                         = make([]string, len(sessionDims))
		dest                         = []any{&quarter, &isNew, &engaged, &bounce, &secs}
		counts                       = make([]map[string]int, len(sessionDims))
		lastQuarter                  string
		lastPoint                    *Point
	)
	for i := range dims {
		dest = append(dest, &dims[i])
		counts[i] = map[string]int{}
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("stats: sessions: %w", err)
		}
		tot.visitors++
		tot.newVisitors += float64(isNew)
		tot.returning += float64(1 - isNew)
		tot.engaged += float64(engaged)
		tot.bounces += float64(bounce)
		tot.duration += float64(secs)
		if quarter != lastQuarter || lastPoint == nil {
			lastQuarter, lastPoint = quarter, nil
			if t, ok := parseQuarter(quarter); ok {
				lastPoint = bucket(t)
			}
		}
		if lastPoint != nil {
			lastPoint.Visitors++
			lastPoint.bounces += int(bounce)
			lastPoint.duration += int(secs)
		}
		for i, v := range dims {
			counts[i][v]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: sessions: %w", err)
	}
	return counts, nil
}

// sessionItems turns the counts of one session dimension's stored values
// into its breakdown, keyed as the breakdown lists them, the top n
// (every key when n <= 0).
func sessionItems(dim string, counts map[string]int, n int) []Item {
	keys := map[string]int{}
	for key, count := range counts {
		switch {
		case dim == "referrer":
			key = domain.ReferrerKey(key)
		case strings.HasPrefix(dim, "utm_") || dim == "referrerUrl":
			if key == "" {
				continue // campaigns list the sessions that came with one
			}
		case key == "" && dim != "entryPage" && dim != "exitPage":
			key = "Unknown"
		}
		keys[key] += count
	}
	items := make([]Item, 0, len(keys))
	for k, c := range keys {
		items = append(items, Item{Key: k, Count: c})
	}
	sortItems(items)
	if n > 0 {
		items = items[:min(n, len(items))]
	}
	return items
}
