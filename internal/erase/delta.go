package erase

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/schema"
)

// counterCols are dash_sum's counters, in the order of counters.
var counterCols = schema.SumCounters

type counters [8]int

const (
	cPageViews = iota
	cVisitors
	cNew
	cReturning
	cEngaged
	cBounces
	cDuration
	cJSErrors
)

type itemKey struct {
	day      int64 // unix seconds of the UTC day's start
	dim, key string
}

// delta is what the erased rows added to the summaries.
type delta struct {
	sums  map[int64]*counters // by UTC hour (unix seconds of its start)
	items map[itemKey]int
}

func newDelta() *delta { return &delta{sums: map[int64]*counters{}, items: map[itemKey]int{}} }

func (d *delta) sum(hour time.Time) *counters {
	k := hour.UTC().Truncate(time.Hour).Unix()
	if d.sums[k] == nil {
		d.sums[k] = &counters{}
	}
	return d.sums[k]
}

func (d *delta) item(at time.Time, dim, value string) {
	day := at.UTC().Truncate(24 * time.Hour).Unix()
	d.items[itemKey{day, dim, pipeline.SummaryKey(value)}]++
}

// erasedSession is what the summaries counted of a session: its
// counters and the values of pipeline.SessionDimensions, in order. A
// zero start is a row the pipeline did not write (never counted).
type erasedSession struct {
	start, last    time.Time
	utm            string
	isNew, engaged bool
	eventCount     int
	values         []string
}

// sqliteSession is a row of the SQLite sessions query (count).
type sqliteSession struct {
	erasedSession
	startedAt, lastActivity string
}

// dest is what a row of the sessions query scans into.
func (s *sqliteSession) dest() []any {
	s.values = make([]string, len(pipeline.SessionDimensions))
	dest := []any{&s.startedAt, &s.lastActivity, &s.isNew, &s.engaged, &s.eventCount, &s.utm}
	for i := range s.values {
		dest = append(dest, &s.values[i])
	}
	return dest
}

