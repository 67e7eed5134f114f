package stats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// ErrBadBreakdown is returned (wrapped) by Breakdown for a request it
// cannot answer: an unknown dimension, a sort, order, limit, offset or
// search out of bounds.
var ErrBadBreakdown = errors.New("stats: bad breakdown request")

// Bounds of a BreakdownRequest.
const (
	// MaxBreakdownLimit is the most rows one page of a breakdown lists.
	MaxBreakdownLimit = 100
	// MaxBreakdownOffset bounds the offset: no dimension keeps more
	// keys than this in a period anyone pages through.
	MaxBreakdownOffset = 1_000_000
	// MaxBreakdownSearch bounds the search text, in bytes.
	MaxBreakdownSearch = 200
)

// BreakdownRequest asks for one page of one dimension's keys.
type BreakdownRequest struct {
	Request
	// Dimension is one of schema.Dimensions, or referrerUrl under
	// filters (a drill-down the summaries do not count).
	Dimension string
	// Search keeps the keys that contain it, case-insensitively ("" keeps
	// every key). It is plain text: '%' and '_' are themselves.
	Search string
	// Name, when set, gives a key's display name, which Search matches
	// too: a country's name besides its code.
	Name func(key string) string
	// Sort is "key" or the dimension's metric (BreakdownMetric); ""
	// sorts by the metric.
	Sort string
	// Order is "asc" or "desc"; "" is desc for the metric, asc for key.
	Order string
	// Limit is 1..MaxBreakdownLimit (0: 10); Offset 0..MaxBreakdownOffset.
	Limit, Offset int
}

// BreakdownRow is one key of a breakdown with its count under the
// dimension's metric (the other metric fields are absent) and its share
// of the dimension's count over every key, in percent with one decimal.
type BreakdownRow struct {
	Key       string  `json:"key"`
	Visitors  int     `json:"visitors,omitempty"`
	PageViews int     `json:"pageviews,omitempty"`
	Events    int     `json:"events,omitempty"`
	Percent   float64 `json:"percent"`
}

// Count is the row's figure under its dimension's metric.
func (r BreakdownRow) Count() int { return r.Visitors + r.PageViews + r.Events }

// BreakdownPage is one page of a breakdown: Total is how many keys match
// the search (every page's rows are among them).
type BreakdownPage struct {
	Dimension string         `json:"dimension"`
	Metric    string         `json:"metric"`
	Rows      []BreakdownRow `json:"rows"`
	Total     int            `json:"total"`
	Offset    int            `json:"offset"`
	Limit     int            `json:"limit"`
}

// BreakdownMetric names what a dimension's keys count: page views for
// pages, events for custom events and JS errors, visitors (sessions) for
// the session dimensions.
func BreakdownMetric(dim string) string {
	switch dim {
	case "page":
		return "pageviews"
	case "customEvent", "jsError":
		return "events"
	}
	return "visitors"
}

// Breakdown pages through every key of one dimension, with the figures
// the report's top lists give for the same period and filters (Query's
// Top): unfiltered from the summaries (the partial UTC days at the
// period's ends from the raw rows), filtered from the raw rows.
func Breakdown(ctx context.Context, app core.App, websiteID string, req BreakdownRequest) (*BreakdownPage, error) {
	ctx, cancel := req.withBudget(ctx)
	defer cancel()
	r, err := breakdown(ctx, app, websiteID, req)
	return r, overBudget(ctx, err)
}

func breakdown(ctx context.Context, app core.App, websiteID string, req BreakdownRequest) (*BreakdownPage, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	q, err := newQuerierOn(ctx, app, req.ClickHouse, websiteID, req.Period, req.Filters)
	if err != nil {
		return nil, err
	}
	switch {
	case req.Dimension == "jsError" && q.filtered():
		return nil, fmt.Errorf("%w: JS errors are not linked to sessions: no breakdown under filters", ErrBadBreakdown)
	case req.Dimension == "referrerUrl" && !q.filtered():
		return nil, fmt.Errorf("%w: referrerUrl is a drill-down of filtered reports only", ErrBadBreakdown)
	}
	keys, err := q.dimCounts(req.Period, req.Dimension)
	if err != nil {
		return nil, err
	}
	metric := BreakdownMetric(req.Dimension)
	total, rows := 0, []BreakdownRow{}
	needle := strings.ToLower(req.Search)
	for k, n := range keys {
		if n <= 0 {
			continue
		}
		total += n
		if strings.Contains(strings.ToLower(k), needle) || req.Name != nil && strings.Contains(strings.ToLower(req.Name(k)), needle) {
			rows = append(rows, BreakdownRow{Key: k, Visitors: n}) // placed under metric below
		}
	}
	sortRows(rows, req.Sort == "key", req.Order)
	out := &BreakdownPage{Dimension: req.Dimension, Metric: metric, Total: len(rows), Offset: req.Offset, Limit: req.Limit}
	page := rows[min(req.Offset, len(rows)):min(req.Offset+req.Limit, len(rows))]
	out.Rows = make([]BreakdownRow, len(page))
	for i, r := range page {
		n := r.Visitors
		row := BreakdownRow{Key: r.Key, Percent: pct(float64(n), float64(total))}
		switch metric {
		case "pageviews":
			row.PageViews = n
		case "events":
			row.Events = n
		default:
			row.Visitors = n
		}
		out.Rows[i] = row
	}
	return out, nil
}

