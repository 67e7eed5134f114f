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
// stays on hour 0 of a daily day. The campaign breakdowns (utm_*), which
// the daily rows did not have, are added to the verified days, capped
// like the others. Rows are written with bulk SQL in the migration's
// transaction (no record hooks), with the pipeline's derived ids, so that
// its later upserts hit them.
//
// It is safe on any data: a fresh install has nothing to do, and on days
// that are hourly already the recomputation equals what is stored, so
// nothing is written.
package hourly

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/schema"
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

// counters are a dash_sum row's counters the raw rows determine, in the
// order of counterCols (jsErrors is not among them: js_errors holds
// lifetime counts per error group, which no hour can be recovered from).
type counters [7]int

var counterCols = []string{"pageViews", "visitors", "newVisitors", "returningVisitors", "engagedSessions", "bounces", "durationSeconds"}

const (
	cPageViews = iota
	cVisitors
	cNew
	cReturning
	cEngaged
	cBounces
	cDuration
)

type dimKey struct{ dim, key string }

type hourItem struct {
	hour int
	dimKey
}

type sumRow struct {
	ID, Date string
	c        counters
}

type itemRow struct {
	ID    string `db:"id"`
	Date  string `db:"date"`
	Dim   string `db:"dimension"`
	Key   string `db:"key"`
	Count int    `db:"count"`
}

// day is one website-day: its stored rows and what the raw rows say.
type day struct {
	start time.Time // UTC midnight
	sums  []sumRow
	items []itemRow // every dimension but jsError
	hours [24]counters
	raw   map[hourItem]int // breakdown values before the day's key cap
}

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

type migration struct {
	tx      core.App
	st      *statements
	website string
	maxKeys int
	now     string // created / updated of the rows written
	res     *Result
}

