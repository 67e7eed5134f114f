package stats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/schema"
)

// ErrSiteNotFound is returned for an unknown website id.
var ErrSiteNotFound = errors.New("stats: website not found")

const pbLayout = "2006-01-02 15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(pbLayout) }

// Request is what a report is asked for.
type Request struct {
	Period  Period
	Filters []Filter
	// Top is how many keys each breakdown lists (default 10).
	Top int
	// Now is the clock the active users are counted by; pass the instant
	// the period was parsed with.
	Now time.Time
}

type totals struct {
	pageViews, visitors, newVisitors, returning, engaged, bounces, duration, jsErrors float64
}

// Query builds the report of one website.
func Query(ctx context.Context, app core.App, websiteID string, req Request) (*Report, error) {
	p := req.Period
	if req.Top <= 0 {
		req.Top = 10
	}
	site, err := app.FindRecordById(schema.Websites, websiteID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrSiteNotFound
	}
	if err != nil {
		return nil, err
	}
	q, err := newQuerier(ctx, app, websiteID, p, req.Filters)
	if err != nil {
		return nil, err
	}
	var (
		cur    totals
		series []Point
		top    map[string][]Item
	)
	if q.useSummaries(p) {
		if cur, err = q.totals(p); err != nil {
			return nil, err
		}
		if series, err = q.series(p); err != nil {
			return nil, err
		}
		if top, err = q.top(p, req.Top); err != nil {
			return nil, err
		}
	} else if cur, series, top, err = q.raw(p, req.Top); err != nil {
		return nil, err
	}
	prev, err := q.totals(*p.Previous)
	if err != nil {
		return nil, err
	}
	r := &Report{
		Site:    Site{ID: site.Id, Name: site.GetString("name"), Domain: site.GetString("domain"), TrackingID: site.GetString("trackingId")},
		Period:  p,
		Filters: append([]Filter{}, req.Filters...),

		PageViews:         metric(cur.pageViews, prev.pageViews),
		Visitors:          metric(cur.visitors, prev.visitors),
		NewVisitors:       metric(cur.newVisitors, prev.newVisitors),
		ReturningVisitors: metric(cur.returning, prev.returning),
		EngagementRate:    metric(pct(cur.engaged, cur.visitors), pct(prev.engaged, prev.visitors)),
		BounceRate:        metric(pct(cur.bounces, cur.visitors), pct(prev.bounces, prev.visitors)),
		AvgDuration:       metric(ratio(cur.duration, cur.visitors), ratio(prev.duration, prev.visitors)),
	}
	if !q.filtered() {
		m := metric(cur.jsErrors, prev.jsErrors)
		r.JSErrors = &m
	}
	r.Series, r.Top = series, top
	r.SeriesUnit = "day"
	if p.Hourly {
		r.SeriesUnit = "hour"
	}
	if r.Goals, err = q.goals(p, cur.visitors); err != nil {
		return nil, err
	}
	r.ActiveUsers, err = ActiveUsers(ctx, q.db, websiteID, req.Now)
	return r, err
}

// pct is a rounded percentage with one decimal, half up. part and whole
// are counts: computed in integers, so that 201 of 400 is 50.3 (in
// floating point 201/400*1000 is 502.4999…).
func pct(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	p, w := int64(math.Round(part)), int64(math.Round(whole))
	return float64((2000*p+w)/(2*w)) / 10
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(a/b + 0.5))
}

type querier struct {
	ctx  context.Context
	app  core.App
	db   dbx.Builder
	site string
	c    *conds
	// the goals of the site by name, for goal filters and conversions
	goalSpecs []goal.Spec
}

