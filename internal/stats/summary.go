package stats

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/skopos-go/skopos/internal/importer"
)

// The summary path: a period on whole UTC hours without filters
// (useSummaries) sums its totals and series from the hourly summaries.

// totalsRow scans the figures of a totals query; a sum over no row is NULL.
type totalsRow struct {
	PageViews, Visitors, NewVisitors, Returning, Engaged, Bounces, Duration, JSErrors sql.NullFloat64
}

func (r totalsRow) totals() totals {
	return totals{r.PageViews.Float64, r.Visitors.Float64, r.NewVisitors.Float64, r.Returning.Float64,
		r.Engaged.Float64, r.Bounces.Float64, r.Duration.Float64, r.JSErrors.Float64}
}

// totals sums p's figures from the summaries when they serve p, else
// from the raw rows.
func (q *querier) totals(p Period) (totals, error) {
	if !q.useSummaries(p) {
		return q.rawTotals(p)
	}
	var row totalsRow
	err := q.db.NewQuery(`SELECT SUM(pageViews), SUM(visitors), SUM(newVisitors), SUM(returningVisitors),
		SUM(engagedSessions), SUM(bounces), SUM(durationSeconds), SUM(jsErrors)
		FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
		WithContext(q.ctx).Bind(q.params(p, nil)).
		Row(&row.PageViews, &row.Visitors, &row.NewVisitors, &row.Returning, &row.Engaged, &row.Bounces, &row.Duration, &row.JSErrors)
	if err != nil {
		return totals{}, fmt.Errorf("stats: summaries: %w", err)
	}
	return row.totals(), nil
}

// jsErrors counts p's JS errors. They are counted per hour only
// (js_errors holds lifetime counts): the hours the window touches; a
// half-hour zone's day counts the whole hours it touches.
func (q *querier) jsErrors(p Period) (float64, error) {
	var n sql.NullFloat64
	err := q.db.NewQuery(`SELECT SUM(jsErrors) FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
		WithContext(q.ctx).Bind(q.params(hours(p), nil)).Row(&n)
	if err != nil {
		return 0, fmt.Errorf("stats: js errors: %w", err)
	}
	return n.Float64, nil
}

// hours widens p to whole UTC hours, for summary rows.
func hours(p Period) Period {
	to := p.To.Truncate(time.Hour)
	if to.Before(p.To) {
		to = to.Add(time.Hour)
	}
	return Period{From: p.From.Truncate(time.Hour), To: to}
}

// sumSeries sums w's series, of the steps bounds delimit (on whole UTC
// hours), from the hourly summaries.
func (q *querier) sumSeries(w Period, bounds []time.Time) ([]Point, error) {
	out, bucket := newSeries(bounds, w.Location())
	var hoursRows []struct {
		Date      string `db:"date"`
		PageViews int    `db:"pageViews"`
		Visitors  int    `db:"visitors"`
		Bounces   int    `db:"bounces"`
		Duration  int    `db:"durationSeconds"`
	}
	err := q.db.NewQuery(`SELECT date, pageViews, visitors, bounces, durationSeconds FROM dash_sum
		WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
		WithContext(q.ctx).Bind(q.params(w, nil)).All(&hoursRows)
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
			pt.bounces += h.Bounces
			pt.duration += h.Duration
		}
	}
	return out, nil
}

// Imported names the imported days (another tool's export, see
// internal/importer) whose summaries a report's figures include.
type Imported struct {
	// Sources are the tools imported into the site ("Plausible", "Umami").
	Sources []string `json:"sources"`
	// Days are the UTC days ("YYYY-MM-DD"), in order.
	Days []string `json:"days"`
}

// imported lists the imported days of p's summaries (nil for none).
func (q *querier) imported(p Period) (*Imported, error) {
	var dates []string
	err := q.db.NewQuery(`SELECT date FROM dash_sum WHERE website = {:w} AND imported = TRUE AND date >= {:from} AND date < {:to}
		ORDER BY date`).WithContext(q.ctx).Bind(q.params(p, nil)).Column(&dates)
	if err != nil || len(dates) == 0 {
		return nil, err
	}
	out := &Imported{}
	for _, d := range dates {
		out.Days = append(out.Days, d[:min(len(d), 10)])
	}
	out.Sources, err = importer.Sources(q.db, q.site)
	return out, err
}
