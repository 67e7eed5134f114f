// Package importer loads other analytics tools' exports into the
// summaries: Plausible CE's CSV export (its imported_* files, ReadPlausible)
// and Umami's data export (raw events, ReadUmami), as rows marked
// imported (dash_sum.imported) of the days before the website's first
// own event.
//
// An export becomes, per UTC day, the rows the pipeline would have
// written for it: the day's hour-0 dash_sum row (an hour-0 row is a day's
// row, read as hour 0: exact for UTC sites) and its dash_sum_items, with
// the pipeline's derived ids, key length cap and per-day key cap. Days at
// or after the website's first own event (events.timestamp,
// sessions.startedAt) are skipped, and so are days that have summary
// rows of their own (another migration's): an import never mixes with
// what Skopos counted. Rows are written with values, not increments, and
// only where they differ, so importing the same export again writes
// nothing, and a corrected export replaces what an earlier one wrote.
// Everything is parsed before anything is written, and written in one
// transaction: a malformed file writes nothing.
//
// docs/import.md lists what each format's columns become and what is
// dropped.
package importer

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/pipeline"
)

// Sources.
const (
	Plausible = "Plausible"
	Umami     = "Umami"
)

// Totals are a day's dash_sum counters (jsErrors aside: no export has
// them).
type Totals struct {
	PageViews, Visitors, NewVisitors, ReturningVisitors int
	Engaged, Bounces, Duration                          int
}

// Key is a breakdown key of a dimension of schema.Dimensions.
type Key struct{ Dim, Key string }

// Day is one UTC day of an export, as the summaries hold it.
type Day struct {
	Date   time.Time // UTC midnight
	Totals Totals
	Items  map[Key]int
}

// Data is a parsed export.
type Data struct {
	Source string
	// Dropped names what the export has that the summaries cannot hold
	// ("imported_locations: region, city").
	Dropped []string
	days    map[time.Time]*Day
}

func newData(source string) *Data { return &Data{Source: source, days: map[time.Time]*Day{}} }

// day returns the day of t (a UTC date), created on first use.
func (d *Data) day(t time.Time) *Day {
	t = t.UTC().Truncate(24 * time.Hour)
	x := d.days[t]
	if x == nil {
		x = &Day{Date: t, Items: map[Key]int{}}
		d.days[t] = x
	}
	return x
}

// add counts n under a breakdown key of the day.
func (x *Day) add(dim, key string, n int) {
	if n != 0 {
		x.Items[Key{dim, key}] += n
	}
}

// Days are the export's days in order.
func (d *Data) Days() []*Day {
	out := make([]*Day, 0, len(d.days))
	for _, x := range d.days {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b *Day) int { return a.Date.Compare(b.Date) })
	return out
}

// capped returns the day's breakdown rows as the pipeline stores them:
// keys capped in length (keys that become equal add up), none counted 0,
// and per dimension at most maxKeys keys, the most counted, the others
// added up under pipeline.OtherKey.
func (x *Day) capped(maxKeys int) map[Key]int {
	byDim := map[string]map[string]int{}
	for k, n := range x.Items {
		m := byDim[k.Dim]
		if m == nil {
			m = map[string]int{}
			byDim[k.Dim] = m
		}
		m[pipeline.SummaryKey(k.Key)] += n
	}
	out := map[Key]int{}
	for dim, m := range byDim {
		type kn struct {
			key string
			n   int
		}
		var list []kn
		for k, n := range m {
			if n > 0 && k != pipeline.OtherKey {
				list = append(list, kn{k, n})
			}
		}
		slices.SortFunc(list, func(a, b kn) int {
			if a.n != b.n {
				return b.n - a.n
			}
			return strings.Compare(a.key, b.key)
		})
		other := max(m[pipeline.OtherKey], 0)
		for i, e := range list {
			if i < maxKeys {
				out[Key{dim, e.key}] = e.n
			} else {
				other += e.n
			}
		}
		if other > 0 {
			out[Key{dim, pipeline.OtherKey}] = other
		}
	}
	return out
}

// FormatError is a malformed export: the file and line (1 is the header;
// 0 when it is about the file as a whole).
type FormatError struct {
	File string
	Line int
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: line %d: %s", e.File, e.Line, e.Msg)
}

// dayKey is a day as results and the stats API name it.
func dayKey(t time.Time) string { return t.UTC().Format(time.DateOnly) }
