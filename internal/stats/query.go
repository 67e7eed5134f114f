package stats

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/schema"
)

// ErrSiteNotFound is returned for an unknown website id.
var ErrSiteNotFound = errors.New("stats: website not found")

const pbLayout = "2006-01-02 15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(pbLayout) }

type totals struct {
	pageViews, visitors, newVisitors, returning, engaged, bounces, duration, jsErrors float64
}

// Query builds the report of one website for period p, with topN keys
// per breakdown (default 10). now is the clock the active users are
// counted by; pass the same instant p was parsed with.
func Query(ctx context.Context, app core.App, websiteID string, p Period, topN int, now time.Time) (*Report, error) {
	if topN <= 0 {
		topN = 10
	}
	site, err := app.FindRecordById(schema.Websites, websiteID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrSiteNotFound
	}
	if err != nil {
		return nil, err
	}
	q := querier{ctx: ctx, db: app.DB(), site: websiteID}
	cur, err := q.totals(p)
	if err != nil {
		return nil, err
	}
	prev, err := q.totals(*p.Previous)
	if err != nil {
		return nil, err
	}
	r := &Report{
		Site:   Site{ID: site.Id, Name: site.GetString("name"), Domain: site.GetString("domain"), TrackingID: site.GetString("trackingId")},
		Period: p,

		PageViews:         metric(cur.pageViews, prev.pageViews),
		Visitors:          metric(cur.visitors, prev.visitors),
		NewVisitors:       metric(cur.newVisitors, prev.newVisitors),
		ReturningVisitors: metric(cur.returning, prev.returning),
		EngagementRate:    metric(pct(cur.engaged, cur.visitors), pct(prev.engaged, prev.visitors)),
		BounceRate:        metric(pct(cur.bounces, cur.visitors), pct(prev.bounces, prev.visitors)),
		AvgDuration:       metric(ratio(cur.duration, cur.visitors), ratio(prev.duration, prev.visitors)),
		JSErrors:          metric(cur.jsErrors, prev.jsErrors),
	}
	if r.Series, err = q.series(p); err != nil {
		return nil, err
	}
	r.SeriesUnit = "day"
	if p.Hourly {
		r.SeriesUnit = "hour"
	}
	if r.Top, err = q.top(p, topN); err != nil {
		return nil, err
	}
	r.ActiveUsers, err = ActiveUsers(ctx, q.db, websiteID, now)
	return r, err
}

// pct is a rounded percentage with one decimal.
func pct(part, whole float64) float64 {
	if whole == 0 {
		return 0
	}
	return float64(int(part/whole*1000+0.5)) / 10
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(a/b + 0.5))
}

type querier struct {
	ctx  context.Context
	db   dbx.Builder
	site string
}

func (q querier) params(from, to time.Time) dbx.Params {
	return dbx.Params{"w": q.site, "from": ts(from), "to": ts(to)}
}

// dayRange widens [from, to) to whole UTC days, for summary rows.
func dayRange(from, to time.Time) (time.Time, time.Time) {
	f := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	t := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	if t.Before(to) {
		t = t.AddDate(0, 0, 1)
	}
	return f, t
}

