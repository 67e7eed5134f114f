// Package hourly turns the daily dash_sum rows of earlier Skopos versions
// into the hourly rows the pipeline writes now, once, from a migration.
//
// Until schema v5, dash_sum held one row per website and UTC day (date =
// midnight). Since then it holds one row per UTC hour, so that the stats
// API can sum it into any site's local days; the breakdowns
// (dash_sum_items) stay daily. An hour-0 row has the id the daily row had
// (pipeline.SumID), so a daily row left alone reads as the hour-0 row of
// its day: every total stays right, only the hour of the day is lost (all
// of it lands on hour 0, which is exact for UTC sites only). Migrate
// recomputes each day's hours from the raw rows (sessions by startedAt,
// events by timestamp) with SQL grouped by hour, and replaces a day's
// rows only when the recomputed day equals the stored one in every total
// and every breakdown key; a day that does not (its raw rows pruned by
// retention, counted by an older rule, edited by hand) is left as it is,
// and counted. Breakdown keys are mapped as the pipeline maps them (the
// referrer's host, "Unknown", the length cap), and the day's key cap is
// reproduced from the keys the day has: where a dimension has "(other)",
// every key it does not have goes there. JS errors cannot be rebuilt
// (js_errors holds lifetime counts per error group): dash_sum.jsErrors
// stays on hour 0 of a daily day. The campaign breakdowns (utm_*) and
// channel and source, which the daily rows did not have, are added to the verified days, capped
// like the others. Rows are written with bulk SQL in the migration's
// transaction (no record hooks), with the pipeline's derived ids, so that
// its later upserts hit them.
//
// It is safe on any data: a fresh install has nothing to do, and on days
// that are hourly already the recomputation equals what is stored, so
// nothing is written.
package hourly

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pipeline"
)

// Result counts a website's days by what Migrate did with them.
type Result struct {
	// Rebuilt days had their rows replaced by the hourly ones.
	Rebuilt int
	// Unchanged days were verified and already hourly (nothing to write).
	Unchanged int
	// Kept days did not verify against the raw rows and were left as
	// they were; KeptDays lists them ("YYYY-MM-DD").
	Kept     int
	KeptDays []string
}

// windowDays bounds the days one pass over the raw rows covers, so that
// memory stays bounded on years of data.
const windowDays = 31

// Migrate rebuilds, in one transaction, the hourly summaries of every
// website's days from the raw rows where they verify (see the package
// doc). maxKeys is the pipeline's MaxDimensionKeys. It logs what it did
// per website and returns it.
func Migrate(app core.App, maxKeys int) (map[string]*Result, error) {
	if maxKeys <= 0 {
		maxKeys = pipeline.DefaultMaxDimensionKeys
	}
	out := map[string]*Result{}
	err := app.RunInTransaction(func(tx core.App) error {
		var websites []string
		if err := tx.DB().NewQuery("SELECT DISTINCT website FROM dash_sum ORDER BY website").Column(&websites); err != nil {
			return fmt.Errorf("hourly: websites: %w", err)
		}
		st := &statements{db: tx.DB(), prepared: map[string]*dbx.Query{}}
		defer st.close()
		now := types.NowDateTime().String()
		for _, w := range websites {
			start := time.Now()
			m := &migration{tx: tx, st: st, website: w, maxKeys: maxKeys, now: now, res: &Result{}}
			if err := m.run(); err != nil {
				return fmt.Errorf("hourly: website %s: %w", w, err)
			}
			out[w] = m.res
			r := m.res
			if r.Rebuilt+r.Kept > 0 {
				app.Logger().Info("skopos: summaries made hourly", "website", w, "rebuiltDays", r.Rebuilt,
					"keptDays", r.Kept, "unchangedDays", r.Unchanged, "took", time.Since(start).Round(time.Millisecond).String())
			}
			if r.Kept > 0 {
				app.Logger().Warn("skopos: days whose raw rows do not match their summaries keep them daily (read as hour 0)",
					"website", w, "days", r.KeptDays[:min(len(r.KeptDays), 20)], "count", r.Kept)
			}
		}
		return nil
	})
	return out, err
}

// migration is Migrate's work on one website.
type migration struct {
	tx      core.App
	st      *statements
	website string
	maxKeys int
	now     string // created / updated of the rows written
	res     *Result
}

// run verifies and rebuilds the website's days, window by window.
func (m *migration) run() error {
	days, order, err := m.days()
	if err != nil {
		return err
	}
	for i := 0; i < len(order); {
		first := days[order[i]].start
		j := i
		for j < len(order) && days[order[j]].start.Before(first.AddDate(0, 0, windowDays)) {
			j++
		}
		last := days[order[j-1]].start
		if err := m.window(days, first, last.AddDate(0, 0, 1)); err != nil {
			return err
		}
		for _, k := range order[i:j] {
			if err := m.day(days[k]); err != nil {
				return err
			}
			delete(days, k) // done: free it
		}
		i = j
	}
	return nil
}

// days loads the website's dash_sum rows by UTC day, and the days' keys
// in order.
func (m *migration) days() (map[string]*day, []string, error) {
	var sums []struct {
		ID   string `db:"id"`
		Date string `db:"date"`
		PV   int    `db:"pageViews"`
		V    int    `db:"visitors"`
		NV   int    `db:"newVisitors"`
		RV   int    `db:"returningVisitors"`
		E    int    `db:"engagedSessions"`
		B    int    `db:"bounces"`
		D    int    `db:"durationSeconds"`
	}
	err := m.tx.DB().NewQuery(`SELECT id, date, pageViews, visitors, newVisitors, returningVisitors, engagedSessions,
		bounces, durationSeconds FROM dash_sum WHERE website = {:w} ORDER BY date`).Bind(dbx.Params{"w": m.website}).All(&sums)
	if err != nil {
		return nil, nil, err
	}
	days := map[string]*day{}
	var order []string
	for _, s := range sums {
		start, err := time.Parse(time.DateOnly, prefix(s.Date, 10))
		if err != nil {
			return nil, nil, fmt.Errorf("dash_sum %s: date %q: %w", s.ID, s.Date, err)
		}
		k := start.Format(time.DateOnly)
		d := days[k]
		if d == nil {
			d = &day{start: start, raw: map[hourItem]int{}}
			days[k] = d
			order = append(order, k)
		}
		d.sums = append(d.sums, sumRow{ID: s.ID, Date: s.Date, c: counters{s.PV, s.V, s.NV, s.RV, s.E, s.B, s.D}})
	}
	return days, order, nil
}
