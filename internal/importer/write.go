package importer

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/schema"
)

// Result is what Write did.
type Result struct {
	Source string
	// Days is how many days the export has.
	Days int
	// Imported are the days whose rows now hold the export
	// ("YYYY-MM-DD", in order), written or found equal.
	Imported []string
	// Rows is how many summary rows were inserted, updated or deleted:
	// 0 when the same export was imported before.
	Rows int
	// SkippedOwn are the days at or after the website's first own event
	// (FirstEvent), SkippedOther the earlier days that have summary rows
	// not imported (another migration's): both are left as they are.
	SkippedOwn, SkippedOther []string
	FirstEvent               time.Time // zero without own events
}

// stateName is the skopos_state row that names the sources imported
// into a website ("Plausible", "Plausible,Umami"), for the notes of the
// dashboard and the stats API.
func stateName(website string) string { return "imported:" + website }

// Sources are the sources imported into website, in order (none when
// nothing was).
func Sources(db dbx.Builder, website string) ([]string, error) {
	var v string
	err := db.NewQuery("SELECT value FROM " + schema.State + " WHERE name = {:name}").
		Bind(dbx.Params{"name": stateName(website)}).Row(&v)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && v == "") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("importer: sources: %w", err)
	}
	return strings.Split(v, ","), nil
}

