// Package summarytest checks, for tests, that the summaries (dash_sum
// hourly, dash_sum_items daily) equal what the raw rows (events, sessions,
// js_errors) say, computed independently of the pipeline's own code.
package summarytest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
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

func parsePB(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04:05.000Z", s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

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
	wantSum := map[sumKey]*daySum{}
	wantItem := map[itemKey]int{}
	sum := func(k sumKey) *daySum {
		if wantSum[k] == nil {
			wantSum[k] = &daySum{}
		}
		return wantSum[k]
	}
	var sessions []struct {
		Website      string `db:"website"`
		StartedAt    string `db:"startedAt"`
		LastActivity string `db:"lastActivity"`
		EntryPath    string `db:"entryPath"`
		ExitPath     string `db:"exitPath"`
		Referrer     string `db:"referrer"`
		Device       string `db:"device"`
		Browser      string `db:"browser"`
		OS           string `db:"os"`
		Language     string `db:"language"`
		Country      string `db:"country"`
		IsNewVisitor bool   `db:"isNewVisitor"`
		IsEngaged    bool   `db:"isEngaged"`
		EventCount   int    `db:"eventCount"`
		UTM          string `db:"utm"`
	}
	err := db.NewQuery(`SELECT website, startedAt, lastActivity, entryPath, exitPath, referrer, device, browser, os,
		language, country, isNewVisitor, isEngaged, eventCount, COALESCE(utm, '') AS utm FROM sessions`).All(&sessions)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		start := parsePB(t, s.StartedAt)
		k := sumKey{s.Website, pbHour(start)}
		day := pbDay(start)
		d := sum(k)
		d.visitors++
		if s.IsNewVisitor {
			d.newVisitors++
		} else {
			d.returningVisitors++
		}
		if s.IsEngaged {
			d.engaged++
		}
		if s.EventCount <= 1 {
			d.bounces++
		}
		// each session's elapsed milliseconds rounded to seconds, half up
		if ms := parsePB(t, s.LastActivity).Sub(start).Milliseconds(); ms > 0 {
			d.duration += int((ms + 500) / 1000)
		}
		for dim, key := range map[string]string{"entryPage": s.EntryPath, "exitPage": s.ExitPath, "referrer": refKey(s.Referrer),
			"device": unknown(s.Device), "browser": unknown(s.Browser), "os": unknown(s.OS), "language": unknown(s.Language), "country": unknown(s.Country)} {
			wantItem[itemKey{k.website, day, dim, key}]++
		}
		var utm map[string]any
		if s.UTM != "" && s.UTM != "null" {
			if err := json.Unmarshal([]byte(s.UTM), &utm); err != nil {
				t.Fatalf("sessions.utm %q: %v", s.UTM, err)
			}
		}
		for _, dim := range []string{"utm_source", "utm_medium", "utm_campaign"} {
			if v, _ := utm[dim].(string); v != "" {
				wantItem[itemKey{k.website, day, dim, v}]++
			}
		}
	}
	var events []struct {
		Website   string `db:"website"`
		Timestamp string `db:"timestamp"`
		Type      string `db:"type"`
		Path      string `db:"path"`
		EventName string `db:"eventName"`
	}
	if err := db.NewQuery(`SELECT website, timestamp, type, path, eventName FROM events`).All(&events); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		at := parsePB(t, e.Timestamp)
		k := sumKey{e.Website, pbHour(at)}
		if e.Type == "pageView" {
			sum(k).pageViews++
			wantItem[itemKey{k.website, pbDay(at), "page", e.Path}]++
		} else {
			wantItem[itemKey{k.website, pbDay(at), "customEvent", e.EventName}]++
		}
	}
	var jsTotal int
	_ = db.NewQuery(`SELECT COALESCE(SUM(count),0) FROM js_errors`).Row(&jsTotal)

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
		w := sum(k)
		have := daySum{g.PageViews, g.Visitors, g.NewVisitors, g.ReturningVisitors, g.EngagedSessions, g.Bounces, g.DurationSeconds, 0}
		if want := (daySum{w.pageViews, w.visitors, w.newVisitors, w.returningVisitors, w.engaged, w.bounces, w.duration, 0}); have != want {
			t.Errorf("%s: dash_sum %s %s = %+v, raw rows say %+v", when, k.website, k.date, have, want)
		}
	}
	for k, w := range wantSum {
		if !seen[k] && *w != (daySum{}) {
			t.Errorf("%s: no dash_sum row for %v, raw rows say %+v", when, k, *w)
		}
	}
	if gotJS != jsTotal {
		t.Errorf("%s: Σ dash_sum.jsErrors = %d, Σ js_errors.count = %d", when, gotJS, jsTotal)
	}
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
	for k, w := range wantItem {
		if gotItem[k] != w {
			t.Errorf("%s: dash_sum_items %v = %d, raw rows say %d", when, k, gotItem[k], w)
		}
	}
	for k, g := range gotItem {
		if _, ok := wantItem[k]; !ok {
			t.Errorf("%s: dash_sum_items %v = %d, raw rows have none", when, k, g)
		}
	}
	if jsItems != jsTotal {
		t.Errorf("%s: Σ jsError items = %d, Σ js_errors.count = %d", when, jsItems, jsTotal)
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
	var sessions []struct {
		ID           string `db:"id"`
		Visitor      string `db:"visitor"`
		StartedAt    string `db:"startedAt"`
		LastActivity string `db:"lastActivity"`
		EntryPath    string `db:"entryPath"`
		ExitPath     string `db:"exitPath"`
		EventCount   int    `db:"eventCount"`
		IsEngaged    bool   `db:"isEngaged"`
	}
	if err := db.NewQuery("SELECT id, visitor, startedAt, lastActivity, entryPath, exitPath, eventCount, isEngaged FROM sessions").All(&sessions); err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Session   string `db:"session"`
		Timestamp string `db:"timestamp"`
		Path      string `db:"path"`
		Name      string `db:"eventName"`
	}
	if err := db.NewQuery("SELECT session, timestamp, path, eventName FROM events ORDER BY timestamp").All(&events); err != nil {
		t.Fatal(err)
	}
	type want struct {
		first, last    string
		entries, exits map[string]bool // paths at the first / last time (ties)
		exitTime       string
		count          int
	}
	by := map[string]*want{}
	for _, e := range events {
		w := by[e.Session]
		if w == nil {
			w = &want{first: e.Timestamp, entries: map[string]bool{}, exits: map[string]bool{}}
			by[e.Session] = w
		}
		if e.Timestamp == w.first {
			w.entries[e.Path] = true
		}
		w.last = e.Timestamp
		if serverEvent(e.Name) {
			continue
		}
		w.count++
		if e.Timestamp != w.exitTime {
			w.exits, w.exitTime = map[string]bool{}, e.Timestamp
		}
		w.exits[e.Path] = true
	}
	var bad []string
	perVisitor := map[string]int{}
	for _, s := range sessions {
		perVisitor[s.Visitor]++
		w := by[s.ID]
		if w == nil {
			bad = append(bad, s.ID+": no events")
			continue
		}
		exitOK := w.exits[s.ExitPath] || w.count == 0 && w.entries[s.ExitPath]
		switch {
		case s.StartedAt != w.first:
			bad = append(bad, fmt.Sprintf("%s: startedAt %s, first event %s", s.ID, s.StartedAt, w.first))
		case s.LastActivity != w.last:
			bad = append(bad, fmt.Sprintf("%s: lastActivity %s, last event %s", s.ID, s.LastActivity, w.last))
		case !w.entries[s.EntryPath]:
			bad = append(bad, fmt.Sprintf("%s: entryPath %s, first event's %v", s.ID, s.EntryPath, w.entries))
		case !exitOK:
			bad = append(bad, fmt.Sprintf("%s: exitPath %s, last page's %v", s.ID, s.ExitPath, w.exits))
		case s.EventCount != w.count:
			bad = append(bad, fmt.Sprintf("%s: eventCount %d, %d events", s.ID, s.EventCount, w.count))
		case s.IsEngaged != (w.count >= 2):
			bad = append(bad, fmt.Sprintf("%s: isEngaged %v with %d events", s.ID, s.IsEngaged, w.count))
		}
	}
	for v, n := range perVisitor {
		if n != 1 {
			bad = append(bad, fmt.Sprintf("visitor %s: %d sessions within seconds", v, n))
		}
	}
	return bad
}