func (q querier) totals(p Period) (totals, error) {
	var t totals
	var row struct {
		PageViews, Visitors, NewVisitors, Returning, Engaged, Bounces, Duration, JSErrors sql.NullFloat64
	}
	if !p.FromRaw {
		err := q.db.NewQuery(`SELECT SUM(pageViews) AS a, SUM(visitors) AS b, SUM(newVisitors) AS c, SUM(returningVisitors) AS d,
			SUM(engagedSessions) AS e, SUM(bounces) AS f, SUM(durationSeconds) AS g, SUM(jsErrors) AS h
			FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
			WithContext(q.ctx).Bind(q.params(p.From, p.To)).
			Row(&row.PageViews, &row.Visitors, &row.NewVisitors, &row.Returning, &row.Engaged, &row.Bounces, &row.Duration, &row.JSErrors)
		if err != nil {
			return t, fmt.Errorf("stats: summaries: %w", err)
		}
	} else {
		err := q.db.NewQuery(`SELECT COUNT(*) FROM events WHERE website = {:w} AND timestamp >= {:from} AND timestamp < {:to} AND type = 'pageView'`).
			WithContext(q.ctx).Bind(q.params(p.From, p.To)).Row(&row.PageViews)
		if err != nil {
			return t, fmt.Errorf("stats: page views: %w", err)
		}
		err = q.db.NewQuery(`SELECT COUNT(*), SUM(isNewVisitor), SUM(NOT isNewVisitor), SUM(isEngaged), SUM(eventCount <= 1),
			SUM(MAX(0, CAST(ROUND((julianday(lastActivity) - julianday(startedAt)) * 86400000) AS INTEGER) + 500) / 1000)
			FROM sessions WHERE website = {:w} AND startedAt >= {:from} AND startedAt < {:to}`).
			WithContext(q.ctx).Bind(q.params(p.From, p.To)).
			Row(&row.Visitors, &row.NewVisitors, &row.Returning, &row.Engaged, &row.Bounces, &row.Duration)
		if err != nil {
			return t, fmt.Errorf("stats: sessions: %w", err)
		}
		// JS errors are counted per UTC day only (js_errors holds lifetime
		// counts): the days the window touches
		f, to := dayRange(p.From, p.To)
		err = q.db.NewQuery(`SELECT SUM(jsErrors) FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
			WithContext(q.ctx).Bind(q.params(f, to)).Row(&row.JSErrors)
		if err != nil {
			return t, fmt.Errorf("stats: js errors: %w", err)
		}
	}
	return totals{row.PageViews.Float64, row.Visitors.Float64, row.NewVisitors.Float64, row.Returning.Float64,
		row.Engaged.Float64, row.Bounces.Float64, row.Duration.Float64, row.JSErrors.Float64}, nil
}

// series returns one point per hour (raw rows) or per day (summaries),
// every step present.
func (q querier) series(p Period) ([]Point, error) {
	step, width := 24*time.Hour, 10
	start := time.Date(p.From.Year(), p.From.Month(), p.From.Day(), 0, 0, 0, 0, time.UTC)
	if p.Hourly {
		step, width = time.Hour, 13
		start = p.From.UTC().Truncate(time.Hour)
	}
	points := map[string]*Point{}
	var out []Point
	for t := start; t.Before(p.To); t = t.Add(step) {
		out = append(out, Point{Time: t})
	}
	for i := range out {
		points[ts(out[i].Time)[:width]] = &out[i]
	}
	type bucket struct {
		Key string `db:"k"`
		N   int    `db:"n"`
	}
	var rows []bucket
	if p.Hourly {
		err := q.db.NewQuery(fmt.Sprintf(`SELECT substr(timestamp, 1, %d) AS k, COUNT(*) AS n FROM events
			WHERE website = {:w} AND timestamp >= {:from} AND timestamp < {:to} AND type = 'pageView' GROUP BY k`, width)).
			WithContext(q.ctx).Bind(q.params(p.From, p.To)).All(&rows)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if pt := points[r.Key]; pt != nil {
				pt.PageViews = r.N
			}
		}
		rows = nil
		err = q.db.NewQuery(fmt.Sprintf(`SELECT substr(startedAt, 1, %d) AS k, COUNT(*) AS n FROM sessions
			WHERE website = {:w} AND startedAt >= {:from} AND startedAt < {:to} GROUP BY k`, width)).
			WithContext(q.ctx).Bind(q.params(p.From, p.To)).All(&rows)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if pt := points[r.Key]; pt != nil {
				pt.Visitors = r.N
			}
		}
		return out, nil
	}
	var days []struct {
		Date      string `db:"date"`
		PageViews int    `db:"pageViews"`
		Visitors  int    `db:"visitors"`
	}
	err := q.db.NewQuery(`SELECT date, pageViews, visitors FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
		WithContext(q.ctx).Bind(q.params(p.From, p.To)).All(&days)
	if err != nil {
		return nil, err
	}
	for _, d := range days {
		if pt := points[d.Date[:width]]; pt != nil {
			pt.PageViews, pt.Visitors = d.PageViews, d.Visitors
		}
	}
	return out, nil
}

// top returns the topN keys of every dimension.
func (q querier) top(p Period, n int) (map[string][]Item, error) {
	out := map[string][]Item{}
	for _, d := range schema.Dimensions {
		out[d] = []Item{}
	}
	type row struct {
		Dim   string `db:"dim"`
		Key   string `db:"key"`
		Count int    `db:"n"`
	}
	add := func(rows []row) {
		for _, r := range rows {
			out[r.Dim] = append(out[r.Dim], Item{Key: r.Key, Count: r.Count})
		}
	}
	if !p.FromRaw {
		var rows []row
		err := q.db.NewQuery(`SELECT dim, key, n FROM (
				SELECT dimension AS dim, key, SUM(count) AS n,
					ROW_NUMBER() OVER (PARTITION BY dimension ORDER BY SUM(count) DESC, key) AS rn
				FROM dash_sum_items WHERE website = {:w} AND date >= {:from} AND date < {:to}
				GROUP BY dimension, key HAVING SUM(count) > 0)
			WHERE rn <= {:n} ORDER BY dim, n DESC, key`).
			WithContext(q.ctx).Bind(dbx.Params{"w": q.site, "from": ts(p.From), "to": ts(p.To), "n": n}).All(&rows)
		add(rows)
		return out, err
	}
	// raw rows: events for pages and custom events, sessions started in
	// the window for the session dimensions
	params := q.params(p.From, p.To)
	params["n"] = n
	var rows []row
	err := q.db.NewQuery(`SELECT dim, key, n FROM (
			SELECT CASE type WHEN 'pageView' THEN 'page' ELSE 'customEvent' END AS dim,
				CASE type WHEN 'pageView' THEN path ELSE eventName END AS key, COUNT(*) AS n,
				ROW_NUMBER() OVER (PARTITION BY type = 'pageView' ORDER BY COUNT(*) DESC) AS rn
			FROM events WHERE website = {:w} AND timestamp >= {:from} AND timestamp < {:to}
			GROUP BY dim, key)
		WHERE rn <= {:n}`).WithContext(q.ctx).Bind(params).All(&rows)
	if err != nil {
		return nil, err
	}
	add(rows)
	for dim, col := range map[string]string{"entryPage": "entryPath", "exitPage": "exitPath", "device": "device",
		"browser": "browser", "os": "os", "language": "language", "country": "country", "referrer": "referrer"} {
		var kv []row
		err := q.db.NewQuery(`SELECT '` + dim + `' AS dim, [[` + col + `]] AS key, COUNT(*) AS n FROM sessions
			WHERE website = {:w} AND startedAt >= {:from} AND startedAt < {:to} GROUP BY key`).
			WithContext(q.ctx).Bind(params).All(&kv)
		if err != nil {
			return nil, err
		}
		merged := map[string]int{}
		for _, r := range kv {
			key := r.Key
			switch {
			case dim == "referrer":
				key = domain.ReferrerKey(key)
			case key == "" && dim != "entryPage" && dim != "exitPage":
				key = "Unknown"
			}
			merged[key] += r.Count
		}
		items := make([]Item, 0, len(merged))
		for k, c := range merged {
			items = append(items, Item{Key: k, Count: c})
		}
		sort.Slice(items, func(i, j int) bool {
			if items[i].Count != items[j].Count {
				return items[i].Count > items[j].Count
			}
			return items[i].Key < items[j].Key
		})
		out[dim] = items[:min(n, len(items))]
	}
	f, to := dayRange(p.From, p.To)
	var js []row
	err = q.db.NewQuery(`SELECT 'jsError' AS dim, key, SUM(count) AS n FROM dash_sum_items
		WHERE website = {:w} AND date >= {:from} AND date < {:to} AND dimension = 'jsError'
		GROUP BY key HAVING n > 0 ORDER BY n DESC, key LIMIT {:n}`).
		WithContext(q.ctx).Bind(dbx.Params{"w": q.site, "from": ts(f), "to": ts(to), "n": n}).All(&js)
	add(js)
	return out, err
}
