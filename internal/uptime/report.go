package uptime

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

// Windows are the periods a Report gives the uptime of, as names the REST
// API and the dashboard use.
var Windows = []struct {
	Name string
	Span time.Duration
}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}, {"90d", 90 * 24 * time.Hour}}

// Report is a website's uptime as the dashboard and GET
// /api/skopos/uptime show it.
type Report struct {
	Monitoring bool      `json:"monitoring"`
	Interval   int       `json:"interval"` // seconds
	Status     string    `json:"status"`   // "up", "down" or "" (never checked)
	LastCheck  time.Time `json:"lastCheck"`
	// CertExpiry is the TLS certificate's expiry as the last https check
	// saw it (zero: none); CertWarning is set 14 days ahead.
	CertExpiry  time.Time `json:"certExpiry"`
	CertWarning bool      `json:"certWarning"`
	// Uptime is the share of checks that were up, in percent, per window
	// name (Windows); nil when the window has no check.
	Uptime map[string]*float64 `json:"uptime"`
	// Points are the response times of the period (raw checks while they
	// are kept, then one point per day from the roll-up), oldest first.
	Points    []Point    `json:"points"`
	Incidents []Incident `json:"incidents"` // newest first, at most 100
}

// Point is one response time on the chart.
type Point struct {
	Time time.Time `json:"time"`
	Up   bool      `json:"up"`
	// ResponseTime is in milliseconds (a day's average for a roll-up
	// point, which also has P95 and its share of checks up).
	ResponseTime float64  `json:"responseTime"`
	P95          *float64 `json:"p95,omitempty"`
	UpShare      *float64 `json:"upShare,omitempty"`
}

// Incident is one down period.
type Incident struct {
	Start    time.Time `json:"startTime"`
	End      time.Time `json:"endTime"`  // zero while open
	Duration int64     `json:"duration"` // milliseconds; until now while open
	Resolved bool      `json:"isResolved"`
	Error    string    `json:"error"`
	Status   int       `json:"statusCode"`
}

// CertWarningAhead is how long before a certificate expires it is warned about.
const CertWarningAhead = 14 * 24 * time.Hour

// maxIncidents bounds the incidents a Report lists.
const maxIncidents = 100

// Read builds site's report for the period ending at now: Uptime for every
// window, the chart's points and the incidents that overlap the period.
// Days before the raw checks' retention come from uptime_days.
func Read(app core.App, site *core.Record, period time.Duration, now time.Time) (*Report, error) {
	r := &Report{Monitoring: site.GetBool("uptimeMonitoring"), Interval: IntervalOf(site), Status: site.GetString("currentStatus"),
		LastCheck: site.GetDateTime("lastUptimeCheck").Time(), CertExpiry: site.GetDateTime("certExpiry").Time(), Uptime: map[string]*float64{}}
	r.CertWarning = !r.CertExpiry.IsZero() && r.CertExpiry.Sub(now) < CertWarningAhead
	for _, w := range Windows {
		up, total, err := counts(app, site.Id, now.Add(-w.Span), now)
		if err != nil {
			return nil, err
		}
		if total > 0 {
			pct := 100 * float64(up) / float64(total)
			r.Uptime[w.Name] = &pct
		}
	}
	var err error
	if r.Points, err = points(app, site.Id, now.Add(-period), now); err != nil {
		return nil, err
	}
	if r.Incidents, err = incidents(app, site.Id, now.Add(-period), now); err != nil {
		return nil, err
	}
	return r, nil
}

// IntervalOf is a website's check interval in seconds: its
// uptimeCheckInterval, at least MinInterval, DefaultInterval when unset.
func IntervalOf(site *core.Record) int { return intervalWithin(site, MinInterval) }

// intervalWithin is IntervalOf with another least interval (tests).
func intervalWithin(site *core.Record, least time.Duration) int {
	s := site.GetInt("uptimeCheckInterval")
	switch {
	case s <= 0:
		return int(DefaultInterval / time.Second)
	case s < int(least/time.Second):
		return int(least / time.Second)
	}
	return s
}

// Check intervals.
const (
	MinInterval     = 60 * time.Second
	DefaultInterval = 300 * time.Second
)

// dbTime and parseDB write and read PocketBase's stored date text.
func dbTime(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }

// parseDB reads a stored date; the zero time for an empty or bad one.
func parseDB(s string) time.Time {
	t, _ := time.Parse(types.DefaultDateLayout, s)
	return t
}

