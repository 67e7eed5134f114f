// Package stats answers the dashboard's questions about one website: the
// KPIs of a period with the previous period and the change, a time series,
// the top keys of every breakdown, goal conversions, funnels, custom event
// properties and the active users; and the rows behind the dashboard's
// drill-downs (event payloads, JS error groups, sessions and their
// timelines). Every figure can be filtered (Filter).
//
// Nothing here reads the wall clock: every function that depends on the
// present takes it as now, so callers (and tests) decide what "now" is.
//
// Days are the website's local days (websites.timezone). The summaries
// (dash_sum, dash_sum_items) are hourly in UTC, so an unfiltered period
// whose every boundary falls on a whole UTC hour (any zone with a
// whole-hour offset, DST included) is summed from them: a 30-day view
// costs the same with 10 thousand or 10 million events. Filtered figures,
// "today", "24h" and zones with half-hour offsets read raw rows through
// the (website, timestamp), (website, path, timestamp), (website,
// eventName, timestamp) and (website, startedAt) indexes.
package stats

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	// zone data inside the binary: a container without /usr/share/zoneinfo
	// still knows every site's time zone
	_ "time/tzdata"
)

// ErrBadPeriod is returned for an unknown period name or bad dates.
var ErrBadPeriod = errors.New("stats: bad period")

// ErrBadTimezone is returned for a time zone name that is not an IANA zone.
var ErrBadTimezone = errors.New("stats: bad time zone")

// Location returns the IANA time zone name ("" and "UTC" are UTC).
// "Local" is refused: it would mean the server's zone, which changes with
// the machine.
func Location(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" || strings.TrimSpace(name) != name {
		return nil, fmt.Errorf("%w: %q", ErrBadTimezone, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrBadTimezone, name)
	}
	return loc, nil
}

// Period is a half-open time range [From, To) with the previous period of
// the same length, in the website's time zone.
type Period struct {
	Name     string    `json:"name"` // a PeriodNames entry or custom
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Timezone string    `json:"timezone"` // IANA name the days are counted in
	Hourly   bool      `json:"hourly"`   // series by hour (Interval "hour")
	// Interval is the series' step: hour, day, week (from Monday) or
	// month, in the website's time zone; by default the period's length
	// chooses it (DefaultInterval), WithInterval changes it.
	Interval string `json:"interval"`
	// IntervalSet is true when WithInterval chose Interval (links keep it).
	IntervalSet bool    `json:"-"`
	FromRaw     bool    `json:"-"`        // "today" and "24h": raw rows up to now
	Previous    *Period `json:"previous"` // the same length just before

	loc *time.Location
}

// Location is the time zone the period's days are counted in.
func (p Period) Location() *time.Location {
	if p.loc == nil {
		return time.UTC
	}
	return p.loc
}

// ParsePeriod is ParsePeriodIn with UTC days.
func ParsePeriod(name, from, to string, now time.Time) (Period, error) {
	return ParsePeriodIn(name, from, to, now, time.UTC)
}

// PeriodNames are the named periods ParsePeriodIn reads: today, the
// last 24 hours, yesterday, the last 7 and 30 days, this month and last
// month, the year to date and the last 12 months.
var PeriodNames = []string{"today", "24h", "yesterday", "7d", "30d", "month", "lastmonth", "ytd", "12mo"}

// Intervals are the steps a series may be read in (Period.Interval).
var Intervals = []string{"hour", "day", "week", "month"}

// MaxHourlyDays is the longest period a series by hour may cover: 7 days
// are 168 points, which a chart can still show.
const MaxHourlyDays = 7

