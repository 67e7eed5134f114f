// Package stats answers the dashboard's questions about one website: the
// KPIs of a period with the previous period and the change, a time series,
// the top keys of every breakdown and the active users; and the rows behind
// the dashboard's drill-downs (event payloads, JS error groups, sessions and
// their timelines).
//
// Nothing here reads the wall clock: every function that depends on the
// present takes it as now, so callers (and tests) decide what "now" is.
//
// Day-based periods read the daily summaries (dash_sum, dash_sum_items),
// so a 30-day view costs the same with 10 thousand or 10 million events;
// "today", "24h" and hourly series read raw rows through the
// (website, timestamp) and (website, startedAt) indexes.
package stats

import (
	"errors"
	"fmt"
	"time"
)

// ErrBadPeriod is returned for an unknown period name or bad dates.
var ErrBadPeriod = errors.New("stats: bad period")

// Period is a half-open UTC time range [From, To).
type Period struct {
	Name     string    `json:"name"` // today, 24h, 7d, 30d, 12mo or custom
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Hourly   bool      `json:"hourly"`   // series by hour (≤ 2 days), else by day
	FromRaw  bool      `json:"-"`        // read raw rows instead of summaries
	Previous *Period   `json:"previous"` // the same length just before
}

// ParsePeriod reads a period name ("today", "24h", "7d", "30d", "12mo") or,
// when name is empty or "custom", the inclusive UTC dates from and to
// ("2026-11-01"). Days are UTC days.
func ParsePeriod(name, from, to string, now time.Time) (Period, error) {
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var p Period
	switch name {
	case "today":
		p = Period{Name: name, From: today, To: now, Hourly: true, FromRaw: true}
		p.Previous = &Period{From: today.AddDate(0, 0, -1), To: now.AddDate(0, 0, -1)}
	case "24h":
		p = Period{Name: name, From: now.Add(-24 * time.Hour), To: now, Hourly: true, FromRaw: true}
		p.Previous = &Period{From: now.Add(-48 * time.Hour), To: now.Add(-24 * time.Hour)}
	case "7d", "30d":
		days := 7
		if name == "30d" {
			days = 30
		}
		p = daysPeriod(name, today.AddDate(0, 0, -(days-1)), today.AddDate(0, 0, 1))
	case "12mo":
		p = daysPeriod(name, today.AddDate(0, -12, 1), today.AddDate(0, 0, 1))
	case "", "custom":
		f, err1 := time.Parse(time.DateOnly, from)
		t, err2 := time.Parse(time.DateOnly, to)
		if err1 != nil || err2 != nil || t.Before(f) || t.Sub(f) > 5*366*24*time.Hour {
			return Period{}, fmt.Errorf("%w: from and to must be dates (YYYY-MM-DD), from ≤ to, at most 5 years", ErrBadPeriod)
		}
		p = daysPeriod("custom", f, t.AddDate(0, 0, 1))
	default:
		return Period{}, fmt.Errorf("%w: %q (use today, 24h, 7d, 30d, 12mo, or from/to dates)", ErrBadPeriod, name)
	}
	p.Previous.Name = p.Name
	return p, nil
}

// days_ is a period of whole days with the previous one of equal length.
func daysPeriod(name string, from, to time.Time) Period {
	n := int(to.Sub(from).Hours()/24 + 0.5)
	return Period{Name: name, From: from, To: to, Hourly: n <= 2,
		Previous: &Period{From: from.AddDate(0, 0, -n), To: from}}
}