// counts returns the checks up and in total in [from, to): raw checks
// where they exist, and the daily roll-up for the days before the first
// raw check kept.
func counts(app core.App, siteID string, from, to time.Time) (up, total int, err error) {
	var raw struct {
		Up    int    `db:"up"`
		Total int    `db:"total"`
		First string `db:"first"`
	}
	err = app.DB().NewQuery("SELECT COALESCE(SUM(isUp), 0) AS up, COUNT(*) AS total, COALESCE(MIN(timestamp), '') AS first FROM " +
		schema.UptimeChecks + " WHERE website = {:w} AND timestamp >= {:from} AND timestamp < {:to}").
		Bind(dbx.Params{"w": siteID, "from": dbTime(from), "to": dbTime(to)}).One(&raw)
	if err != nil {
		return 0, 0, fmt.Errorf("uptime: counts: %w", err)
	}
	// whole days before the oldest raw check come from the roll-up
	before := to
	if raw.First != "" {
		if t := parseDB(raw.First); !t.IsZero() {
			before = t
		}
	}
	firstDay := from.UTC().Truncate(24 * time.Hour)
	if !firstDay.Equal(from.UTC()) {
		firstDay = firstDay.Add(24 * time.Hour) // only whole days
	}
	lastDay := before.UTC().Truncate(24 * time.Hour) // days strictly before the raw checks' first day
	var days struct {
		Up    int `db:"up"`
		Total int `db:"total"`
	}
	err = app.DB().NewQuery("SELECT COALESCE(SUM(upChecks), 0) AS up, COALESCE(SUM(checks), 0) AS total FROM " + schema.UptimeDays +
		" WHERE website = {:w} AND date >= {:from} AND date < {:to}").
		Bind(dbx.Params{"w": siteID, "from": dbTime(firstDay), "to": dbTime(lastDay)}).One(&days)
	if err != nil {
		return 0, 0, fmt.Errorf("uptime: counts: %w", err)
	}
	return raw.Up + days.Up, raw.Total + days.Total, nil
}

// points are the chart's values in [from, to): daily roll-ups for the
// days before the oldest raw check, then the raw checks.
func points(app core.App, siteID string, from, to time.Time) ([]Point, error) {
	var raw []struct {
		Time string  `db:"timestamp"`
		Up   bool    `db:"isUp"`
		MS   float64 `db:"responseTime"`
	}
	err := app.DB().NewQuery("SELECT timestamp, isUp, responseTime FROM " + schema.UptimeChecks +
		" WHERE website = {:w} AND timestamp >= {:from} AND timestamp < {:to} ORDER BY timestamp").
		Bind(dbx.Params{"w": siteID, "from": dbTime(from), "to": dbTime(to)}).All(&raw)
	if err != nil {
		return nil, fmt.Errorf("uptime: points: %w", err)
	}
	before := to
	if len(raw) > 0 {
		if t := parseDB(raw[0].Time); !t.IsZero() {
			before = t
		}
	}
	var days []struct {
		Date   string  `db:"date"`
		Checks int     `db:"checks"`
		Up     int     `db:"upChecks"`
		Avg    float64 `db:"avgResponseTime"`
		P95    float64 `db:"p95ResponseTime"`
	}
	err = app.DB().NewQuery("SELECT date, checks, upChecks, avgResponseTime, p95ResponseTime FROM " + schema.UptimeDays +
		" WHERE website = {:w} AND date >= {:from} AND date < {:to} ORDER BY date").
		Bind(dbx.Params{"w": siteID, "from": dbTime(from.UTC().Truncate(24 * time.Hour)), "to": dbTime(before.UTC().Truncate(24 * time.Hour))}).All(&days)
	if err != nil {
		return nil, fmt.Errorf("uptime: points: %w", err)
	}
	out := make([]Point, 0, len(days)+len(raw))
	for _, d := range days {
		t := parseDB(d.Date)
		share := 0.0
		if d.Checks > 0 {
			share = 100 * float64(d.Up) / float64(d.Checks)
		}
		p95 := d.P95
		out = append(out, Point{Time: t, Up: d.Up == d.Checks, ResponseTime: d.Avg, P95: &p95, UpShare: &share})
	}
	for _, c := range raw {
		t := parseDB(c.Time)
		out = append(out, Point{Time: t, Up: c.Up, ResponseTime: c.MS})
	}
	return out, nil
}

// incidents are those overlapping [from, to), newest first.
func incidents(app core.App, siteID string, from, to time.Time) ([]Incident, error) {
	var rows []struct {
		Start    string `db:"startTime"`
		End      string `db:"endTime"`
		Duration int64  `db:"duration"`
		Resolved bool   `db:"isResolved"`
		Error    string `db:"error"`
		Status   int    `db:"statusCode"`
	}
	err := app.DB().NewQuery("SELECT startTime, endTime, duration, isResolved, error, statusCode FROM " + schema.UptimeIncidents +
		" WHERE website = {:w} AND startTime < {:to} AND (isResolved = FALSE OR endTime >= {:from}) ORDER BY startTime DESC LIMIT {:n}").
		Bind(dbx.Params{"w": siteID, "from": dbTime(from), "to": dbTime(to), "n": maxIncidents}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("uptime: incidents: %w", err)
	}
	out := make([]Incident, 0, len(rows))
	for _, r := range rows {
		in := Incident{Duration: r.Duration, Resolved: r.Resolved, Error: r.Error, Status: r.Status}
		in.Start = parseDB(r.Start)
		if r.Resolved {
			in.End = parseDB(r.End)
		} else {
			in.Duration = to.Sub(in.Start).Milliseconds() // open: until now
		}
		out = append(out, in)
	}
	return out, nil
}
