// Package chstats reads a website's report from the ClickHouse events
// store (the tables of clickhouse.Schema): the figures internal/stats
// counts from SQLite's raw rows, with the same semantics, for a window
// and its filters. It is the read side of issue 31's spike, measured by
// BenchmarkCountryFilter30Days; docs/clickhouse.md has the figures.
//
// Every value reaches SQL through clickhouse.Bind, and every statement
// runs on ClickHouse 18.16.
package chstats

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/domain"
	"golang.org/x/sync/errgroup"
)

// ErrBadFilter is wrapped by the error of a filter Report cannot apply.
var ErrBadFilter = errors.New("chstats: bad filter")

// Filter keeps the rows whose dimension Dim is Value, or is not when Not.
// Dim is a session dimension (country, region, device, browser, os,
// language, referrer, entryPage, exitPage, channel, source, utm_source,
// utm_medium, utm_campaign, utm_term, utm_content) or page, the path of
// an event. A session without a value is "Unknown" in every dimension
// but entryPage, exitPage, referrer and the utm_* ones, as the
// breakdowns list it; referrer compares the stored value.
type Filter struct {
	Dim, Value string
	Not        bool
}

// Totals are a period's figures.
type Totals struct {
	PageViews   uint64
	Visitors    uint64 // sessions started in the period
	NewVisitors uint64
	Bounces     uint64 // sessions of at most one event
	// Duration is the sum of the sessions' durations, each its elapsed
	// milliseconds rounded to the second, half up
	Duration uint64
}

// Point is one local day of the series.
type Point struct {
	Day       time.Time // midnight in the report's location
	PageViews uint64    // by the event's time
	Visitors  uint64    // by the session's start
}

// Item is one key of a breakdown.
type Item struct {
	Key   string
	Count uint64
}

// Result is a report: the window's totals, series and breakdowns (the
// top pages by page views, the top sessions of each session dimension)
// and the totals of the period of equal length before it.
type Result struct {
	Totals
	Series   []Point
	Top      map[string][]Item
	Previous Totals
}

// TopN is the length of each breakdown.
const TopN = 10

// sessionDims are the session dimensions, with the expression over the
// sessions table that reads each.
var sessionDims = []struct{ dim, expr string }{
	{"entryPage", "entryPath"}, {"exitPage", "exitPath"}, {"referrer", "referrer"}, {"device", "device"},
	{"browser", "browser"}, {"os", "os"}, {"language", "language"}, {"country", "country"}, {"region", "state"},
	{"utm_source", utmExpr("utm_source")}, {"utm_medium", utmExpr("utm_medium")},
	{"utm_campaign", utmExpr("utm_campaign")}, {"utm_term", utmExpr("utm_term")},
	{"utm_content", utmExpr("utm_content")}, {"channel", "channel"}, {"source", "source"},
}

// utmExpr reads one key of the utm column's JSON object ("" without).
// 18.16 has no JSONExtract (19.x): visitParamExtractString reads a flat
// object's string values, which is what the writer stores.
func utmExpr(key string) string { return "visitParamExtractString(utm, '" + key + "')" }

// quarterMs is the step the figures are grouped by in SQL: every time
// zone's days start on a quarter hour, so Go places each step in its
// local day whatever loc is, and no zone name is sent to the server.
const quarterMs = 15 * 60 * 1000

// Report counts website's figures over [from, to) with filters, the
// series by local day of loc. Session filters select the sessions that
// match them (their events count, and they count by their start);
// page filters select the events whose path matches, and the sessions
// started in the period with such an event in it. from and to are on
// quarter hours (every zone's midnights are), from before to.
func Report(ctx context.Context, c *clickhouse.Client, website string, from, to time.Time, loc *time.Location, filters []Filter) (*Result, error) {
	if from.UnixMilli()%quarterMs != 0 || to.UnixMilli()%quarterMs != 0 || !from.Before(to) {
		return nil, fmt.Errorf("chstats: the window %v–%v is not a span of quarter hours", from, to)
	}
	q, err := newQuery(website, filters)
	if err != nil {
		return nil, err
	}
	prevFrom := from.Add(-to.Sub(from))
	res := &Result{Top: map[string][]Item{}}
	series, bucket := newSeries(from, to, loc)
	var (
		g        errgroup.Group
		pvSteps  []step
		visSteps []step
		pages    []Item
		dims     []dimRow
	)
	// four statements side by side: the server runs each on its own
	// threads, and none waits for another's result
	g.Go(func() (err error) { pvSteps, err = q.pageViews(ctx, c, prevFrom, to); return })
	g.Go(func() (err error) { visSteps, err = q.sessionSteps(ctx, c, prevFrom, from, to); return })
	g.Go(func() (err error) { pages, err = q.topPages(ctx, c, from, to); return })
	g.Go(func() (err error) { dims, err = q.sessionDims(ctx, c, from, to); return })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	fromMs := from.UnixMilli()
	for _, s := range pvSteps {
		t := &res.Totals
		if s.Q*quarterMs < fromMs {
			t = &res.Previous
		}
		t.PageViews += s.N
		if pt := bucket(s.Q); pt != nil {
			pt.PageViews += s.N
		}
	}
	for _, s := range visSteps {
		t := &res.Totals
		if s.Q*quarterMs < fromMs {
			t = &res.Previous
		}
		t.Visitors += s.N
		t.NewVisitors += s.New
		t.Bounces += s.Bounces
		t.Duration += s.Duration
		if pt := bucket(s.Q); pt != nil {
			pt.Visitors += s.N
		}
	}
	res.Series = series
	res.Top["page"] = pages
	counts := map[string]map[string]uint64{}
	for _, d := range sessionDims {
		counts[d.dim] = map[string]uint64{}
	}
	for _, r := range dims {
		counts[r.Dim][r.Key] += r.N
	}
	for _, d := range sessionDims {
		res.Top[d.dim] = sessionItems(d.dim, counts[d.dim])
	}
	return res, nil
}

