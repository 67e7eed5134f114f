package uptime

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

const day = 24 * time.Hour

// rollUpState names the skopos_state row holding the first UTC day
// (2006-01-02) whose roll-up is not final yet.
const rollUpState = "uptime.rollup.open"

// finalMargin is how long after midnight a day is still open to checks:
// a check is stamped when it starts and stored when it ends, up to
// three timeouts and a fallback later.
const finalMargin = 10 * time.Minute

// RollUp writes the uptime_days row of every website and UTC day that
// has raw checks and is not final yet, then deletes the raw checks of
// the whole days older than retention (DefaultRetention when ≤ 0).
//
// A row counts the day's checks and those up, the average and
// nearest-rank 95th percentile of the up checks' response times, the
// incidents that started that day and the downtime within the day (an
// open incident until now). A day becomes final, and is not written
// again, once a roll-up ran after it ended; today's row is rewritten by
// every roll-up. Only final days are pruned, so the report's windows
// read the same before and after.
func RollUp(ctx context.Context, app core.App, now time.Time, retention time.Duration) error {
	if retention <= 0 {
		retention = DefaultRetention
	}
	now = now.UTC()
	state, err := app.FindFirstRecordByData(schema.State, "name", rollUpState)
	if err != nil {
		if state, err = newRecord(app, schema.State); err != nil {
			return fmt.Errorf("uptime: roll up: %w", err)
		}
		state.Set("name", rollUpState)
	}
	from := time.Time{}
	if t, perr := time.Parse(time.DateOnly, state.GetString("value")); perr == nil {
		from = t
	}
	var days []struct {
		Website string `db:"website"`
		Day     string `db:"day"`
	}
	err = app.DB().NewQuery("SELECT website, substr(timestamp, 1, 10) AS day FROM " + schema.UptimeChecks +
		" WHERE timestamp >= {:from} GROUP BY website, day ORDER BY day, website").
		Bind(dbx.Params{"from": dbTime(from)}).All(&days)
	if err != nil {
		return fmt.Errorf("uptime: roll up: %w", err)
	}
	open := now.Add(-finalMargin).Truncate(day) // days before it are final after this run
	err = app.RunInTransaction(func(tx core.App) error {
		for _, d := range days {
			if err := ctx.Err(); err != nil {
				return err
			}
			start, err := time.Parse(time.DateOnly, d.Day)
			if err != nil {
				continue // not a stored date: nothing to roll up
			}
			if err := rollUpDay(tx, d.Website, start, now); err != nil {
				return err
			}
		}
		if open.After(from) {
			state.Set("value", open.Format(time.DateOnly))
			return tx.Save(state)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("uptime: roll up: %w", err)
	}
	cut := now.Add(-retention).Truncate(day)
	if open.Before(cut) {
		cut = open
	}
	if _, err := app.DB().NewQuery("DELETE FROM " + schema.UptimeChecks + " WHERE timestamp < {:cut}").
		Bind(dbx.Params{"cut": dbTime(cut)}).Execute(); err != nil {
		return fmt.Errorf("uptime: prune checks: %w", err)
	}
	return nil
}

// daySummary is one website's UTC day as uptime_days stores it.
type daySummary struct {
	Checks, UpChecks int
	// AvgResponseTime and P95ResponseTime are of the up checks, in
	// milliseconds (0 without one).
	AvgResponseTime, P95ResponseTime float64
	// Incidents started that day; Downtime is the milliseconds of the day
	// within an incident.
	Incidents int
	Downtime  int64
}

// summarize computes siteID's day starting at start (UTC midnight) from
// the raw checks and the incidents; an open incident lasts until now.
func summarize(app core.App, siteID string, start, now time.Time) (daySummary, error) {
	var s daySummary
	end := start.Add(day)
	p := dbx.Params{"w": siteID, "from": dbTime(start), "to": dbTime(end)}
	var times []float64
	err := app.DB().NewQuery("SELECT responseTime FROM " + schema.UptimeChecks +
		" WHERE website = {:w} AND timestamp >= {:from} AND timestamp < {:to} AND isUp = TRUE ORDER BY responseTime").Bind(p).Column(&times)
	if err != nil {
		return s, err
	}
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM " + schema.UptimeChecks +
		" WHERE website = {:w} AND timestamp >= {:from} AND timestamp < {:to}").Bind(p).Row(&s.Checks); err != nil {
		return s, err
	}
	s.UpChecks = len(times)
	if n := len(times); n > 0 {
		sum := 0.0
		for _, t := range times {
			sum += t
		}
		s.AvgResponseTime = sum / float64(n)
		s.P95ResponseTime = times[int(math.Ceil(0.95*float64(n)))-1]
	}
	var incidents []struct {
		Start    string `db:"startTime"`
		End      string `db:"endTime"`
		Resolved bool   `db:"isResolved"`
	}
	err = app.DB().NewQuery("SELECT startTime, endTime, isResolved FROM " + schema.UptimeIncidents +
		" WHERE website = {:w} AND startTime < {:to} AND (isResolved = FALSE OR endTime > {:from})").Bind(p).All(&incidents)
	if err != nil {
		return s, err
	}
	for _, in := range incidents {
		from := parseDB(in.Start)
		if !from.Before(start) {
			s.Incidents++
		}
		to := now
		if in.Resolved {
			to = parseDB(in.End)
		}
		from, to = later(from, start), earlier(to, end)
		if to.After(from) {
			s.Downtime += to.Sub(from).Milliseconds()
		}
	}
	return s, nil
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// rollUpDay writes siteID's uptime_days row for the day starting at start.
func rollUpDay(tx core.App, siteID string, start, now time.Time) error {
	s, err := summarize(tx, siteID, start, now)
	if err != nil {
		return err
	}
	rows, err := tx.FindRecordsByFilter(schema.UptimeDays, "website = {:w} && date = {:d}", "", 1, 0,
		dbx.Params{"w": siteID, "d": dbTime(start)})
	if err != nil {
		return err
	}
	var row *core.Record
	if len(rows) > 0 {
		row = rows[0]
	} else if row, err = newRecord(tx, schema.UptimeDays); err != nil {
		return err
	}
	row.Set("website", siteID)
	row.Set("date", start)
	row.Set("checks", s.Checks)
	row.Set("upChecks", s.UpChecks)
	row.Set("incidents", s.Incidents)
	row.Set("avgResponseTime", s.AvgResponseTime)
	row.Set("p95ResponseTime", s.P95ResponseTime)
	row.Set("downtime", s.Downtime)
	return tx.Save(row)
}