// newQuerier turns the filters into SQL conditions. Conditions that Go
// must decide (referrer hosts, page patterns with "*") are resolved into
// the stored values they match over the period and its previous one.
func newQuerier(ctx context.Context, app core.App, site string, p Period, filters []Filter) (*querier, error) {
	q := &querier{ctx: ctx, app: app, db: app.DB(), site: site, c: newConds()}
	span := Period{From: p.Previous.From, To: p.To}
	recs, err := app.FindAllRecords(schema.Goals, dbx.HashExp{"website": site})
	if err != nil {
		return nil, fmt.Errorf("stats: goals: %w", err)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].GetString("name") < recs[j].GetString("name") })
	for _, r := range recs {
		// a goal saved around the record hooks (a plain PocketBase) that
		// is not valid is left out rather than failing the report
		if g := goal.FromRecord(r); g.Validate() == nil {
			q.goalSpecs = append(q.goalSpecs, g)
		}
	}
	for _, f := range filters {
		c := q.c
		switch {
		case f.Dim == "page":
			v := c.param(f.Value)
			neg := f.Not
			c.ev = append(c.ev, func(a string) string { return not(neg, a+".path = "+v) })
		case f.Dim == "event":
			v := c.param(f.Value)
			neg := f.Not
			c.ev = append(c.ev, func(a string) string {
				return not(neg, fmt.Sprintf("%[1]s.type = 'custom' AND %[1]s.eventName = %[2]s", a, v))
			})
		case f.Dim == "goal":
			g, ok := q.goal(f.Value)
			if !ok {
				return nil, fmt.Errorf("%w: no goal named %q", ErrBadFilter, f.Value)
			}
			cond, err := c.goalCond(g, q.resolvePaths(span))
			if err != nil {
				return nil, err
			}
			neg := f.Not
			c.ev = append(c.ev, func(a string) string { return not(neg, cond(a)) })
		case f.Dim == "referrer":
			raws, err := q.resolveReferrers(span, f.Value)
			if err != nil {
				return nil, err
			}
			c.sess = append(c.sess, not(f.Not, "s.referrer IN (SELECT value FROM json_each("+c.param(jsonList(raws))+"))"))
		case strings.HasPrefix(f.Dim, "utm_"):
			c.sess = append(c.sess, not(f.Not, fmt.Sprintf("COALESCE(json_extract(s.utm, '$.%s'), '') = %s", f.Dim, c.param(f.Value))))
		default:
			col, ok := sessionColumn[f.Dim]
			if !ok {
				return nil, fmt.Errorf("%w: unknown dimension %q", ErrBadFilter, f.Dim)
			}
			expr := "s." + col + " = " + c.param(f.Value)
			if col != "entryPath" && col != "exitPath" {
				// breakdowns list sessions without a value as Unknown
				expr = "COALESCE(NULLIF(s." + col + ", ''), 'Unknown') = " + c.param(f.Value)
			}
			c.sess = append(c.sess, not(f.Not, expr))
		}
	}
	return q, nil
}

func (q *querier) goal(name string) (goal.Spec, bool) {
	for _, g := range q.goalSpecs {
		if g.Name == name {
			return g, true
		}
	}
	return goal.Spec{}, false
}

func (q *querier) filtered() bool { return len(q.c.sess) > 0 || len(q.c.ev) > 0 }

// resolvePaths lists the page paths with prefix that pattern matches
// among the page views of span (through the (website, path, timestamp)
// index).
func (q *querier) resolvePaths(span Period) func(string, *goal.Pattern) ([]string, error) {
	return func(prefix string, pat *goal.Pattern) ([]string, error) {
		var paths []string
		err := q.db.NewQuery(`SELECT DISTINCT path FROM events WHERE website = {:w} AND path >= {:lo} AND path < {:hi}
			AND timestamp >= {:from} AND timestamp < {:to}`).
			Bind(dbx.Params{"w": q.site, "lo": prefix, "hi": upper(prefix), "from": ts(span.From), "to": ts(span.To)}).
			WithContext(q.ctx).Column(&paths)
		if err != nil {
			return nil, fmt.Errorf("stats: goal paths: %w", err)
		}
		out := paths[:0]
		for _, p := range paths {
			if pat.Match(p) {
				out = append(out, p)
			}
		}
		return out, nil
	}
}