// ParsePeriodIn reads a period name (PeriodNames) or, when name is empty
// or "custom", the inclusive dates from and to ("2026-11-01"), with days
// in loc: "today" starts at loc's midnight, a day on which DST starts or
// ends has 23 or 25 hours, and the previous period of a day range is the
// same number of local days before. "month" and "ytd" end today
// (included), and their previous period is as many days before.
func ParsePeriodIn(name, from, to string, now time.Time, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	var p Period
	switch name {
	case "today":
		p = Period{Name: name, From: today, To: now, Hourly: true, FromRaw: true}
		p.Previous = &Period{From: today.AddDate(0, 0, -1), To: now.AddDate(0, 0, -1), FromRaw: true}
	case "24h":
		p = Period{Name: name, From: now.Add(-24 * time.Hour), To: now, Hourly: true, FromRaw: true}
		p.Previous = &Period{From: now.Add(-48 * time.Hour), To: now.Add(-24 * time.Hour), FromRaw: true}
	case "7d", "30d":
		days := 7
		if name == "30d" {
			days = 30
		}
		p = daysPeriod(name, today.AddDate(0, 0, -(days-1)), today.AddDate(0, 0, 1))
	case "12mo":
		p = daysPeriod(name, today.AddDate(0, -12, 1), today.AddDate(0, 0, 1))
	case "yesterday":
		p = daysPeriod(name, today.AddDate(0, 0, -1), today)
	case "month":
		p = daysPeriod(name, time.Date(y, m, 1, 0, 0, 0, 0, loc), today.AddDate(0, 0, 1))
	case "lastmonth":
		p = daysPeriod(name, time.Date(y, m-1, 1, 0, 0, 0, 0, loc), time.Date(y, m, 1, 0, 0, 0, 0, loc))
	case "ytd":
		p = daysPeriod(name, time.Date(y, 1, 1, 0, 0, 0, 0, loc), today.AddDate(0, 0, 1))
	case "", "custom":
		f, err1 := time.ParseInLocation(time.DateOnly, from, loc)
		t, err2 := time.ParseInLocation(time.DateOnly, to, loc)
		if err1 != nil || err2 != nil || t.Before(f) || t.Sub(f) > 5*366*24*time.Hour {
			return Period{}, fmt.Errorf("%w: from and to must be dates (YYYY-MM-DD), from ≤ to, at most 5 years", ErrBadPeriod)
		}
		p = daysPeriod("custom", f, t.AddDate(0, 0, 1))
	default:
		return Period{}, fmt.Errorf("%w: %q (use %s, or from/to dates)", ErrBadPeriod, name, strings.Join(PeriodNames, ", "))
	}
	p.loc, p.Previous.loc = loc, loc
	p.Timezone, p.Previous.Timezone = loc.String(), loc.String()
	if p.Interval == "" {
		p.Interval = "hour"
	}
	p.Previous.Name, p.Previous.Hourly, p.Previous.Interval = p.Name, p.Hourly, p.Interval
	return p, nil
}

// DefaultInterval is the series step of a period of days: by hour up to 2
// days, by day up to 92 (a quarter), by week up to 200, else by month
// (12 months are 13 points, not 365).
func DefaultInterval(days int) string {
	switch {
	case days <= 2:
		return "hour"
	case days <= 92:
		return "day"
	case days <= 200:
		return "week"
	}
	return "month"
}

// WithInterval is p read in steps of interval (Intervals; "" keeps p's).
// A series by hour covers at most MaxHourlyDays.
func (p Period) WithInterval(interval string) (Period, error) {
	if interval == "" || interval == p.Interval {
		return p, nil
	}
	if !slices.Contains(Intervals, interval) {
		return Period{}, fmt.Errorf("%w: interval %q (use %s)", ErrBadPeriod, interval, strings.Join(Intervals, ", "))
	}
	if interval == "hour" && p.To.Sub(p.From) > MaxHourlyDays*24*time.Hour+time.Hour {
		return Period{}, fmt.Errorf("%w: an hourly series covers at most %d days", ErrBadPeriod, MaxHourlyDays)
	}
	prev := *p.Previous
	p.Previous = &prev
	p.Interval, p.Hourly, p.IntervalSet = interval, interval == "hour", true
	p.Previous.Interval, p.Previous.Hourly = p.Interval, p.Hourly
	return p, nil
}

