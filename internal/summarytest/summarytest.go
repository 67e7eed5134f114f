// Package summarytest checks, for tests, that the summaries (dash_sum
// hourly, dash_sum_items daily) equal what the raw rows (events, sessions,
// js_errors) say, computed independently of the pipeline's own code.
package summarytest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/summarytest/rawrows"
)

// expected hourly summaries, computed independently from the raw rows
type daySum struct {
	pageViews, visitors, newVisitors, returningVisitors, engaged, bounces, duration, jsErrors int
}

type sumKey struct{ website, date string }
type itemKey struct{ website, date, dim, key string }

// pbHour is the dash_sum row date of t: the start of its UTC hour.
func pbHour(t time.Time) string { return t.UTC().Format("2006-01-02 15") + ":00:00.000Z" }

// pbDay is the dash_sum_items row date of t: its UTC midnight.
func pbDay(t time.Time) string { return t.UTC().Format("2006-01-02") + " 00:00:00.000Z" }

func refKey(ref string) string {
	if ref == "" {
		return "Direct"
	}
	host := ref[strings.Index(ref, "://")+3:]
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	return strings.TrimPrefix(host, "www.")
}

func unknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// Check compares dash_sum and dash_sum_items with counts computed
// from the events, sessions and js_errors rows.
func Check(t testing.TB, db dbx.Builder, when string) {
	t.Helper()
	want := expect(t, db)
	want.checkSums(t, db, when)
	want.checkItems(t, db, when)
}

// expected are the summaries the raw rows say.
type expected struct {
	sums    map[sumKey]*daySum
	items   map[itemKey]int
	jsTotal int // Σ js_errors.count
}

// expect counts the summaries from the raw rows.
func expect(t testing.TB, db dbx.Builder) *expected {
	t.Helper()
	e := &expected{sums: map[sumKey]*daySum{}, items: map[itemKey]int{}}
	for _, s := range rawrows.Sessions(t, db, "") {
		e.addSession(s)
	}
	for _, ev := range rawrows.Events(t, db, "") {
		e.addEvent(ev)
	}
	_ = db.NewQuery(`SELECT COALESCE(SUM(count),0) FROM js_errors`).Row(&e.jsTotal)
	return e
}

func (e *expected) sum(k sumKey) *daySum {
	if e.sums[k] == nil {
		e.sums[k] = &daySum{}
	}
	return e.sums[k]
}

// addSession counts a session on the hour it started: its counters and
// its breakdown keys (on that day).
func (e *expected) addSession(s *rawrows.Session) {
	k := sumKey{s.Website, pbHour(s.Start)}
	day := pbDay(s.Start)
	d := e.sum(k)
	d.visitors++
	if s.New {
		d.newVisitors++
	} else {
		d.returningVisitors++
	}
	if s.Engaged {
		d.engaged++
	}
	if s.EventCount <= 1 {
		d.bounces++
	}
	// each session's elapsed milliseconds rounded to seconds, half up
	if ms := s.Last.Sub(s.Start).Milliseconds(); ms > 0 {
		d.duration += int((ms + 500) / 1000)
	}
	for dim, key := range map[string]string{"entryPage": s.Entry, "exitPage": s.Exit, "referrer": refKey(s.Referrer),
		"device": unknown(s.Device), "browser": unknown(s.Browser), "os": unknown(s.OS), "language": unknown(s.Language), "country": unknown(s.Country), "region": unknown(s.Region),
		"channel": unknown(s.Channel), "source": unknown(s.Source)} {
		e.items[itemKey{k.website, day, dim, key}]++
	}
	for _, dim := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"} {
		if v := s.UTM[dim]; v != "" {
			e.items[itemKey{k.website, day, dim, v}]++
		}
	}
}

// addEvent counts a page view on its hour and its page, or a custom
// event's name, on its day.
func (e *expected) addEvent(ev *rawrows.Event) {
	k := sumKey{ev.Website, pbHour(ev.At)}
	if ev.Type == "pageView" {
		e.sum(k).pageViews++
		e.items[itemKey{k.website, pbDay(ev.At), "page", ev.Path}]++
	} else {
		e.items[itemKey{k.website, pbDay(ev.At), "customEvent", ev.Name}]++
	}
}

// checkSums compares the dash_sum rows with the expected hours, and their
// JS errors with js_errors.
func (e *expected) checkSums(t testing.TB, db dbx.Builder, when string) {
	t.Helper()
	var got []struct {
		Website           string `db:"website"`
		Date              string `db:"date"`
		PageViews         int    `db:"pageViews"`
		Visitors          int    `db:"visitors"`
		NewVisitors       int    `db:"newVisitors"`
		ReturningVisitors int    `db:"returningVisitors"`
		EngagedSessions   int    `db:"engagedSessions"`
		Bounces           int    `db:"bounces"`
		DurationSeconds   int    `db:"durationSeconds"`
		JsErrors          int    `db:"jsErrors"`
	}
	if err := db.NewQuery(`SELECT website, date, pageViews, visitors, newVisitors, returningVisitors, engagedSessions,
		bounces, durationSeconds, jsErrors FROM dash_sum`).All(&got); err != nil {
		t.Fatal(err)
	}
	gotJS := 0
	seen := map[sumKey]bool{}
	for _, g := range got {
		k := sumKey{g.Website, g.Date}
		seen[k] = true
		gotJS += g.JsErrors
		w := e.sum(k)
		have := daySum{g.PageViews, g.Visitors, g.NewVisitors, g.ReturningVisitors, g.EngagedSessions, g.Bounces, g.DurationSeconds, 0}
		if want := (daySum{w.pageViews, w.visitors, w.newVisitors, w.returningVisitors, w.engaged, w.bounces, w.duration, 0}); have != want {
			t.Errorf("%s: dash_sum %s %s = %+v, raw rows say %+v", when, k.website, k.date, have, want)
		}
	}
	for k, w := range e.sums {
		if !seen[k] && *w != (daySum{}) {
			t.Errorf("%s: no dash_sum row for %v, raw rows say %+v", when, k, *w)
		}
	}
	if gotJS != e.jsTotal {
		t.Errorf("%s: Σ dash_sum.jsErrors = %d, Σ js_errors.count = %d", when, gotJS, e.jsTotal)
	}
}