// query holds a report's filters as SQL conditions, values bound.
type query struct {
	website string
	sess    []string // over the sessions table
	ev      []string // over the events table
}

func newQuery(website string, filters []Filter) (*query, error) {
	q := &query{website: website}
	for _, f := range filters {
		var (
			expr string
			err  error
		)
		switch col := dimExpr(f.Dim); {
		case f.Dim == "page":
			expr, err = clickhouse.Bind("path = ?", f.Value)
		case col == "":
			return nil, fmt.Errorf("%w: unknown dimension %q", ErrBadFilter, f.Dim)
		case f.Dim == "entryPage" || f.Dim == "exitPage" || f.Dim == "referrer" || strings.HasPrefix(f.Dim, "utm_"):
			expr, err = clickhouse.Bind(col+" = ?", f.Value)
		default:
			// breakdowns list sessions without a value as Unknown
			expr, err = clickhouse.Bind("if("+col+" = '', 'Unknown', "+col+") = ?", f.Value)
		}
		if err != nil {
			return nil, err
		}
		if f.Not {
			expr = "NOT (" + expr + ")"
		} else {
			expr = "(" + expr + ")"
		}
		if f.Dim == "page" {
			q.ev = append(q.ev, expr)
		} else {
			q.sess = append(q.sess, expr)
		}
	}
	return q, nil
}

func dimExpr(dim string) string {
	for _, d := range sessionDims {
		if d.dim == dim {
			return d.expr
		}
	}
	return ""
}

func and(conds []string) string {
	var b strings.Builder
	for _, c := range conds {
		b.WriteString(" AND " + c)
	}
	return b.String()
}

// eventsWhere selects the events of [from, to) that match the page
// filters and whose session matches the session filters. The matching
// sessions are an IN set, read FINAL in a subquery: the conditions on
// their columns then apply to each session's latest version (the WHERE
// of a FINAL select is applied after the versions collapse; a JOIN
// would need the FINAL subquery anyway, and builds a hash table of the
// sessions' columns where IN keeps their ids). A session's events lie
// between its start and its last activity, so only the sessions active
// in the window are listed.
func (q *query) eventsWhere(from, to time.Time) (string, error) {
	w, err := clickhouse.Bind(" WHERE website = ? AND timestamp >= ? AND timestamp < ?", q.website, from, to)
	if err != nil || len(q.sess) == 0 {
		return w + and(q.ev), err
	}
	in, err := clickhouse.Bind(" AND session IN (SELECT id FROM sessions FINAL WHERE website = ? AND lastActivity >= ? AND startedAt < ?",
		q.website, from, to)
	return w + and(q.ev) + in + and(q.sess) + ")", err
}

// sessionsWhere selects the sessions (of a FINAL select) started in
// [from, to) that match the session filters and, with page filters,
// have a matching event in the period they started in: with split
// (from < split < to), [from, split) and [split, to) are two periods,
// the previous one and the report's. A tuple IN (session, period) says
// both at once, so one statement counts both periods exactly.
func (q *query) sessionsWhere(from, split, to time.Time) (string, error) {
	w, err := clickhouse.Bind(" WHERE website = ? AND startedAt >= ? AND startedAt < ?", q.website, from, to)
	if err != nil || len(q.ev) == 0 {
		return w + and(q.sess), err
	}
	in, err := clickhouse.Bind(" AND (id, startedAt >= ?) IN (SELECT session, timestamp >= ? FROM events WHERE website = ? AND timestamp >= ? AND timestamp < ?",
		split, split, q.website, from, to)
	return w + and(q.sess) + in + and(q.ev) + ")", err
}

// step is one quarter hour's figures; Q counts quarter hours since the
// Unix epoch.
type step struct {
	Q        int64
	N        uint64
	New      uint64
	Bounces  uint64
	Duration uint64
}

// pageViews counts the page views of [from, to) by quarter hour.
func (q *query) pageViews(ctx context.Context, c *clickhouse.Client, from, to time.Time) ([]step, error) {
	where, err := q.eventsWhere(from, to)
	if err != nil {
		return nil, err
	}
	rows, err := clickhouse.Select[step](ctx, c, `SELECT intDiv(timestamp, ?) AS Q, count() AS N FROM events`+where+
		` AND type = 'pageView' GROUP BY Q`, quarterMs)
	if err != nil {
		return nil, fmt.Errorf("chstats: page views: %w", err)
	}
	return rows, nil
}