// daysPeriod is a period of whole local days with the previous one of
// equal length (in days, not hours: the days may differ by a DST hour).
func daysPeriod(name string, from, to time.Time) Period {
	n := 0
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		n++
	}
	iv := DefaultInterval(n)
	return Period{Name: name, From: from, To: to, Hourly: iv == "hour", Interval: iv,
		Previous: &Period{From: from.AddDate(0, 0, -n), To: from}}
}

// Buckets returns the start of every step of the period's series (local
// hours, days, weeks from Monday or months; the first and last may be
// partial) followed by the period's end: step i is [b[i], b[i+1]).
func (p Period) Buckets() []time.Time {
	var out []time.Time
	switch p.Interval {
	case "week", "month":
		// the period's start, then every local Monday (the 1st) after it
		loc := p.Location()
		y, m, d := p.From.In(loc).Date()
		next := time.Date(y, m, d, 0, 0, 0, 0, loc)
		out = append(out, p.From)
		for {
			if p.Interval == "week" {
				next = next.AddDate(0, 0, 1)
				for next.Weekday() != time.Monday {
					next = next.AddDate(0, 0, 1)
				}
			} else {
				ny, nm, _ := next.Date()
				next = time.Date(ny, nm+1, 1, 0, 0, 0, 0, loc)
			}
			if !next.Before(p.To) {
				return append(out, p.To)
			}
			out = append(out, next)
		}
	}
	if p.Hourly {
		// whole hours of real time from the local midnight (a DST day
		// has 23 or 25); "24h" starts at the local hour it starts in
		// (in India at :30 UTC, in Nepal at :45)
		t := p.From
		if p.Name == "24h" {
			l := t.In(p.Location())
			t = t.Add(-time.Duration(l.Minute())*time.Minute - time.Duration(l.Second())*time.Second - time.Duration(l.Nanosecond()))
		}
		for ; t.Before(p.To); t = t.Add(time.Hour) {
			out = append(out, t)
		}
	} else {
		for t := p.From; t.Before(p.To); t = t.AddDate(0, 0, 1) {
			out = append(out, t)
		}
	}
	return append(out, p.To)
}

// previousBuckets are the bounds of Buckets moved back to the previous
// period, so that its step i lines up with step i: by the period's length
// in local days (a step keeps its local clock time across a DST change,
// and the last bound is Previous.To), or for "24h" by 24 hours. A bound
// that DST makes fall before the one ahead of it takes that one's place:
// the step is empty, and the steps still add up to Previous.
func (p Period) previousBuckets() []time.Time {
	out := p.Buckets()
	if p.Previous == nil {
		return nil
	}
	days := 0
	for d := p.Previous.From; d.Before(p.From); d = d.AddDate(0, 0, 1) {
		days++
	}
	loc := p.Location()
	for i, t := range out {
		if p.Name == "24h" {
			out[i] = t.Add(p.Previous.From.Sub(p.From))
		} else {
			out[i] = t.In(loc).AddDate(0, 0, -days)
		}
		if i > 0 && out[i].Before(out[i-1]) {
			out[i] = out[i-1]
		}
	}
	return out
}

// onUTCHours reports whether every instant falls on a whole UTC hour, so
// that hourly summary rows add up to the ranges they bound.
func onUTCHours(ts ...time.Time) bool {
	for _, t := range ts {
		if !t.Equal(t.Truncate(time.Hour)) {
			return false
		}
	}
	return true
}

// SiteLocation is the time zone of a websites record (its timezone
// field); UTC when it is empty or not a zone (the record hooks refuse
// those, so only data written around them can have one).
func SiteLocation(site interface{ GetString(string) string }) *time.Location {
	loc, err := Location(site.GetString("timezone"))
	if err != nil {
		return time.UTC
	}
	return loc
}