func (m *migration) run() error {
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
		return err
	}
	days := map[string]*day{}
	var order []string
	for _, s := range sums {
		start, err := time.Parse(time.DateOnly, prefix(s.Date, 10))
		if err != nil {
			return fmt.Errorf("dash_sum %s: date %q: %w", s.ID, s.Date, err)
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
	db := m.tx.DB()
	params := dbx.Params{"w": m.website, "from": pbDate(from), "to": pbDate(to)}

	var items []itemRow
	err := db.NewQuery(`SELECT id, date, dimension, key, count FROM dash_sum_items
		WHERE website = {:w} AND date >= {:from} AND date < {:to} AND dimension != 'jsError'`).Bind(params).All(&items)
	if err != nil {
		return fmt.Errorf("dash_sum_items: %w", err)
	}
	for _, it := range items {
		if d := days[prefix(it.Date, 10)]; d != nil {
			d.items = append(d.items, it)
		}
	}

	// sessions, grouped by start hour and everything the breakdowns
	// read: their counters and breakdowns go on that hour; each
	// session's duration is its elapsed milliseconds (from the stored
	// timestamps) rounded to seconds half up, as pipeline.Seconds
	cols := ""
	for _, sd := range pipeline.SessionDimensions {
		cols += ", " + quote(sd.Column)
	}
	rs, err := db.NewQuery(`SELECT h` + cols + `, utm, COUNT(*) AS visitors,
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
	n := len(pipeline.SessionDimensions)
	values := make([]string, n)
	var h, utm string
	var visitors, newVisitors, engaged, bounces, duration int
	dest := []any{&h}
	for i := range values {
		dest = append(dest, &values[i])
	}
	dest = append(dest, &utm, &visitors, &newVisitors, &engaged, &bounces, &duration)
	for rs.Next() {
		if err := rs.Scan(dest...); err != nil {
			rs.Close()
			return fmt.Errorf("sessions: %w", err)
		}
		k, hour, ok := hourOf(h)
		d := days[k]
		if !ok || d == nil {
			continue
		}
		c := &d.hours[hour]
		c[cVisitors] += visitors
		c[cNew] += newVisitors
		c[cReturning] += visitors - newVisitors
		c[cEngaged] += engaged
		c[cBounces] += bounces
		c[cDuration] += duration
		for i, sd := range pipeline.SessionDimensions {
			d.raw[hourItem{hour, dimKey{sd.Dim, pipeline.SummaryKey(pipeline.SessionValue(sd.Dim, values[i]))}}] += visitors
		}
		// campaigns: the sessions whose utm has the parameter
		var params map[string]any
		if utm == "" || json.Unmarshal([]byte(utm), &params) != nil {
			continue
		}
		for _, dim := range schema.UTMDimensions {
			if v, _ := params[dim].(string); v != "" {
				d.raw[hourItem{hour, dimKey{dim, pipeline.SummaryKey(v)}}] += visitors
			}
		}
	}
	err = rs.Err()
	if cerr := rs.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}

	// page views by path and custom events by name, on their own hour
	var events []struct {
		H    string `db:"h"`
		Type string `db:"type"`
		V    string `db:"v"`
		N    int    `db:"n"`
	}
	err = db.NewQuery(`SELECT substr(timestamp, 1, 13) AS h, type, CASE WHEN type = 'pageView' THEN path ELSE eventName END AS v,
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

// verified tells the breakdowns the daily rows had (jsError aside):
// the utm_* ones are new, so the daily rows cannot vouch for them.
func verified(dim string) bool {
	return dim != "jsError" && !slices.Contains(schema.UTMDimensions, dim)
}

// day verifies one day and writes its hourly rows.
func (m *migration) day(d *day) error {
	dk := d.start.Format(time.DateOnly)
	keep := func() error {
		m.res.Kept++
		m.res.KeptDays = append(m.res.KeptDays, dk)
		return nil
	}

	// what is stored: its totals, its keys per dimension; and every row
	// must have the id the pipeline derives for it (else a row written
	// with the derived id would collide with it on the natural key, and
	// the pipeline's upserts would miss it)
	var stored counters
	for _, s := range d.sums {
		h, ok := rowHour(s.Date, d.start)
		if !ok || s.ID != pipeline.SumID(m.website, h) {
			return keep()
		}
		for i, v := range s.c {
			stored[i] += v
		}
	}
	storedItems := map[dimKey]int{}
	known := map[string]map[string]bool{} // the day's keys per dimension, as the pipeline loads them
	for _, it := range d.items {
		h, ok := rowHour(it.Date, d.start)
		if !ok || it.ID != pipeline.SumItemID(m.website, h, it.Dim, it.Key) {
			return keep()
		}
		if known[it.Dim] == nil {
			known[it.Dim] = map[string]bool{}
		}
		known[it.Dim][it.Key] = true
		if verified(it.Dim) {
			storedItems[dimKey{it.Dim, it.Key}] += it.Count
		}
	}

	// the day's key cap: the keys the day has stay; in a dimension that
	// has "(other)" already, every other key goes there (the pipeline's
	// own set may have held more keys than the rows show: keys whose
	// count came back to 0 within one write were never stored); in the
	// others, keys are admitted while there is room (most counted first,
	// the pipeline takes them as they come) and the rest go to "(other)"
	totals := map[dimKey]int{}
	for k, n := range d.raw {
		totals[k.dimKey] += n
	}
	var fresh []dimKey
	for k := range totals {
		if !known[k.dim][k.key] && k.key != pipeline.OtherKey {
			fresh = append(fresh, k)
		}
	}
	slices.SortFunc(fresh, func(a, b dimKey) int {
		if c := strings.Compare(a.dim, b.dim); c != 0 {
			return c
		}
		if totals[a] != totals[b] {
			return totals[b] - totals[a]
		}
		return strings.Compare(a.key, b.key)
	})
	mapped := map[dimKey]string{}
	for _, k := range fresh {
		set := known[k.dim]
		if set == nil {
			set = map[string]bool{}
			known[k.dim] = set
		}
		if !set[pipeline.OtherKey] && len(set) < m.maxKeys {
			set[k.key] = true
			continue
		}
		mapped[k] = pipeline.OtherKey
	}
	want := map[hourItem]int{}
	for k, n := range d.raw {
		if to, ok := mapped[k.dimKey]; ok {
			k.key = to
		}
		k.hour = 0 // breakdowns are daily: the day's row
		want[k] += n
	}

	// verify: the day's totals and every breakdown key the daily rows had
	var recomputed counters
	for _, c := range d.hours {
		for i, v := range c {
			recomputed[i] += v
		}
	}
	if recomputed != stored {
		return keep()
	}
	wantItems := map[dimKey]int{}
	for k, n := range want {
		if verified(k.dim) {
			wantItems[k.dimKey] += n
		}
	}
	if !sameCounts(wantItems, storedItems) {
		return keep()
	}

	// write what differs: counters by hour (jsErrors stay where they
	// are), the day's breakdowns (the campaign ones are new; jsError
	// ones are not touched); a row the day has is updated, others are
	// inserted
	w := m.st
	writes := 0
	storedSums := map[string]sumRow{}
	for _, s := range d.sums {
		storedSums[s.ID] = s
	}
	for h, c := range d.hours {
		hour := d.start.Add(time.Duration(h) * time.Hour)
		id := pipeline.SumID(m.website, hour)
		s, ok := storedSums[id]
		switch {
		case ok && s.c == c, !ok && c == (counters{}):
			continue
		case ok:
			writes++
			if err := w.updateSum(id, c, m.now); err != nil {
				return fmt.Errorf("%s: %w", dk, err)
			}
		default:
			writes++
			w.insertSum(id, m.website, pbDate(hour), c, m.now)
		}
	}
	storedByID := map[string]itemRow{}
	for _, it := range d.items {
		storedByID[it.ID] = it
	}
	for k, n := range want {
		hour := d.start.Add(time.Duration(k.hour) * time.Hour)
		id := pipeline.SumItemID(m.website, hour, k.dim, k.key)
		it, ok := storedByID[id]
		delete(storedByID, id)
		switch {
		case ok && it.Count == n:
			continue
		case ok:
			writes++
			if err := w.updateItem(id, n, m.now); err != nil {
				return fmt.Errorf("%s: %w", dk, err)
			}
		default:
			writes++
			w.insertItem(id, m.website, pbDate(hour), k.dim, k.key, n, m.now)
		}
	}
	for id, it := range storedByID {
		// moved to other hours; rows counted 0 stay (the pipeline
		// leaves them, and they hold a key of the day's cap)
		if it.Count != 0 {
			writes++
			if err := w.deleteItem(id); err != nil {
				return fmt.Errorf("%s: %w", dk, err)
			}
		}
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("%s: %w", dk, err)
	}
	if writes == 0 {
		m.res.Unchanged++
		return nil
	}
	m.res.Rebuilt++
	return nil
}

// rowHour is the hour a stored row's date names, which must be an hour
// of the day.
func rowHour(date string, day time.Time) (time.Time, bool) {
	t, err := time.Parse(types.DefaultDateLayout, date)
	if err != nil || t.Truncate(time.Hour) != t || t.Before(day) || !t.Before(day.AddDate(0, 0, 1)) {
		return time.Time{}, false
	}
	return t, true
}

// sameCounts compares two count maps, ignoring keys counted 0.
func sameCounts(a, b map[dimKey]int) bool {
	for k, n := range a {
		if b[k] != n {
			return false
		}
	}
	for k, n := range b {
		if a[k] != n {
			return false
		}
	}
	return true
}

// statements writes rows with statements prepared once per migration:
// multi-row INSERTs for new rows, UPDATEs and DELETEs by id for the rows
// a day has. INSERT OR FAIL: a statement that writes several rows
// otherwise journals every page it touches first, to undo itself alone
// (see internal/store/localstore); a failure fails the whole migration
// anyway.
type statements struct {
	db       dbx.Builder
	prepared map[string]*dbx.Query
	sums     [][]any
	items    [][]any
}

// insertRows bounds the rows of one INSERT statement.
const insertRows = 64

var (
	sumCols  = append(append([]string{"id", "created", "updated", "website", "date"}, counterCols...), "jsErrors")
	itemCols = []string{"id", "created", "updated", "website", "date", "dimension", "key", "count"}
)

// query returns the statement q, prepared on first use.
func (st *statements) query(q string) (*dbx.Query, error) {
	if p := st.prepared[q]; p != nil {
		return p, nil
	}
	p := st.db.NewQuery(q).Prepare()
	if p.LastError != nil {
		return nil, p.LastError
	}
	st.prepared[q] = p
	return p, nil
}

func (st *statements) close() {
	for _, q := range st.prepared {
		_ = q.Close()
	}
}

func (st *statements) exec(q string, params dbx.Params) error {
	p, err := st.query(q)
	if err != nil {
		return err
	}
	_, err = p.Bind(params).Execute()
	return err
}

func (st *statements) insertSum(id, website, date string, c counters, now string) {
	row := []any{id, now, now, website, date}
	for _, v := range c {
		row = append(row, v)
	}
	st.sums = append(st.sums, append(row, 0)) // no JS errors on a new hour
}

func (st *statements) insertItem(id, website, date, dim, key string, n int, now string) {
	st.items = append(st.items, []any{id, now, now, website, date, dim, key, n})
}

func (st *statements) updateSum(id string, c counters, now string) error {
	params := dbx.Params{"id": id, "updated": now}
	var set []string
	for i, col := range counterCols {
		params[col] = c[i]
		set = append(set, quote(col)+" = {:"+col+"}")
	}
	return st.exec("UPDATE `dash_sum` SET "+strings.Join(set, ", ")+", `updated` = {:updated} WHERE `id` = {:id}", params)
}

func (st *statements) updateItem(id string, n int, now string) error {
	return st.exec("UPDATE `dash_sum_items` SET `count` = {:n}, `updated` = {:updated} WHERE `id` = {:id}",
		dbx.Params{"id": id, "n": n, "updated": now})
}

func (st *statements) deleteItem(id string) error {
	return st.exec("DELETE FROM `dash_sum_items` WHERE `id` = {:id}", dbx.Params{"id": id})
}

// flush inserts the rows gathered.
func (st *statements) flush() error {
	if err := st.insert(schema.DashSum, sumCols, st.sums); err != nil {
		return err
	}
	st.sums = st.sums[:0]
	if err := st.insert(schema.DashSumItems, itemCols, st.items); err != nil {
		return err
	}
	st.items = st.items[:0]
	return nil
}

func (st *statements) insert(table string, cols []string, rows [][]any) error {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	for len(rows) > 0 {
		n := min(len(rows), insertRows)
		if n < insertRows && n > 1 {
			n = 1 << (bits.Len(uint(n)) - 1) // a few statement shapes: 64, 32, …, 1 rows
		}
		params := dbx.Params{}
		values := make([]string, n)
		for r, row := range rows[:n] {
			ph := make([]string, len(row))
			for c, v := range row {
				name := "p" + strconv.Itoa(r) + "_" + strconv.Itoa(c)
				params[name] = v
				ph[c] = "{:" + name + "}"
			}
			values[r] = "(" + strings.Join(ph, ", ") + ")"
		}
		q := "INSERT OR FAIL INTO " + quote(table) + " (" + strings.Join(quoted, ", ") + ") VALUES " + strings.Join(values, ", ")
		if err := st.exec(q, params); err != nil {
			return fmt.Errorf("%s insert: %w", table, err)
		}
		rows = rows[n:]
	}
	return nil
}

func quote(name string) string { return "`" + name + "`" }