// check validates the request and fills in its defaults.
func (req *BreakdownRequest) check() error {
	if !slices.Contains(schema.Dimensions, req.Dimension) && req.Dimension != "referrerUrl" {
		return fmt.Errorf("%w: unknown dimension %q (use one of %s, referrerUrl)", ErrBadBreakdown, req.Dimension,
			strings.Join(schema.Dimensions, ", "))
	}
	metric := BreakdownMetric(req.Dimension)
	switch req.Sort {
	case "":
		req.Sort = metric
	case "key", metric:
	default:
		return fmt.Errorf("%w: sort must be %s or key for %s", ErrBadBreakdown, metric, req.Dimension)
	}
	switch req.Order {
	case "":
		req.Order = "desc"
		if req.Sort == "key" {
			req.Order = "asc"
		}
	case "asc", "desc":
	default:
		return fmt.Errorf("%w: order must be asc or desc", ErrBadBreakdown)
	}
	if req.Limit == 0 {
		req.Limit = 10
	}
	switch {
	case req.Limit < 1 || req.Limit > MaxBreakdownLimit:
		return fmt.Errorf("%w: limit must be 1..%d", ErrBadBreakdown, MaxBreakdownLimit)
	case req.Offset < 0 || req.Offset > MaxBreakdownOffset:
		return fmt.Errorf("%w: offset must be 0..%d", ErrBadBreakdown, MaxBreakdownOffset)
	case len(req.Search) > MaxBreakdownSearch:
		return fmt.Errorf("%w: search is at most %d bytes", ErrBadBreakdown, MaxBreakdownSearch)
	}
	return nil
}

// sortRows orders rows (their count in Visitors) by count, ties by key
// ascending as the top lists rank them, or by key.
func sortRows(rows []BreakdownRow, byKey bool, order string) {
	desc := order == "desc"
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if !byKey && a.Visitors != b.Visitors {
			return (a.Visitors > b.Visitors) == desc
		}
		if byKey && desc {
			return a.Key > b.Key
		}
		return a.Key < b.Key
	})
}

// dimCounts counts every key of dim over p, as top (summaries) or raw
// (filtered, or off whole UTC hours) count them for the top lists.
func (q *querier) dimCounts(p Period, dim string) (map[string]int, error) {
	c := map[string]int{}
	if dim == "jsError" {
		// counted per UTC day: the days p touches, as jsErrorTop
		return c, q.sumItems(Period{From: utcDay(p.From, false), To: utcDay(p.To, true)}, dim, c)
	}
	if !q.useSummaries(p) {
		return c, q.rawDim(p, dim, c)
	}
	days, edges := summaryParts(p)
	if days != nil {
		if err := q.sumItems(*days, dim, c); err != nil {
			return nil, err
		}
	}
	for _, e := range edges {
		if err := q.rawDim(e, dim, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// sumItems adds dim's keys over the UTC days of p from the summaries
// (those with a count above 0 there, as top reads them).
func (q *querier) sumItems(p Period, dim string, c map[string]int) error {
	var rows []dimRow
	err := q.db.NewQuery(`SELECT dimension AS dim, key, SUM(count) AS n FROM dash_sum_items
		WHERE website = {:w} AND date >= {:from} AND date < {:to} AND dimension = {:d} GROUP BY key HAVING SUM(count) > 0`).
		WithContext(q.ctx).Bind(q.params(p, dbx.Params{"d": dim})).All(&rows)
	if err != nil {
		return fmt.Errorf("stats: breakdown: %w", err)
	}
	for _, r := range rows {
		c[r.Key] += r.Count
	}
	return nil
}

// rawDim adds dim's keys over p from the raw rows, keyed as raw keys
// them: pages and custom events from the events, the rest from the
// sessions (sessionItems).
func (q *querier) rawDim(p Period, dim string, c map[string]int) error {
	read := q.dimRows
	if q.ch != nil {
		read = q.chRawDim
	}
	rows, err := read(p, dim)
	if err != nil {
		return err
	}
	stored := map[string]int{}
	for _, r := range rows {
		stored[r.Key] += r.Count
	}
	if dim == "page" || dim == "customEvent" {
		for k, n := range stored {
			c[k] += n
		}
		return nil
	}
	for _, it := range sessionItems(dim, stored, 0) {
		c[it.Key] += it.Count
	}
	return nil
}

// dimRows reads dim's stored keys over p with their counts (rawDim's
// statement).
func (q *querier) dimRows(p Period, dim string) ([]dimRow, error) {
	var stmt string
	switch dim {
	case "page":
		stmt = `SELECT e.path AS key, COUNT(*) AS n` + q.eventsFrom() + ` AND e.type = 'pageView' GROUP BY e.path`
	case "customEvent":
		stmt = `SELECT e.eventName AS key, COUNT(*) AS n` + q.eventsFrom() + ` AND e.type = 'custom' GROUP BY e.eventName`
	default:
		i := slices.IndexFunc(sessionDims, func(d struct{ dim, expr string }) bool { return d.dim == dim })
		if i < 0 {
			return nil, fmt.Errorf("%w: no breakdown of %q", ErrBadBreakdown, dim)
		}
		stmt = `SELECT COALESCE(` + sessionDims[i].expr + `, '') AS key, COUNT(*) AS n` + q.sessionsFrom() + ` GROUP BY 1`
	}
	var rows []dimRow
	if err := q.db.NewQuery(stmt).WithContext(q.ctx).Bind(q.params(p, nil)).All(&rows); err != nil {
		return nil, fmt.Errorf("stats: breakdown: %w", err)
	}
	return rows, nil
}