// sessionSeconds is a session's duration as the summaries count it: its
// elapsed milliseconds rounded to the second, half up, never below 0
// (internal/stats' sessionSeconds).
const sessionSeconds = `intDiv(greatest(0, lastActivity - startedAt + 500), 1000)`

// sessionSteps counts the sessions of [from, to) (split divides it into
// two periods, see sessionsWhere) by the quarter hour of their start.
func (q *query) sessionSteps(ctx context.Context, c *clickhouse.Client, from, split, to time.Time) ([]step, error) {
	where, err := q.sessionsWhere(from, split, to)
	if err != nil {
		return nil, err
	}
	rows, err := clickhouse.Select[step](ctx, c, `SELECT intDiv(startedAt, ?) AS Q, count() AS N, sum(isNewVisitor) AS New,
		sum(eventCount <= 1) AS Bounces, sum(`+sessionSeconds+`) AS Duration FROM sessions FINAL`+where+` GROUP BY Q`, quarterMs)
	if err != nil {
		return nil, fmt.Errorf("chstats: sessions: %w", err)
	}
	return rows, nil
}

// topPages ranks the pages of [from, to) by page views.
func (q *query) topPages(ctx context.Context, c *clickhouse.Client, from, to time.Time) ([]Item, error) {
	where, err := q.eventsWhere(from, to)
	if err != nil {
		return nil, err
	}
	rows, err := clickhouse.Select[Item](ctx, c, `SELECT path AS Key, count() AS Count FROM events`+where+
		` AND type = 'pageView' GROUP BY path ORDER BY Count DESC, Key LIMIT ?`, TopN)
	if err != nil {
		return nil, fmt.Errorf("chstats: pages: %w", err)
	}
	if rows == nil {
		rows = []Item{}
	}
	return rows, nil
}

type dimRow struct {
	Dim, Key string
	N        uint64
}

// sessionDims counts the sessions of [from, to) by every value of each
// session dimension, in one pass over them: ARRAY JOIN turns each
// session into one row per dimension. Every value comes back (a few
// thousand rows): Go merges the keys that read alike (Unknown, the
// referrer's host) before it ranks them.
func (q *query) sessionDims(ctx context.Context, c *clickhouse.Client, from, to time.Time) ([]dimRow, error) {
	where, err := q.sessionsWhere(from, from, to)
	if err != nil {
		return nil, err
	}
	pairs := make([]string, len(sessionDims))
	for i, d := range sessionDims {
		pairs[i] = "('" + d.dim + "', " + d.expr + ")"
	}
	rows, err := clickhouse.Select[dimRow](ctx, c, `SELECT d.1 AS Dim, d.2 AS Key, count() AS N
		FROM (SELECT * FROM sessions FINAL`+where+`) ARRAY JOIN [`+strings.Join(pairs, ", ")+`] AS d GROUP BY Dim, Key`)
	if err != nil {
		return nil, fmt.Errorf("chstats: session dimensions: %w", err)
	}
	return rows, nil
}

// sessionItems ranks one session dimension's counts by stored value as
// its breakdown lists them (internal/stats' sessionItems): the
// referrer's host, "Unknown" for no value, campaigns without one left
// out.
func sessionItems(dim string, counts map[string]uint64) []Item {
	keys := map[string]uint64{}
	for key, n := range counts {
		switch {
		case dim == "referrer":
			key = domain.ReferrerKey(key)
		case strings.HasPrefix(dim, "utm_"):
			if key == "" {
				continue
			}
		case key == "" && dim != "entryPage" && dim != "exitPage":
			key = "Unknown"
		}
		keys[key] += n
	}
	items := make([]Item, 0, len(keys))
	for k, n := range keys {
		items = append(items, Item{Key: k, Count: n})
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].Count != items[j].Count {
			return items[i].Count > items[j].Count
		}
		return items[i].Key < items[j].Key
	})
	return items[:min(TopN, len(items))]
}

// newSeries returns the local days of loc that [from, to) covers and a
// function that finds the day of a quarter hour (nil outside them).
func newSeries(from, to time.Time, loc *time.Location) ([]Point, func(q int64) *Point) {
	f := from.In(loc)
	day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	var out []Point
	var bounds []int64 // the days' starts, in ms
	for ; day.Before(to); day = day.AddDate(0, 0, 1) {
		out = append(out, Point{Day: day})
		bounds = append(bounds, day.UnixMilli())
	}
	fromMs, toMs := from.UnixMilli(), to.UnixMilli()
	return out, func(q int64) *Point {
		t := q * quarterMs
		if t < fromMs || t >= toMs {
			return nil
		}
		i := sort.Search(len(bounds), func(i int) bool { return bounds[i] > t }) - 1
		if i < 0 {
			return nil
		}
		return &out[i]
	}
}
