package stats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/schema"
	"golang.org/x/sync/errgroup"
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
	// Budget bounds the time the report's queries may take (all of them
	// together); past it the report fails with ErrBudget. 0: no bound.
	Budget time.Duration
	// ClickHouse, when set, is the events store of the website (chstore
	// writes its events, sessions and engagement there, not in SQLite):
	// Query, Goals, Funnel, Breakdown, Sessions, Properties and Revenue
	// read the raw rows from it, the summaries, goals and visitors from
	// PocketBase. Nil reads SQLite. The readers that take a dbx.Builder
	// have <Name>ClickHouse twins instead.
	ClickHouse *clickhouse.Client
}

type totals struct {
	pageViews, visitors, newVisitors, returning, engaged, bounces, duration, jsErrors float64
}

// Query builds the report of one website.
func Query(ctx context.Context, app core.App, websiteID string, req Request) (*Report, error) {
	ctx, cancel := req.withBudget(ctx)
	defer cancel()
	r, err := query(ctx, app, websiteID, req)
	return r, overBudget(ctx, err)
}

func query(ctx context.Context, app core.App, websiteID string, req Request) (*Report, error) {
	p := req.Period
	if req.Top <= 0 {
		req.Top = 10
	}
	site, err := findRecord(ctx, app, schema.Websites, websiteID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrSiteNotFound
	}
	if err != nil {
		return nil, err
	}
	q, err := newQuerierOn(ctx, app, req.ClickHouse, websiteID, p, req.Filters)
	if err != nil {
		return nil, err
	}
	var (
		cur, prev          totals
		series, prevSeries []Point
		top                map[string][]Item
		imported           *Imported
		g                  errgroup.Group
	)
	// the previous period's rows are not the period's: read side by side
	g.Go(func() (err error) {
		prev, prevSeries, err = q.previous(p)
		return err
	})
	if q.useSummaries(p) {
		if cur, err = q.totals(p); err == nil {
			series, err = q.sumSeries(p, p.Buckets())
		}
		if err == nil {
			top, err = q.top(p, req.Top)
		}
		if err == nil {
			if imported, err = q.imported(p); err != nil {
				err = fmt.Errorf("stats: imported days: %w", err)
			}
		}
	} else {
		cur, series, top, err = q.raw(p, req.Top)
	}
	if werr := g.Wait(); err == nil {
		err = werr
	}
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
	r.Series, r.PreviousSeries, r.Top, r.Imported = finishSeries(series), finishSeries(prevSeries), top, imported
	r.SeriesUnit = p.Interval
	if r.PageEngagement, err = q.pageEngagement(p, top["page"]); err != nil {
		return nil, err
	}
	if r.AutoEvents, err = q.autoEvents(p, req.Top); err != nil {
		return nil, err
	}
	if r.Goals, err = q.goals(p, cur.visitors); err != nil {
		return nil, err
	}
	if q.ch != nil {
		r.ActiveUsers, err = ActiveUsersClickHouse(ctx, q.ch, websiteID, req.Now)
	} else {
		r.ActiveUsers, err = ActiveUsers(ctx, q.db, websiteID, req.Now)
	}
	return r, err
}

// findRecord is app.FindRecordById under ctx.
func findRecord(ctx context.Context, app core.App, collection, id string) (*core.Record, error) {
	rec := &core.Record{}
	err := app.RecordQuery(collection).WithContext(ctx).AndWhere(dbx.HashExp{collection + ".id": id}).Limit(1).One(rec)
	if err != nil {
		return nil, err
	}
	return rec, nil
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

// newSeries returns the points of a series of the steps bounds delimit
// (Period.Buckets: every local hour, day, week or month, each present),
// in loc, and the function that finds the point an instant falls in (nil
// outside the steps).
func newSeries(bounds []time.Time, loc *time.Location) ([]Point, func(time.Time) *Point) {
	out := make([]Point, len(bounds)-1)
	for i := range out {
		out[i].Time = bounds[i].In(loc)
	}
	return out, func(t time.Time) *Point {
		i := sort.Search(len(bounds), func(i int) bool { return bounds[i].After(t) }) - 1
		if i < 0 || i >= len(out) {
			return nil
		}
		return &out[i]
	}
}

// finishSeries computes each point's rates from its counts, as the KPIs
// are computed from the period's.
func finishSeries(points []Point) []Point {
	for i := range points {
		pt := &points[i]
		pt.BounceRate = pct(float64(pt.bounces), float64(pt.Visitors))
		pt.AvgDurationSeconds = ratio(float64(pt.duration), float64(pt.Visitors))
	}
	return points
}

// previous is the previous period's totals and its series, step by step
// aligned with p's (previousBuckets): from the summaries when they serve
// every step, else from the raw rows, where one pass counts both.
func (q *querier) previous(p Period) (totals, []Point, error) {
	w, bounds := *p.Previous, p.previousBuckets()
	if !q.filtered() && !w.FromRaw && onUTCHours(bounds...) {
		tot, err := q.totals(w)
		if err != nil {
			return tot, nil, err
		}
		series, err := q.sumSeries(w, bounds)
		return tot, series, err
	}
	series, tot, err := q.rawSeries(w, bounds)
	if err != nil || q.filtered() {
		return tot, series, err
	}
	// unfiltered: the totals as the period's own are read, from the
	// summaries where they serve it
	if q.useSummaries(w) {
		tot, err = q.totals(w)
	} else {
		tot.jsErrors, err = q.jsErrors(w)
	}
	return tot, series, err
}
