package pipeline

import (
	"context"
	"time"

	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/validate"
	"github.com/skopos-go/skopos/schema"
)

// Summaries are written as deltas in the same transaction as the events
// and sessions they come from, so they always equal the raw rows: session
// counters on the session's start, event counters on the event's time.
//
// dash_sum is hourly (one row per website and UTC hour, date = the hour's
// start): 24 small rows a day give the stats API the totals and series of
// any time zone whose offset is whole hours, summed at query time, so a
// site's time zone can change without rewriting anything.
// dash_sum_items (the breakdowns) stays daily per UTC day, as in the
// Skopos schema: hourly breakdowns would be up to 24 times the rows (a
// 30-day top list over them measured 1.3–1.6 s against tens of ms); the
// stats API reads a local-time period's whole UTC days from them and the
// partial days at its ends from the raw rows. The key cap is per UTC day.

// OtherKey collects the breakdown keys of a day beyond its cap.
const OtherKey = "(other)"

// DefaultMaxDimensionKeys is Config.MaxDimensionKeys's default.
const DefaultMaxDimensionKeys = 1000

// maxKeyLen caps breakdown keys (paths, referrer hosts, event names,
// error messages), in UTF-16 units.
const maxKeyLen = 500

// hourOf is the start of t's UTC hour.
func hourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// sumKey names one summary row: a website's UTC hour.
type sumKey struct {
	website string
	hour    int64 // unix seconds of the hour's start
}

// day is the key of the UTC day the hour is in: breakdown rows and their
// key cap are per day.
func (k sumKey) day() sumKey { return sumKey{k.website, k.hour - k.hour%86400} }

func keyOf(website string, t time.Time) sumKey { return sumKey{website, hourOf(t).Unix()} }

type itemKey struct {
	sumKey
	dim, key string
}

// sumDelta is a dash_sum row's change within one chunk.
type sumDelta struct {
	pageViews, visitors, newVisitors, returningVisitors int
	engaged, bounces, duration, jsErrors                int
}

// summaryFor returns the chunk's delta of a website's hour.
func (c *chunk) summaryFor(k sumKey) *sumDelta {
	if c.sums == nil {
		c.sums = map[sumKey]*sumDelta{}
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

// addItem adds n to a breakdown key of the UTC day of k.
func (c *chunk) addItem(k itemKey, n int) {
	k.sumKey = k.sumKey.day()
	if c.items == nil {
		c.sums = map[sumKey]*sumDelta{}
		c.items = map[itemKey]int{}
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
		hour := time.Unix(k.hour, 0).UTC()
		data := map[string]any{"website": k.website, "date": hour}
		for name, v := range map[string]int{
			"pageViews": d.pageViews, "visitors": d.visitors, "newVisitors": d.newVisitors,
			"returningVisitors": d.returningVisitors, "engagedSessions": d.engaged, "bounces": d.bounces,
			"durationSeconds": d.duration, "jsErrors": d.jsErrors,
		} {
			addModifier(data, name, v)
		}
		ops = append(ops, store.Op{Action: store.Upsert, Collection: schema.DashSum,
			ID: SumID(k.website, hour), Data: data})
	}
	for _, k := range c.itemOrder {
		n := c.items[k]
		if n == 0 {
			continue
		}
		day := time.Unix(k.hour, 0).UTC()
		data := map[string]any{"website": k.website, "date": day, "dimension": k.dim, "key": k.key}
		addModifier(data, "count", n)
		ops = append(ops, store.Op{Action: store.Upsert, Collection: schema.DashSumItems,
			ID: SumItemID(k.website, day, k.dim, k.key), Data: data})
	}
	return ops
}

// SumID is the id of a website's dash_sum row of a UTC hour (hour is
// the hour's start).
func SumID(website string, hour time.Time) string {
	return DeriveID("dash_sum", website, sumIDTime(hour))
}

// SumItemID is the id of a website's dash_sum_items row of a UTC day
// (day is its midnight: the id is the one earlier versions gave it).
func SumItemID(website string, hour time.Time, dim, key string) string {
	return DeriveID("dash_sum_items", website, sumIDTime(hour), dim, key)
}

// sumIDTime is the time part of a summary row's derived id: the date
// alone for hour 0, which is the id the daily rows of earlier versions
// had, so that an hour-0 row and a migrated daily row are the same row;
// the date and hour otherwise.
func sumIDTime(hour time.Time) string {
	hour = hour.UTC()
	if hour.Hour() == 0 {
		return hour.Format(time.DateOnly)
	}
	return hour.Format("2006-01-02T15")
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
	days map[sumKey]map[string]map[string]bool
}

const dimKeysDays = 512 // website-days kept in memory

func newDimKeys(max int) *dimKeys {
	return &dimKeys{max: max, days: map[sumKey]map[string]map[string]bool{}}
}

func (d *dimKeys) loaded(k sumKey) bool { _, ok := d.days[k.day()]; return ok }

func (d *dimKeys) load(ctx context.Context, st store.Store, k sumKey) error {
	k = k.day()
	got, err := st.DimensionKeys(ctx, k.website, time.Unix(k.hour, 0).UTC())
	if err != nil {
		return err
	}
	if len(d.days) >= dimKeysDays { // forget the oldest day
		var oldest sumKey
		first := true
		for dk := range d.days {
			if first || dk.hour < oldest.hour {
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
func (d *dimKeys) key(k sumKey, dim, value string) string {
	value = SummaryKey(value)
	k = k.day()
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

// SummaryKey is the breakdown key stored for a value (before the day's
// cap): the value capped in length.
func SummaryKey(value string) string { return validate.Truncate(value, maxKeyLen) }

// SessionDimensions are the breakdowns every session counts on its start
// hour, each with the sessions column its value comes from (SessionValue
// maps the column's value). Sessions with utm parameters also count
// under schema.UTMDimensions.
var SessionDimensions = []struct{ Dim, Column string }{
	{"entryPage", "entryPath"}, {"exitPage", "exitPath"}, {"referrer", "referrer"},
	{"device", "device"}, {"browser", "browser"}, {"os", "os"},
	{"language", "language"}, {"country", "country"}, {"region", "state"}, {"channel", "channel"}, {"source", "source"},
}

// SessionValue is the breakdown value of a session column's value in
// one of the SessionDimensions: the referrer's host ("Direct" without
// one); "Unknown" for a device, browser, os, language or country the
// session does not have (a region, an ISO 3166-2 code, needs a City
// database: geo); the path as it is for the entry and exit pages.
func SessionValue(dim, value string) string {
	switch dim {
	case "referrer":
		return domain.ReferrerKey(value)
	case "entryPage", "exitPage":
		return value
	}
	if value == "" {
		return "Unknown"
	}
	return value
}