// checkItems compares the dash_sum_items rows with the expected keys,
// and the jsError ones with js_errors.
func (e *expected) checkItems(t testing.TB, db dbx.Builder, when string) {
	t.Helper()
	var items []struct {
		Website   string `db:"website"`
		Date      string `db:"date"`
		Dimension string `db:"dimension"`
		Key       string `db:"key"`
		Count     int    `db:"count"`
	}
	if err := db.NewQuery(`SELECT website, date, dimension, key, count FROM dash_sum_items`).All(&items); err != nil {
		t.Fatal(err)
	}
	gotItem := map[itemKey]int{}
	jsItems := 0
	for _, it := range items {
		if it.Dimension == "jsError" {
			jsItems += it.Count
			continue
		}
		if it.Count != 0 {
			gotItem[itemKey{it.Website, it.Date, it.Dimension, it.Key}] = it.Count
		}
	}
	for k, w := range e.items {
		if gotItem[k] != w {
			t.Errorf("%s: dash_sum_items %v = %d, raw rows say %d", when, k, gotItem[k], w)
		}
	}
	for k, g := range gotItem {
		if _, ok := e.items[k]; !ok {
			t.Errorf("%s: dash_sum_items %v = %d, raw rows have none", when, k, g)
		}
	}
	if jsItems != e.jsTotal {
		t.Errorf("%s: Σ jsError items = %d, Σ js_errors.count = %d", when, jsItems, e.jsTotal)
	}
}

// SessionDrift compares every session row with its events rows and
// returns the differences: the start and last activity are the first and
// last event times, the entry page the first event's path, the exit page
// the last page view or custom event's path, the count the page views and
// custom events (not server events, which serverEvent recognises by
// name: the rows do not tell them apart), engaged from two of them (the
// traffic must not rely on customData.duration); and a visitor has one
// session (the traffic must span less than the session timeout).
func SessionDrift(t testing.TB, db dbx.Builder, serverEvent func(name string) bool) []string {
	t.Helper()
	type want struct {
		first, last    time.Time
		entries, exits map[string]bool // paths at the first / last time (ties)
		exitTime       time.Time
		count          int
	}
	by := map[string]*want{}
	for _, e := range rawrows.Events(t, db, "") {
		w := by[e.Session]
		if w == nil {
			w = &want{first: e.At, entries: map[string]bool{}, exits: map[string]bool{}}
			by[e.Session] = w
		}
		if e.At.Equal(w.first) {
			w.entries[e.Path] = true
		}
		w.last = e.At
		if serverEvent(e.Name) {
			continue
		}
		w.count++
		if !e.At.Equal(w.exitTime) {
			w.exits, w.exitTime = map[string]bool{}, e.At
		}
		w.exits[e.Path] = true
	}
	var bad []string
	perVisitor := map[string]int{}
	for _, s := range rawrows.Sessions(t, db, "") {
		perVisitor[s.Visitor]++
		w := by[s.ID]
		if w == nil {
			bad = append(bad, s.ID+": no events")
			continue
		}
		exitOK := w.exits[s.Exit] || w.count == 0 && w.entries[s.Exit]
		switch {
		case !s.Start.Equal(w.first):
			bad = append(bad, fmt.Sprintf("%s: startedAt %s, first event %s", s.ID, pbTime(s.Start), pbTime(w.first)))
		case !s.Last.Equal(w.last):
			bad = append(bad, fmt.Sprintf("%s: lastActivity %s, last event %s", s.ID, pbTime(s.Last), pbTime(w.last)))
		case !w.entries[s.Entry]:
			bad = append(bad, fmt.Sprintf("%s: entryPath %s, first event's %v", s.ID, s.Entry, w.entries))
		case !exitOK:
			bad = append(bad, fmt.Sprintf("%s: exitPath %s, last page's %v", s.ID, s.Exit, w.exits))
		case s.EventCount != w.count:
			bad = append(bad, fmt.Sprintf("%s: eventCount %d, %d events", s.ID, s.EventCount, w.count))
		case s.Engaged != (w.count >= 2):
			bad = append(bad, fmt.Sprintf("%s: isEngaged %v with %d events", s.ID, s.Engaged, w.count))
		}
	}
	for v, n := range perVisitor {
		if n != 1 {
			bad = append(bad, fmt.Sprintf("visitor %s: %d sessions within seconds", v, n))
		}
	}
	return bad
}

// pbTime formats t as PocketBase stores it.
func pbTime(t time.Time) string { return t.UTC().Format(rawrows.Layout) }
