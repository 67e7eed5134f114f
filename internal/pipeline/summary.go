package pipeline

import (
	"context"
	"time"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/validate"
	"github.com/skopos-go/skopos/schema"
)

// Daily summaries (dash_sum, dash_sum_items) are written as deltas in the
// same transaction as the events and sessions they come from, so they
// always equal the raw rows: session counters on the session's start day
// (UTC), event counters on the event's day.

// OtherKey collects the breakdown keys of a day beyond its cap.
const OtherKey = "(other)"

// maxKeyLen caps breakdown keys (paths, referrer hosts, event names,
// error messages), in UTF-16 units.
const maxKeyLen = 500

// dayOf is the UTC midnight of t.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

type dayKey struct {
	website string
	day     int64 // unix seconds of UTC midnight
}

func keyOf(website string, t time.Time) dayKey { return dayKey{website, dayOf(t).Unix()} }

type itemKey struct {
	dayKey
	dim, key string
}

// sumDelta is a dash_sum row's change within one chunk.
type sumDelta struct {
	pageViews, visitors, newVisitors, returningVisitors int
	engaged, bounces, duration, jsErrors                int
}

// summaryFor returns the chunk's delta of a website's day.
func (c *chunk) summaryFor(k dayKey) *sumDelta {
	if c.sums == nil {
		c.sums = map[dayKey]*sumDelta{}
		c.items = map[itemKey]int{}
	}
	d := c.sums[k]
	if d == nil {
		d = &sumDelta{}
		c.sums[k] = d
		c.sumOrder = append(c.sumOrder, k)
	}
	return d
}

func (c *chunk) addItem(k itemKey, n int) {
	if c.items == nil {
		c.summaryFor(k.dayKey) // allocates the maps and registers the day
	}
	if _, ok := c.items[k]; !ok {
		c.itemOrder = append(c.itemOrder, k)
	}
	c.items[k] += n
}

// summaryOps turns the chunk's deltas into upserts with "+"/"-"
// modifiers, whose ids derive from the natural keys.
func (c *chunk) summaryOps() []store.Op {
	var ops []store.Op
	for _, k := range c.sumOrder {
		d := c.sums[k]
		day := time.Unix(k.day, 0).UTC()
		data := map[string]any{"website": k.website, "date": day}
		for name, v := range map[string]int{
			"pageViews": d.pageViews, "visitors": d.visitors, "newVisitors": d.newVisitors,
			"returningVisitors": d.returningVisitors, "engagedSessions": d.engaged, "bounces": d.bounces,
			"durationSeconds": d.duration, "jsErrors": d.jsErrors,
		} {
			addModifier(data, name, v)
		}
		ops = append(ops, store.Op{Action: store.Upsert, Collection: schema.DashSum,
			ID: DeriveID("dash_sum", k.website, day.Format(time.DateOnly)), Data: data})
	}
	for _, k := range c.itemOrder {
		n := c.items[k]
		if n == 0 {
			continue
		}
		day := time.Unix(k.day, 0).UTC()
		data := map[string]any{"website": k.website, "date": day, "dimension": k.dim, "key": k.key}
		addModifier(data, "count", n)
		ops = append(ops, store.Op{Action: store.Upsert, Collection: schema.DashSumItems,
			ID: DeriveID("dash_sum_items", k.website, day.Format(time.DateOnly), k.dim, k.key), Data: data})
	}
	return ops
}

func addModifier(data map[string]any, field string, v int) {
	switch {
	case v > 0:
		data[field+"+"] = v
	case v < 0:
		data[field+"-"] = -v
	}
}

// summaryOpsCount is how many summary ops the chunk will produce.
func (c *chunk) summaryOpsCount() int { return len(c.sumOrder) + len(c.itemOrder) }

// dimKeys remembers which breakdown keys each website's day has, so that
// a day keeps at most MaxDimensionKeys keys per dimension and the rest go
// to OtherKey. Loaded from the store on first use of a day (restarts and
// other instances); bounded to the most recent days.
type dimKeys struct {
	max  int
	days map[dayKey]map[string]map[string]bool
}

const dimKeysDays = 512 // website-days kept in memory

func newDimKeys(max int) *dimKeys {
	return &dimKeys{max: max, days: map[dayKey]map[string]map[string]bool{}}
}

func (d *dimKeys) loaded(k dayKey) bool { _, ok := d.days[k]; return ok }

func (d *dimKeys) load(ctx context.Context, st store.Store, k dayKey) error {
	got, err := st.DimensionKeys(ctx, k.website, time.Unix(k.day, 0).UTC())
	if err != nil {
		return err
	}
	if len(d.days) >= dimKeysDays { // forget the oldest day
		var oldest dayKey
		first := true
		for dk := range d.days {
			if first || dk.day < oldest.day {
				oldest, first = dk, false
			}
		}
		delete(d.days, oldest)
	}
	dims := map[string]map[string]bool{}
	for dim, keys := range got {
		set := map[string]bool{}
		for _, key := range keys {
			set[key] = true
		}
		dims[dim] = set
	}
	d.days[k] = dims
	return nil
}

// key maps a breakdown value to the key stored for it: capped in length,
// and OtherKey once the day's dimension is full.
func (d *dimKeys) key(k dayKey, dim, value string) string {
	value = validate.Truncate(value, maxKeyLen)
	dims := d.days[k]
	if dims == nil { // not loaded (cannot happen: sessionize loads first)
		dims = map[string]map[string]bool{}
		d.days[k] = dims
	}
	set := dims[dim]
	if set == nil {
		set = map[string]bool{}
		dims[dim] = set
	}
	if set[value] || value == OtherKey {
		return value
	}
	if len(set) >= d.max {
		return OtherKey
	}
	set[value] = true
	return value
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