// resolveReferrers lists the stored referrers whose breakdown key is key
// among the sessions active in span.
func (q *querier) resolveReferrers(span Period, key string) ([]string, error) {
	var refs []string
	err := q.db.NewQuery(`SELECT DISTINCT referrer FROM sessions WHERE website = {:w} AND lastActivity >= {:from} AND startedAt < {:to}`).
		Bind(dbx.Params{"w": q.site, "from": ts(span.From), "to": ts(span.To)}).WithContext(q.ctx).Column(&refs)
	if err != nil {
		return nil, fmt.Errorf("stats: referrers: %w", err)
	}
	out := refs[:0]
	for _, r := range refs {
		if domain.ReferrerKey(r) == key {
			out = append(out, r)
		}
	}
	return out, nil
}

// useSummaries reports whether the figures of p can be summed from the
// hourly summaries: no filter, not a "to the second" period, and every
// boundary on a whole UTC hour.
func (q *querier) useSummaries(p Period) bool {
	if q.filtered() || p.FromRaw {
		return false
	}
	return onUTCHours(p.Buckets()...) && onUTCHours(p.From, p.To)
}

// params returns the query's parameters: the filters', the site and the
// window.
func (q *querier) params(p Period, extra dbx.Params) dbx.Params {
	out := dbx.Params{"w": q.site, "from": ts(p.From), "to": ts(p.To)}
	for k, v := range q.c.params {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// evConds are the event filters for alias a, each preceded by AND.
func (q *querier) evConds(a string) string {
	var b strings.Builder
	for _, f := range q.c.ev {
		b.WriteString(" AND " + f(a))
	}
	return b.String()
}

func (q *querier) sessConds() string {
	var b strings.Builder
	for _, s := range q.c.sess {
		b.WriteString(" AND " + s)
	}
	return b.String()
}

// hasEvent is, when there are event filters, the condition that session s
// has at least one selected event in the window.
func (q *querier) hasEvent() string {
	if len(q.c.ev) == 0 {
		return ""
	}
	return ` AND s.id IN (SELECT e2.session FROM events e2 WHERE e2.website = {:w} AND e2.timestamp >= {:from}
		AND e2.timestamp < {:to}` + q.evConds("e2") + `)`
}

// sessionsFrom selects the sessions that count in the window: started in
// it, matching the session filters and, with event filters, having a
// selected event in it.
func (q *querier) sessionsFrom() string {
	return ` FROM sessions s WHERE s.website = {:w} AND s.startedAt >= {:from} AND s.startedAt < {:to}` + q.sessConds() + q.hasEvent()
}

// eventsFrom selects the events of the window that match the event
// filters and whose session matches the session filters.
func (q *querier) eventsFrom() string {
	join := ""
	if len(q.c.sess) > 0 {
		join = " JOIN sessions s ON s.id = e.session"
	}
	return ` FROM events e` + join + ` WHERE e.website = {:w} AND e.timestamp >= {:from} AND e.timestamp < {:to}` +
		q.evConds("e") + q.sessConds()
}

// durationSum is the sum of the sessions' durations, each rounded to the
// second once, as the summaries count them.
const durationSum = `SUM(` + sessionSeconds + `)`

// sessionSeconds is one session's duration as the summaries count it:
// its elapsed milliseconds rounded to the second, half up (pipeline.Seconds).
const sessionSeconds = `MAX(0, CAST(ROUND((julianday(s.lastActivity) - julianday(s.startedAt)) * 86400000) AS INTEGER) + 500) / 1000`

func (q *querier) totals(p Period) (totals, error) {
	var row struct {
		PageViews, Visitors, NewVisitors, Returning, Engaged, Bounces, Duration, JSErrors sql.NullFloat64
	}
	if q.useSummaries(p) {
		err := q.db.NewQuery(`SELECT SUM(pageViews), SUM(visitors), SUM(newVisitors), SUM(returningVisitors),
			SUM(engagedSessions), SUM(bounces), SUM(durationSeconds), SUM(jsErrors)
			FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
			WithContext(q.ctx).Bind(q.params(p, nil)).
			Row(&row.PageViews, &row.Visitors, &row.NewVisitors, &row.Returning, &row.Engaged, &row.Bounces, &row.Duration, &row.JSErrors)
		if err != nil {
			return totals{}, fmt.Errorf("stats: summaries: %w", err)
		}
	} else {
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
		if !q.filtered() {
			// JS errors are counted per hour only (js_errors holds
			// lifetime counts): the hours the window touches; a
			// half-hour zone's day counts the whole hours it touches
			err = q.db.NewQuery(`SELECT SUM(jsErrors) FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
				WithContext(q.ctx).Bind(q.params(hours(p), nil)).Row(&row.JSErrors)
			if err != nil {
				return totals{}, fmt.Errorf("stats: js errors: %w", err)
			}
		}
	}
	return totals{row.PageViews.Float64, row.Visitors.Float64, row.NewVisitors.Float64, row.Returning.Float64,
		row.Engaged.Float64, row.Bounces.Float64, row.Duration.Float64, row.JSErrors.Float64}, nil
}

// hours widens p to whole UTC hours, for summary rows.
func hours(p Period) Period {
	to := p.To.Truncate(time.Hour)
	if to.Before(p.To) {
		to = to.Add(time.Hour)
	}
	return Period{From: p.From.Truncate(time.Hour), To: to}
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

// newSeries returns the points of p's series (every local hour or day,
// each present) and the function that finds the point an instant falls
// in (nil outside the period).
func newSeries(p Period) ([]Point, func(time.Time) *Point) {
	bounds := p.Buckets()
	out := make([]Point, len(bounds)-1)
	for i := range out {
		out[i].Time = bounds[i].In(p.Location())
	}
	return out, func(t time.Time) *Point {
		i := sort.Search(len(bounds), func(i int) bool { return bounds[i].After(t) }) - 1
		if i < 0 || i >= len(out) {
			return nil
		}
		return &out[i]
	}
}

// series sums p's series from the hourly summaries.
func (q *querier) series(p Period) ([]Point, error) {
	out, bucket := newSeries(p)
	var hoursRows []struct {
		Date      string `db:"date"`
		PageViews int    `db:"pageViews"`
		Visitors  int    `db:"visitors"`
	}
	err := q.db.NewQuery(`SELECT date, pageViews, visitors FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
		WithContext(q.ctx).Bind(q.params(p, nil)).All(&hoursRows)
	if err != nil {
		return nil, err
	}
	for _, h := range hoursRows {
		t, err := time.Parse(pbLayout, h.Date)
		if err != nil {
			return nil, fmt.Errorf("stats: summary date %q: %w", h.Date, err)
		}
		if pt := bucket(t); pt != nil {
			pt.PageViews += h.PageViews
			pt.Visitors += h.Visitors
		}
	}
	return out, nil
}

type dimRow struct {
	Dim   string `db:"dim"`
	Key   string `db:"key"`
	Count int    `db:"n"`
}

// emptyTop is a breakdown map with every dimension present.
func emptyTop() map[string][]Item {
	out := map[string][]Item{}
	for _, d := range schema.Dimensions {
		out[d] = []Item{}
	}
	return out
}

// sortItems orders a breakdown: highest count first, then by key.
func sortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool {
		if items[i].Count != items[j].Count {
			return items[i].Count > items[j].Count
		}
		return items[i].Key < items[j].Key
	})
}

// counts accumulates breakdown counts by dimension and key.
type counts map[string]map[string]int

func (c counts) add(dim, key string, n int) {
	if c[dim] == nil {
		c[dim] = map[string]int{}
	}
	c[dim][key] += n
}

// utcDay is the UTC midnight of t, or of the next day when up and t is
// not a midnight.
func utcDay(t time.Time, up bool) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	if up && d.Before(t) {
		d = d.Add(24 * time.Hour)
	}
	return d
}

// top returns the topN keys of every dimension of a period the summaries
// serve (useSummaries). The breakdown summaries are daily (UTC): the whole
// UTC days inside the period are read from them and the partial days at
// its ends (a site in another time zone) from the raw rows.
func (q *querier) top(p Period, n int) (map[string][]Item, error) {
	c := counts{}
	d0, d1 := utcDay(p.From, true), utcDay(p.To, false)
	var edges []Period
	if !d0.Before(d1) { // no whole UTC day inside
		edges = append(edges, p)
	} else {
		if p.From.Before(d0) {
			edges = append(edges, Period{From: p.From, To: d0})
		}
		if d1.Before(p.To) {
			edges = append(edges, Period{From: d1, To: p.To})
		}
		limit := ""
		if len(edges) == 0 {
			// the summaries alone decide the ranking
			limit = " WHERE rn <= {:n}"
		}
		var rows []dimRow
		err := q.db.NewQuery(`SELECT dim, key, n FROM (
				SELECT dimension AS dim, key, SUM(count) AS n,
					ROW_NUMBER() OVER (PARTITION BY dimension ORDER BY SUM(count) DESC, key) AS rn
				FROM dash_sum_items WHERE website = {:w} AND date >= {:from} AND date < {:to} AND dimension != 'jsError'
				GROUP BY dimension, key HAVING SUM(count) > 0)` + limit).
			WithContext(q.ctx).Bind(q.params(Period{From: d0, To: d1}, dbx.Params{"n": n})).All(&rows)
		if err != nil {
			return nil, fmt.Errorf("stats: top: %w", err)
		}
		for _, r := range rows {
			c.add(r.Dim, r.Key, r.Count)
		}
	}
	for _, e := range edges {
		_, _, items, err := q.raw(e, 0)
		if err != nil {
			return nil, err
		}
		for dim, list := range items {
			for _, it := range list {
				c.add(dim, it.Key, it.Count)
			}
		}
	}
	out := map[string][]Item{}
	for _, d := range schema.Dimensions {
		items := make([]Item, 0, len(c[d]))
		for k, n := range c[d] {
			if n > 0 {
				items = append(items, Item{Key: k, Count: n})
			}
		}
		sortItems(items)
		out[d] = items[:min(n, len(items))]
	}
	return out, q.jsErrorTop(p, n, out)
}

// jsErrorTop sets out["jsError"]: JS errors by message are counted per
// UTC day, so over the UTC days p touches; none under filters (error
// groups are not linked to sessions).
func (q *querier) jsErrorTop(p Period, n int, out map[string][]Item) error {
	if q.filtered() {
		delete(out, "jsError")
		return nil
	}
	var js []dimRow
	err := q.db.NewQuery(`SELECT 'jsError' AS dim, key, SUM(count) AS n FROM dash_sum_items
		WHERE website = {:w} AND date >= {:from} AND date < {:to} AND dimension = 'jsError'
		GROUP BY key HAVING n > 0 ORDER BY n DESC, key LIMIT {:n}`).
		WithContext(q.ctx).Bind(q.params(Period{From: utcDay(p.From, false), To: utcDay(p.To, true)}, dbx.Params{"n": n})).All(&js)
	out["jsError"] = []Item{}
	for _, r := range js {
		out["jsError"] = append(out["jsError"], Item{Key: r.Key, Count: r.Count})
	}
	return err
}

// sessionDims are the session dimensions the breakdowns list, with
// the expressions that read them.
var sessionDims = []struct{ dim, expr string }{
	{"entryPage", "s.entryPath"}, {"exitPage", "s.exitPath"}, {"referrer", "s.referrer"}, {"device", "s.device"},
	{"browser", "s.browser"}, {"os", "s.os"}, {"language", "s.language"}, {"country", "s.country"},
	{"utm_source", "json_extract(s.utm, '$.utm_source')"}, {"utm_medium", "json_extract(s.utm, '$.utm_medium')"},
	{"utm_campaign", "json_extract(s.utm, '$.utm_campaign')"},
}

// raw computes p's totals, series and breakdowns from the raw rows in
// two statements. The events: page views per quarter hour (the total and
// the series) and the top pages and custom events (ranked per type);
// with session filters, which join every event to its session, the
// events are selected and joined once (materialized), else each part
// reads them through the index itself (writing them to a temporary table
// costs more than a second index scan). The sessions that count: their
// counters, starts per quarter hour and dimensions are summed here in one
// pass over their rows (a GROUP BY per dimension in SQLite sorts the
// sessions a dozen times).
func (q *querier) raw(p Period, n int) (totals, []Point, map[string][]Item, error) {
	var tot totals
	series, bucket := newSeries(p)
	out := emptyTop()
	params := q.params(p, dbx.Params{"n": n})

	hint := "NOT MATERIALIZED"
	if len(q.c.sess) > 0 {
		hint = "MATERIALIZED"
	}
	var evRows []dimRow
	err := q.db.NewQuery(`WITH sel AS ` + hint + ` (SELECT ` + quarterKey("e.timestamp") + ` AS q, e.type AS t,
			CASE e.type WHEN 'custom' THEN e.eventName ELSE e.path END AS k` + q.eventsFrom() + ` AND e.type IN ('pageView', 'custom'))
		SELECT 'series' AS dim, q AS key, COUNT(*) AS n FROM sel WHERE t = 'pageView' GROUP BY q
		UNION ALL SELECT dim, key, n FROM (
			SELECT dim, key, n, ROW_NUMBER() OVER (PARTITION BY dim ORDER BY n DESC, key) AS rn FROM (
				SELECT CASE t WHEN 'custom' THEN 'customEvent' ELSE 'page' END AS dim, k AS key, COUNT(*) AS n FROM sel GROUP BY t, k))
		WHERE {:n} <= 0 OR rn <= {:n}`).WithContext(q.ctx).Bind(params).All(&evRows)
	if err != nil {
		return tot, nil, nil, fmt.Errorf("stats: events: %w", err)
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

	cols := []string{quarterKey("s.startedAt"), "s.isNewVisitor", "s.isEngaged", "s.eventCount <= 1",
		sessionSeconds}
	for _, c := range sessionDims {
		cols = append(cols, "COALESCE("+c.expr+", '')")
	}
	rows, err := q.db.NewQuery(`SELECT ` + strings.Join(cols, ", ") + q.sessionsFrom()).WithContext(q.ctx).Bind(params).Rows()
	if err != nil {
		return tot, nil, nil, fmt.Errorf("stats: sessions: %w", err)
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
			return tot, nil, nil, fmt.Errorf("stats: sessions: %w", err)
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
		}
		for i, v := range dims {
			counts[i][v]++
		}
	}
	if err := rows.Err(); err != nil {
		return tot, nil, nil, fmt.Errorf("stats: sessions: %w", err)
	}
	for i, c := range sessionDims {
		keys := map[string]int{}
		for key, count := range counts[i] {
			switch {
			case c.dim == "referrer":
				key = domain.ReferrerKey(key)
			case strings.HasPrefix(c.dim, "utm_"):
				if key == "" {
					continue // campaigns list the sessions that came with one
				}
			case key == "" && c.dim != "entryPage" && c.dim != "exitPage":
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
		out[c.dim] = items
	}

	if q.filtered() {
		delete(out, "jsError") // error groups are not linked to sessions
		return tot, series, out, nil
	}
	// JS errors are counted per hour only (js_errors holds lifetime
	// counts): the hours the window touches
	var jsTotal sql.NullFloat64
	err = q.db.NewQuery(`SELECT SUM(jsErrors) FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
		WithContext(q.ctx).Bind(q.params(hours(p), nil)).Row(&jsTotal)
	if err != nil {
		return tot, nil, nil, fmt.Errorf("stats: js errors: %w", err)
	}
	tot.jsErrors = jsTotal.Float64
	if n <= 0 {
		return tot, series, out, nil // a part of a period: its caller counts them
	}
	return tot, series, out, q.jsErrorTop(p, n, out)
}
