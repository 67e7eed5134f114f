package hourly

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/schema"
)

// counters are a dash_sum row's counters the raw rows determine, in the
// order of counterCols (jsErrors is not among them: js_errors holds
// lifetime counts per error group, which no hour can be recovered from).
type counters [7]int

var counterCols = slices.Clip(schema.SumCounters[:len(schema.SumCounters)-1]) // all but jsErrors (clipped: an append must not write into SumCounters)

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

// stored is what a day has stored: its totals, its verified breakdown
// counts and its keys per dimension, as the pipeline loads them.
type stored struct {
	totals counters
	items  map[dimKey]int
	known  map[string]map[string]bool
}

// verified tells the breakdowns the daily rows had (jsError aside):
// the utm_*, channel and source ones are new, so the daily rows cannot
// vouch for them.
func verified(dim string) bool {
	return dim != "jsError" && dim != "channel" && dim != "source" && !slices.Contains(schema.UTMDimensions, dim)
}

// day verifies one day and writes its hourly rows; a day that does not
// verify is kept as it is.
func (m *migration) day(d *day) error {
	dk := d.start.Format(time.DateOnly)
	s, ok := m.stored(d)
	var want map[hourItem]int
	if ok {
		want = m.capKeys(d, s.known)
		ok = d.verifies(s, want)
	}
	if !ok {
		m.res.Kept++
		m.res.KeptDays = append(m.res.KeptDays, dk)
		return nil
	}
	writes, err := m.write(d, want)
	if err != nil {
		return fmt.Errorf("%s: %w", dk, err)
	}
	if writes == 0 {
		m.res.Unchanged++
		return nil
	}
	m.res.Rebuilt++
	return nil
}

// stored sums what d has stored. Every row must have the id the
// pipeline derives for it (else a row written with the derived id would
// collide with it on the natural key, and the pipeline's upserts would
// miss it): ok=false when one has not.
func (m *migration) stored(d *day) (s stored, ok bool) {
	for _, r := range d.sums {
		h, ok := rowHour(r.Date, d.start)
		if !ok || r.ID != pipeline.SumID(m.website, h) {
			return s, false
		}
		for i, v := range r.c {
			s.totals[i] += v
		}
	}
	s.items = map[dimKey]int{}
	s.known = map[string]map[string]bool{}
	for _, it := range d.items {
		h, ok := rowHour(it.Date, d.start)
		if !ok || it.ID != pipeline.SumItemID(m.website, h, it.Dim, it.Key) {
			return s, false
		}
		if s.known[it.Dim] == nil {
			s.known[it.Dim] = map[string]bool{}
		}
		s.known[it.Dim][it.Key] = true
		if verified(it.Dim) {
			s.items[dimKey{it.Dim, it.Key}] += it.Count
		}
	}
	return s, true
}

// capKeys applies the day's key cap to its raw breakdown values and
// returns the day's breakdown rows (hour 0: breakdowns are daily). The
// keys the day has (known, which it extends) stay; in a dimension that
// has "(other)" already, every other key goes there (the pipeline's own
// set may have held more keys than the rows show: keys whose count came
// back to 0 within one write were never stored); in the others, keys are
// admitted while there is room (most counted first, the pipeline takes
// them as they come) and the rest go to "(other)".
func (m *migration) capKeys(d *day, known map[string]map[string]bool) map[hourItem]int {
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
	return want
}

// verifies tells whether the raw rows give the day's stored totals and
// every breakdown key the daily rows had.
func (d *day) verifies(s stored, want map[hourItem]int) bool {
	var recomputed counters
	for _, c := range d.hours {
		for i, v := range c {
			recomputed[i] += v
		}
	}
	if recomputed != s.totals {
		return false
	}
	wantItems := map[dimKey]int{}
	for k, n := range want {
		if verified(k.dim) {
			wantItems[k.dimKey] += n
		}
	}
	return sameCounts(wantItems, s.items)
}

// write writes what differs: counters by hour (jsErrors stay where they
// are), the day's breakdowns (the campaign ones are new; jsError ones are
// not touched); a row the day has is updated, others are inserted. It
// returns how many rows it wrote.
func (m *migration) write(d *day, want map[hourItem]int) (int, error) {
	sums, err := m.writeSums(d)
	if err != nil {
		return 0, err
	}
	items, err := m.writeItems(d, want)
	if err != nil {
		return 0, err
	}
	return sums + items, m.st.flush()
}

// writeSums writes the day's hourly counters.
func (m *migration) writeSums(d *day) (writes int, err error) {
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
			if err := m.st.updateSum(id, c, m.now); err != nil {
				return writes, err
			}
		default:
			writes++
			m.st.insertSum(id, m.website, pbDate(hour), c, m.now)
		}
	}
	return writes, nil
}

// writeItems writes the day's breakdown rows and deletes the stored ones
// want has not.
func (m *migration) writeItems(d *day, want map[hourItem]int) (writes int, err error) {
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
			if err := m.st.updateItem(id, n, m.now); err != nil {
				return writes, err
			}
		default:
			writes++
			m.st.insertItem(id, m.website, pbDate(hour), k.dim, k.key, n, m.now)
		}
	}
	for id, it := range storedByID {
		// moved to other hours; rows counted 0 stay (the pipeline
		// leaves them, and they hold a key of the day's cap)
		if it.Count != 0 {
			writes++
			if err := m.st.deleteItem(id); err != nil {
				return writes, err
			}
		}
	}
	return writes, nil
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
