package hourly

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/schema"
)

// pbDate formats t as PocketBase stores dates.
func pbDate(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }

func prefix(s string, n int) string {
	if len(s) < n {
		return s
	}
	return s[:n]
}

// hourOf splits a "YYYY-MM-DD HH" group (substr(date, 1, 13)) into its
// day key and hour; ok=false for anything else.
func hourOf(h string) (dayKey string, hour int, ok bool) {
	if len(h) != 13 || h[10] != ' ' {
		return "", 0, false
	}
	n, err := strconv.Atoi(h[11:])
	if err != nil || n < 0 || n > 23 {
		return "", 0, false
	}
	return h[:10], n, true
}

// window loads the stored items and the raw rows' hourly groups of the
// days in [from, to).
func (m *migration) window(days map[string]*day, from, to time.Time) error {
	params := dbx.Params{"w": m.website, "from": pbDate(from), "to": pbDate(to)}
	if err := m.loadItems(days, params); err != nil {
		return err
	}
	if err := m.loadSessions(days, params); err != nil {
		return err
	}
	return m.loadEvents(days, params)
}

// loadItems gives each day its stored breakdown rows (jsError aside).
func (m *migration) loadItems(days map[string]*day, params dbx.Params) error {
	var items []itemRow
	err := m.tx.DB().NewQuery(`SELECT id, date, dimension, key, count FROM dash_sum_items
		WHERE website = {:w} AND date >= {:from} AND date < {:to} AND dimension != 'jsError'`).Bind(params).All(&items)
	if err != nil {
		return fmt.Errorf("dash_sum_items: %w", err)
	}
	for _, it := range items {
		if d := days[prefix(it.Date, 10)]; d != nil {
			d.items = append(d.items, it)
		}
	}
	return nil
}

// sessionGroup is one group of the sessions query: the sessions started
// in one hour with the same breakdown values, and their counters.
type sessionGroup struct {
	hour, utm                                         string
	values                                            []string // of pipeline.SessionDimensions, in order
	visitors, newVisitors, engaged, bounces, duration int
}

// dest is what a row of the sessions query scans into.
func (g *sessionGroup) dest() []any {
	g.values = make([]string, len(pipeline.SessionDimensions))
	dest := []any{&g.hour}
	for i := range g.values {
		dest = append(dest, &g.values[i])
	}
	return append(dest, &g.utm, &g.visitors, &g.newVisitors, &g.engaged, &g.bounces, &g.duration)
}

// loadSessions reads the sessions grouped by start hour and everything
// the breakdowns read: their counters and breakdowns go on that hour;
// each session's duration is its elapsed milliseconds (from the stored
// timestamps) rounded to seconds half up, as pipeline.Seconds.
func (m *migration) loadSessions(days map[string]*day, params dbx.Params) error {
	cols := ""
	for _, sd := range pipeline.SessionDimensions {
		cols += ", " + quote(sd.Column)
	}
	rs, err := m.tx.DB().NewQuery(`SELECT h` + cols + `, utm, COUNT(*) AS visitors,
			SUM(CASE WHEN isNewVisitor THEN 1 ELSE 0 END) AS newVisitors,
			SUM(CASE WHEN isEngaged THEN 1 ELSE 0 END) AS engaged,
			SUM(CASE WHEN eventCount <= 1 THEN 1 ELSE 0 END) AS bounces,
			SUM(CASE WHEN ms > 0 THEN (ms + 500) / 1000 ELSE 0 END) AS duration
		FROM (SELECT substr(startedAt, 1, 13) AS h` + cols + `, COALESCE(utm, '') AS utm, isNewVisitor, isEngaged, eventCount,
			(CAST(strftime('%s', lastActivity) AS INTEGER) - CAST(strftime('%s', startedAt) AS INTEGER)) * 1000
				+ CAST(substr(lastActivity, 21, 3) AS INTEGER) - CAST(substr(startedAt, 21, 3) AS INTEGER) AS ms
			FROM sessions WHERE website = {:w} AND startedAt >= {:from} AND startedAt < {:to})
		GROUP BY h` + cols + `, utm`).Bind(params).Rows()
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	var g sessionGroup
	dest := g.dest()
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			rs.Close()
			return fmt.Errorf("sessions: %w", err)
		}
		k, hour, ok := hourOf(g.hour)
		if d := days[k]; ok && d != nil {
			d.addSessions(hour, &g)
		}
	}
	err = rs.Err()
	if cerr := rs.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	return nil
}

// addSessions counts a group of sessions on hour of d.
func (d *day) addSessions(hour int, g *sessionGroup) {
	c := &d.hours[hour]
	c[cVisitors] += g.visitors
	c[cNew] += g.newVisitors
	c[cReturning] += g.visitors - g.newVisitors
	c[cEngaged] += g.engaged
	c[cBounces] += g.bounces
	c[cDuration] += g.duration
	for i, sd := range pipeline.SessionDimensions {
		d.raw[hourItem{hour, dimKey{sd.Dim, pipeline.SummaryKey(pipeline.SessionValue(sd.Dim, g.values[i]))}}] += g.visitors
	}
	// campaigns: the sessions whose utm has the parameter
	var params map[string]any
	if g.utm == "" || json.Unmarshal([]byte(g.utm), &params) != nil {
		return
	}
	for _, dim := range schema.UTMDimensions {
		if v, _ := params[dim].(string); v != "" {
			d.raw[hourItem{hour, dimKey{dim, pipeline.SummaryKey(v)}}] += g.visitors
		}
	}
}

// loadEvents counts page views by path and custom events by name, on
// their own hour.
func (m *migration) loadEvents(days map[string]*day, params dbx.Params) error {
	var events []struct {
		H    string `db:"h"`
		Type string `db:"type"`
		V    string `db:"v"`
		N    int    `db:"n"`
	}
	err := m.tx.DB().NewQuery(`SELECT substr(timestamp, 1, 13) AS h, type, CASE WHEN type = 'pageView' THEN path ELSE eventName END AS v,
			COUNT(*) AS n
		FROM events WHERE website = {:w} AND timestamp >= {:from} AND timestamp < {:to} AND type IN ('pageView', 'custom')
		GROUP BY h, type, v`).Bind(params).All(&events)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	for _, e := range events {
		k, hour, ok := hourOf(e.H)
		d := days[k]
		if !ok || d == nil {
			continue
		}
		dim := "customEvent"
		if e.Type == "pageView" {
			dim = "page"
			d.hours[hour][cPageViews] += e.N
		}
		d.raw[hourItem{hour, dimKey{dim, pipeline.SummaryKey(e.V)}}] += e.N
	}
	return nil
}