// count adds what the sessions ids, their events and their single-
// occurrence JS error groups added to the summaries.
func (e *eraser) count(ids []string) error {
	p := idParams(e.website, ids)
	cols := ""
	for _, sd := range pipeline.SessionDimensions {
		cols += ", `" + sd.Column + "`"
	}
	rows, err := e.query(`SELECT startedAt, lastActivity, isNewVisitor, isEngaged, eventCount, COALESCE(utm, '')`+cols+`
		FROM sessions WHERE website = {:w} AND id IN (`+inList(ids)+`)`, p).Rows()
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	for rows.Next() {
		var s sqliteSession
		if err := rows.Scan(s.dest()...); err != nil {
			rows.Close()
			return fmt.Errorf("sessions: %w", err)
		}
		s.start, _ = parseDate(s.startedAt)
		s.last, _ = parseDate(s.lastActivity)
		e.d.addSession(&s.erasedSession)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	var events []struct {
		At    string `db:"at"`
		Type  string `db:"type"`
		Value string `db:"value"`
		N     int    `db:"n"`
	}
	if err := e.query(`SELECT substr(timestamp, 1, 13) AS at, type, CASE WHEN type = 'pageView' THEN path ELSE eventName END AS value,
		COUNT(*) AS n FROM events WHERE session IN (`+inList(ids)+`) AND type IN ('pageView', 'custom')
		GROUP BY at, type, value`, p).All(&events); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	for _, ev := range events {
		at, err := time.Parse("2006-01-02 15", ev.At)
		if err != nil {
			continue // no timestamp: never counted (the pipeline always sets it)
		}
		e.d.addEvents(at, ev.Type, ev.Value, ev.N)
	}
	var errs []struct {
		LastSeen string `db:"lastSeen"`
		Message  string `db:"errorMessage"`
	}
	if err := e.query(`SELECT lastSeen, errorMessage FROM js_errors WHERE website = {:w} AND count = 1 AND session IN (`+inList(ids)+`)`,
		p).All(&errs); err != nil {
		return fmt.Errorf("js_errors: %w", err)
	}
	for _, je := range errs {
		if at, ok := parseDate(je.LastSeen); ok {
			e.d.addJSError(at, je.Message)
		}
	}
	return nil
}

// addEvents counts n events of type typ (pageView or custom) of the
// hour at, whose path or name is value.
func (d *delta) addEvents(at time.Time, typ, value string, n int) {
	dim := "customEvent"
	if typ == "pageView" {
		dim = "page"
		d.sum(at)[cPageViews] += n
	}
	d.items[itemKey{at.UTC().Truncate(24 * time.Hour).Unix(), dim, pipeline.SummaryKey(value)}] += n
}

// addJSError counts a JS error group's single occurrence, last seen at.
func (d *delta) addJSError(at time.Time, message string) {
	d.sum(at)[cJSErrors]++
	d.item(at, "jsError", message)
}

// addSession counts s as the pipeline did: on its start hour, its
// breakdowns on that UTC day.
func (d *delta) addSession(s *erasedSession) {
	start := s.start
	if start.IsZero() {
		return // not counted by the pipeline (a row it did not write)
	}
	c := d.sum(start)
	c[cVisitors]++
	if s.isNew {
		c[cNew]++
	} else {
		c[cReturning]++
	}
	if s.engaged {
		c[cEngaged]++
	}
	if s.eventCount <= 1 {
		c[cBounces]++
	}
	if !s.last.IsZero() {
		c[cDuration] += pipeline.Seconds(s.last.Sub(start))
	}
	for i, sd := range pipeline.SessionDimensions {
		d.item(start, sd.Dim, pipeline.SessionValue(sd.Dim, s.values[i]))
	}
	var utm map[string]any
	if s.utm == "" || json.Unmarshal([]byte(s.utm), &utm) != nil {
		return
	}
	for _, dim := range schema.UTMDimensions {
		if v, _ := utm[dim].(string); v != "" {
			d.item(start, dim, v)
		}
	}
}

// subtract takes the delta off the summary rows, hours and keys in order
// (a stable order of writes). An hour without its own row is taken from
// its day's hour-0 row (a daily row of an earlier version); a key
// without its own row from the day's "(other)".
func (e *eraser) subtract() error {
	hours := make([]int64, 0, len(e.d.sums))
	for h := range e.d.sums {
		hours = append(hours, h)
	}
	slices.Sort(hours)
	for _, h := range hours {
		hour := time.Unix(h, 0).UTC()
		err := e.subtractSum(*e.d.sums[h], hour)
		if err == errNoRow && hour.Hour() != 0 {
			err = e.subtractSum(*e.d.sums[h], hour.Truncate(24*time.Hour))
		}
		if err != nil && err != errNoRow {
			return fmt.Errorf("dash_sum: %w", err)
		}
	}
	keys := make([]itemKey, 0, len(e.d.items))
	for k := range e.d.items {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b itemKey) int {
		if a.day != b.day {
			return int(a.day - b.day)
		}
		if c := strings.Compare(a.dim, b.dim); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for _, k := range keys {
		err := e.subtractItem(k, k.key, e.d.items[k])
		if err == errNoRow && k.key != pipeline.OtherKey {
			err = e.subtractItem(k, pipeline.OtherKey, e.d.items[k])
		}
		if err != nil && err != errNoRow {
			return fmt.Errorf("dash_sum_items: %w", err)
		}
	}
	return nil
}

var errNoRow = errors.New("no row")

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// subtractSum takes c off the website's dash_sum row of hour; a row that
// comes to all zeros is deleted.
func (e *eraser) subtractSum(c counters, hour time.Time) error {
	var row struct {
		ID string `db:"id"`
		counters
	}
	dest := []any{&row.ID}
	for i := range row.counters {
		dest = append(dest, &row.counters[i])
	}
	err := e.query("SELECT id, "+strings.Join(quoted(counterCols), ", ")+" FROM dash_sum WHERE website = {:w} AND date = {:d}",
		dbx.Params{"w": e.website, "d": pbDate(hour)}).Row(dest...)
	if err != nil {
		if isNoRows(err) {
			return errNoRow
		}
		return err
	}
	left := counters{}
	for i := range left {
		left[i] = max(0, row.counters[i]-c[i])
	}
	e.res.Summaries++
	if left == (counters{}) {
		_, err = e.exec("DELETE FROM dash_sum WHERE id = {:id}", dbx.Params{"id": row.ID})
		return err
	}
	params := dbx.Params{"id": row.ID, "u": pbDate(time.Now())}
	set := make([]string, len(counterCols))
	for i, col := range counterCols {
		params[col] = left[i]
		set[i] = "`" + col + "` = {:" + col + "}"
	}
	_, err = e.exec("UPDATE dash_sum SET "+strings.Join(set, ", ")+", updated = {:u} WHERE id = {:id}", params)
	return err
}

// subtractItem takes n off the website's dash_sum_items row of k's day,
// dimension and key; at zero the row is deleted.
func (e *eraser) subtractItem(k itemKey, key string, n int) error {
	var id string
	var count int
	err := e.query("SELECT id, count FROM dash_sum_items WHERE website = {:w} AND date = {:d} AND dimension = {:dim} AND key = {:k}",
		dbx.Params{"w": e.website, "d": pbDate(time.Unix(k.day, 0)), "dim": k.dim, "k": key}).Row(&id, &count)
	if err != nil {
		if isNoRows(err) {
			return errNoRow
		}
		return err
	}
	e.res.Summaries++
	if count-n <= 0 {
		_, err = e.exec("DELETE FROM dash_sum_items WHERE id = {:id}", dbx.Params{"id": id})
		return err
	}
	_, err = e.exec("UPDATE dash_sum_items SET count = {:n}, updated = {:u} WHERE id = {:id}",
		dbx.Params{"id": id, "n": count - n, "u": pbDate(time.Now())})
	return err
}

func quoted(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = "`" + c + "`"
	}
	return out
}

// parseDate reads a stored PocketBase date; ok=false when empty or not one.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(types.DefaultDateLayout, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