// Write writes d's days into the summaries of website (a websites
// record id), in one transaction; see the package doc. maxKeys is the
// pipeline's MaxDimensionKeys (≤ 0: its default).
func Write(app core.App, website string, d *Data, maxKeys int) (*Result, error) {
	if maxKeys <= 0 {
		maxKeys = pipeline.DefaultMaxDimensionKeys
	}
	days := d.Days()
	res := &Result{Source: d.Source, Days: len(days)}
	if len(days) == 0 {
		return res, nil
	}
	err := app.RunInTransaction(func(tx core.App) error {
		w := &writer{db: tx.DB(), website: website, now: types.NowDateTime().String(), res: res}
		first, err := w.firstEvent()
		if err != nil {
			return err
		}
		res.FirstEvent = first
		stored, err := w.load(days[0].Date, days[len(days)-1].Date.AddDate(0, 0, 1))
		if err != nil {
			return err
		}
		for _, x := range days {
			k := dayKey(x.Date)
			switch s := stored[k]; {
			case !first.IsZero() && !x.Date.Before(first.Truncate(24*time.Hour)):
				res.SkippedOwn = append(res.SkippedOwn, k)
			case s != nil && !s.ours(website, x.Date):
				res.SkippedOther = append(res.SkippedOther, k)
			default:
				if err := w.day(x, s, x.capped(maxKeys)); err != nil {
					return fmt.Errorf("importer: %s: %w", k, err)
				}
				res.Imported = append(res.Imported, k)
			}
		}
		if len(res.Imported) == 0 {
			return nil
		}
		return w.addSource(d.Source)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// writer writes one import's rows with SQL in its transaction (no record
// hooks, as internal/hourly), with the pipeline's derived ids.
type writer struct {
	db      dbx.Builder
	website string
	now     string
	res     *Result
}

// storedSum is a dash_sum row.
type storedSum struct {
	ID       string `db:"id"`
	Date     string `db:"date"`
	PV       int    `db:"pageViews"`
	V        int    `db:"visitors"`
	NV       int    `db:"newVisitors"`
	RV       int    `db:"returningVisitors"`
	E        int    `db:"engagedSessions"`
	B        int    `db:"bounces"`
	D        int    `db:"durationSeconds"`
	JS       int    `db:"jsErrors"`
	Imported bool   `db:"imported"`
}

func (s storedSum) totals() Totals { return Totals{s.PV, s.V, s.NV, s.RV, s.E, s.B, s.D} }

type storedItem struct {
	ID    string `db:"id"`
	Date  string `db:"date"`
	Dim   string `db:"dimension"`
	Key   string `db:"key"`
	Count int    `db:"count"`
}

// storedDay is what a day has stored.
type storedDay struct {
	sums  []storedSum
	items []storedItem
}

// ours tells whether the day's rows are an import's: its one dash_sum
// row is the imported hour-0 row, breakdowns only with it.
func (s *storedDay) ours(website string, day time.Time) bool {
	if len(s.sums) == 0 {
		return len(s.items) == 0
	}
	r := s.sums[0]
	return len(s.sums) == 1 && r.Imported && r.ID == pipeline.SumID(website, day) && r.JS == 0
}

// firstEvent is the time of the website's first own event or session
// (zero without any).
func (w *writer) firstEvent() (time.Time, error) {
	var first sql.NullString
	err := w.db.NewQuery(`SELECT MIN(t) FROM (
			SELECT MIN(timestamp) AS t FROM events WHERE website = {:w} AND timestamp != ''
			UNION ALL SELECT MIN(startedAt) FROM sessions WHERE website = {:w} AND startedAt != '')`).
		Bind(dbx.Params{"w": w.website}).Row(&first)
	if err != nil {
		return time.Time{}, fmt.Errorf("importer: first event: %w", err)
	}
	if !first.Valid || first.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(types.DefaultDateLayout, first.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("importer: first event %q: %w", first.String, err)
	}
	return t.UTC(), nil
}

// load reads the website's summary rows of [from, to) by day.
func (w *writer) load(from, to time.Time) (map[string]*storedDay, error) {
	params := dbx.Params{"w": w.website, "from": pbDate(from), "to": pbDate(to)}
	var sums []storedSum
	err := w.db.NewQuery(`SELECT id, date, pageViews, visitors, newVisitors, returningVisitors, engagedSessions, bounces,
		durationSeconds, jsErrors, imported FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
		Bind(params).All(&sums)
	if err != nil {
		return nil, fmt.Errorf("importer: dash_sum: %w", err)
	}
	var items []storedItem
	err = w.db.NewQuery(`SELECT id, date, dimension, key, count FROM dash_sum_items
		WHERE website = {:w} AND date >= {:from} AND date < {:to}`).Bind(params).All(&items)
	if err != nil {
		return nil, fmt.Errorf("importer: dash_sum_items: %w", err)
	}
	out := map[string]*storedDay{}
	day := func(date string) *storedDay {
		k := date[:min(10, len(date))]
		if out[k] == nil {
			out[k] = &storedDay{}
		}
		return out[k]
	}
	for _, s := range sums {
		day(s.Date).sums = append(day(s.Date).sums, s)
	}
	for _, it := range items {
		day(it.Date).items = append(day(it.Date).items, it)
	}
	return out, nil
}

// day writes what differs of one day: its hour-0 row and its breakdowns
// (stored ones the export has not are deleted).
func (w *writer) day(x *Day, s *storedDay, items map[Key]int) error {
	if s == nil {
		s = &storedDay{}
	}
	date := pbDate(x.Date)
	t := x.Totals
	counters := dbx.Params{"pageViews": t.PageViews, "visitors": t.Visitors, "newVisitors": t.NewVisitors,
		"returningVisitors": t.ReturningVisitors, "engagedSessions": t.Engaged, "bounces": t.Bounces,
		"durationSeconds": t.Duration}
	switch {
	case len(s.sums) == 0:
		counters["jsErrors"] = 0
		counters["imported"] = true
		if err := w.insert(schema.DashSum, pipeline.SumID(w.website, x.Date), date, counters); err != nil {
			return err
		}
	case s.sums[0].totals() != t:
		if err := w.update(schema.DashSum, s.sums[0].ID, counters); err != nil {
			return err
		}
	}
	have := map[Key]storedItem{}
	for _, it := range s.items {
		have[Key{it.Dim, it.Key}] = it
	}
	// in key order: the same export writes its rows in the same order
	keys := slices.SortedFunc(maps.Keys(items), func(a, b Key) int {
		return cmp.Or(strings.Compare(a.Dim, b.Dim), strings.Compare(a.Key, b.Key))
	})
	for _, k := range keys {
		n := items[k]
		it, ok := have[k]
		delete(have, k)
		switch {
		case !ok:
			err := w.insert(schema.DashSumItems, pipeline.SumItemID(w.website, x.Date, k.Dim, k.Key), date,
				dbx.Params{"dimension": k.Dim, "key": k.Key, "count": n})
			if err != nil {
				return err
			}
		case it.Count != n:
			if err := w.update(schema.DashSumItems, it.ID, dbx.Params{"count": n}); err != nil {
				return err
			}
		}
	}
	for _, it := range have {
		if err := w.exec("DELETE FROM `"+schema.DashSumItems+"` WHERE id = {:id}", dbx.Params{"id": it.ID}); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) insert(table, id, date string, values dbx.Params) error {
	cols := []string{"id", "created", "updated", "website", "date"}
	params := dbx.Params{"id": id, "created": w.now, "updated": w.now, "website": w.website, "date": date}
	for _, c := range sortedKeys(values) {
		cols = append(cols, c)
		params[c] = values[c]
	}
	return w.exec("INSERT INTO `"+table+"` (`"+strings.Join(cols, "`, `")+"`) VALUES ({:"+strings.Join(cols, "}, {:")+"})", params)
}

func (w *writer) update(table, id string, values dbx.Params) error {
	params := dbx.Params{"id": id, "updated": w.now}
	set := []string{"`updated` = {:updated}"}
	for _, c := range sortedKeys(values) {
		set = append(set, "`"+c+"` = {:"+c+"}")
		params[c] = values[c]
	}
	return w.exec("UPDATE `"+table+"` SET "+strings.Join(set, ", ")+" WHERE id = {:id}", params)
}

// exec runs one write and counts it.
func (w *writer) exec(q string, params dbx.Params) error {
	if _, err := w.db.NewQuery(q).Bind(params).Execute(); err != nil {
		return err
	}
	w.res.Rows++
	return nil
}

// addSource adds source to the website's imported sources.
func (w *writer) addSource(source string) error {
	have, err := Sources(w.db, w.website)
	if err != nil || slices.Contains(have, source) {
		return err
	}
	have = append(have, source)
	slices.Sort(have)
	_, err = w.db.NewQuery("INSERT INTO " + schema.State + ` (id, name, value, created, updated)
		VALUES ({:id}, {:name}, {:value}, {:at}, {:at})
		ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated = excluded.updated`).
		Bind(dbx.Params{"id": pipeline.DeriveID(schema.State, stateName(w.website)), "name": stateName(w.website),
			"value": strings.Join(have, ","), "at": w.now}).Execute()
	return err
}

// pbDate formats t as PocketBase stores dates.
func pbDate(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }
