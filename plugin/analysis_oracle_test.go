package plugin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/summarytest/rawrows"
)

// The oracle: every figure of the stats API computed from the raw events
// and sessions rows with the README's definitions ("Stats API"), in
// plain Go, without internal/stats or internal/goal. Where the README
// leaves a choice, the oracle takes the reading marked "reading:" below;
// in short:
//
//   - page, event and goal filters select events of any type by the
//     event's own fields (page:/pricing also selects the custom events sent
//     from /pricing), and "!" selects every other event (so the visitors of
//     page:!/ are the sessions with at least one event elsewhere, not the
//     sessions that never saw /);
//   - a goal's events under filters count in sessions that pass them
//     wherever the session started (as the unfiltered figure counts the
//     goal's events of the period);
//   - a funnel follows all of a selected session's events in the period,
//     not only the selected ones, one event per step;
//   - bounces are sessions.eventCount <= 1 (page views and custom events;
//     the traffic sends no server events, which are stored as "custom"
//     rows but do not count there);
//   - rates are rounded half up to one decimal from the counts, changes
//     half away from zero from the figures as reported (so a rate's change
//     is computed from the rounded rates);
//   - avgDurationSeconds is the sum of the sessions' durations, each
//     rounded to the second once, divided by the sessions, rounded half up;
//   - activeUsers at a clock in the past counts the sessions active
//     between their first and last event in the 5 minutes before it;
//   - hourly series steps are whole hours of real time from the local
//     midnight (a DST day has 23 or 25), "24h" from the local hour it
//     starts in;
//   - top lists are by count descending; the order of equal counts is not
//     specified, so only the counts' order is checked;
//   - user, identified and meta.<key> read the session's visitors row as
//     it is now (sessions before identify() included): meta.<key> is the
//     identified user's top-level metadata key (a '.' is part of the key),
//     its value as text like a goal's property; "!" selects every other
//     session, those without a user included.

// The rows are read by rawrows, which uses plain SQL and nothing of the
// code under test.
type (
	oSession = rawrows.Session
	oEvent   = rawrows.Event
)

type oGoal struct{ Name, Type, Match, Key, Value string }

// oracle holds one website's rows.
type oracle struct {
	sessions  []*oSession
	byID      map[string]*oSession
	events    []*oEvent // by time, then id
	bySession map[string][]*oEvent
	goals     []oGoal // by name
	js        []sentJSError
	// identity is the user id and metadata of the website's visitors
	// rows, by id
	identity map[string]oIdentity
}

type oIdentity struct {
	user string
	meta map[string]any // decoded with UseNumber; nil without metadata
}

// checkAccountCoverage fails when the account filter sets of the test
// would select nothing, or everything.
func checkAccountCoverage(t *testing.T, o *oracle) {
	t.Helper()
	n := map[string]int{}
	for _, s := range o.sessions {
		id := o.identity[s.Visitor]
		n["user "+id.user]++
		if id.meta != nil {
			n["plan "+textOf(id.meta["plan"])]++
		}
	}
	if n["user u1"] < 2 || n["user "] == 0 || n["user "] == len(o.sessions) || n["plan pro"] == 0 || n["plan free"] == 0 {
		t.Fatalf("the identified visitors do not cover the account filters: %v", n)
	}
}

// loadIdentities reads the website's visitors rows.
func loadIdentities(t *testing.T, db dbx.Builder, site string) map[string]oIdentity {
	t.Helper()
	var rows []struct {
		ID       string `db:"id"`
		UserID   string `db:"userId"`
		Metadata string `db:"metadata"`
	}
	if err := db.NewQuery(`SELECT id, userId, COALESCE(metadata, '') AS metadata FROM visitors WHERE website = {:w}`).
		Bind(dbx.Params{"w": site}).All(&rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]oIdentity{}
	for _, r := range rows {
		id := oIdentity{user: r.UserID}
		if r.Metadata != "" && r.Metadata != "null" {
			dec := json.NewDecoder(strings.NewReader(r.Metadata))
			dec.UseNumber()
			if err := dec.Decode(&id.meta); err != nil {
				t.Fatalf("visitor %s: metadata %s: %v", r.ID, r.Metadata, err)
			}
		}
		out[r.ID] = id
	}
	return out
}

// identifyVisitors gives every third visitors row of the website a user
// id and metadata directly, as identify() stores them: two visitor ids
// (devices) per user, plans "pro" and "free", numbers, booleans, a key
// with a '.', and every fifth user without metadata.
func identifyVisitors(t *testing.T, db dbx.Builder, site string) {
	t.Helper()
	var ids []string
	if err := db.NewQuery(`SELECT id FROM visitors WHERE website = {:w} ORDER BY id`).Bind(dbx.Params{"w": site}).Column(&ids); err != nil {
		t.Fatal(err)
	}
	for i := 0; 3*i < len(ids); i++ {
		u := i / 2
		var meta any
		if u%5 != 4 {
			plan := "free"
			if u%3 == 1 {
				plan = "pro"
			}
			meta = mustJSON(map[string]any{"plan": plan, "seats": 1 + u%4, "trial": u%2 == 0, "team.size": "10"})
		}
		if _, err := db.NewQuery(`UPDATE visitors SET userId = {:u}, metadata = {:m} WHERE id = {:id}`).
			Bind(dbx.Params{"u": fmt.Sprintf("u%d", u), "m": meta, "id": ids[3*i]}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
}

// loadOracle reads the website's rows.
func loadOracle(t *testing.T, db dbx.Builder, site string, goals []oGoal, js []sentJSError) *oracle {
	t.Helper()
	o := &oracle{byID: map[string]*oSession{}, bySession: map[string][]*oEvent{}, js: js}
	o.sessions = rawrows.Sessions(t, db, site)
	for _, s := range o.sessions {
		o.byID[s.ID] = s
	}
	o.events = rawrows.Events(t, db, site) // by time, then id
	for _, e := range o.events {
		if o.byID[e.Session] == nil {
			t.Fatalf("event %s: session %q is not a session of the website", e.ID, e.Session)
		}
		o.bySession[e.Session] = append(o.bySession[e.Session], e)
	}
	o.identity = loadIdentities(t, db, site)
	o.goals = append([]oGoal{}, goals...)
	sort.Slice(o.goals, func(i, j int) bool { return o.goals[i].Name < o.goals[j].Name })

	// the session columns the figures rely on agree with the session's
	// events: eventCount is its page views and custom events (this
	// traffic has no server events), and it starts and ends with them
	for _, s := range o.sessions {
		evs := o.bySession[s.ID]
		if len(evs) == 0 {
			t.Fatalf("session %s has no events", s.ID)
		}
		if s.EventCount != len(evs) || !s.Start.Equal(evs[0].At) || !s.Last.Equal(evs[len(evs)-1].At) ||
			s.Entry != evs[0].Path || s.Exit != evs[len(evs)-1].Path || (s.EventCount >= 2 && !s.Engaged) {
			t.Fatalf("session %s (%d events, %v–%v, entry %s, engaged %v) disagrees with its events rows",
				s.ID, s.EventCount, s.Start, s.Last, s.Entry, s.Engaged)
		}
	}
	return o
}

// --- definitions -----------------------------------------------------

// matchSegment matches pattern p (with "*": any characters but "/")
// against s.
func matchSegment(p, s string) bool {
	for p != "" {
		if p[0] == '*' {
			for i := 0; i <= len(s); i++ {
				if matchSegment(p[1:], s[i:]) {
					return true
				}
				if i < len(s) && s[i] == '/' {
					return false
				}
			}
			return false
		}
		if s == "" || s[0] != p[0] {
			return false
		}
		p, s = p[1:], s[1:]
	}
	return s == ""
}

// matchPage: "*" within a segment, a trailing "/**" the path and
// everything below it.
func matchPage(pattern, path string) bool {
	body, ok := strings.CutSuffix(pattern, "/**")
	if !ok {
		return matchSegment(pattern, path)
	}
	if matchSegment(body, path) {
		return true
	}
	for i := 0; i < len(path); i++ {
		if path[i] == '/' && matchSegment(body, path[:i]) {
			return true
		}
	}
	return false
}

// textOf is a property value as text: strings as they are, true/false,
// numbers as written, objects and arrays as JSON.
func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	case json.Number:
		return x.String()
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (g oGoal) matches(e *oEvent) bool {
	if g.Type == "page" {
		return e.Type == "pageView" && matchPage(g.Match, e.Path)
	}
	if e.Type != "custom" || e.Name != g.Match {
		return false
	}
	if g.Key == "" {
		return true
	}
	v, ok := e.Data[g.Key]
	return ok && textOf(v) == g.Value
}

func refHost(ref string) string {
	if ref == "" {
		return "Direct"
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return "Direct"
	}
	return strings.TrimPrefix(u.Host, "www.")
}

func orUnknownKey(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// sessionDims are the top lists of sessions.
var sessionDims = []string{"entryPage", "exitPage", "referrer", "device", "browser", "os", "language", "country", "region",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "channel", "source"}

// sessKey is a session's key in a session dimension ("" for a campaign
// dimension it did not come with).
func sessKey(s *oSession, dim string) string {
	switch dim {
	case "entryPage":
		return s.Entry
	case "exitPage":
		return s.Exit
	case "referrer":
		return refHost(s.Referrer)
	case "device":
		return orUnknownKey(s.Device)
	case "browser":
		return orUnknownKey(s.Browser)
	case "os":
		return orUnknownKey(s.OS)
	case "language":
		return orUnknownKey(s.Language)
	case "country":
		return orUnknownKey(s.Country)
	case "region":
		return orUnknownKey(s.Region)
	case "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content":
		return s.UTM[dim]
	case "channel":
		return orUnknownKey(s.Channel)
	case "source":
		return orUnknownKey(s.Source)
	}
	panic("dimension " + dim)
}

type oFilter struct {
	Dim, Value string
	Not        bool
}

func parseOFilter(s string) oFilter {
	dim, v, _ := strings.Cut(s, ":")
	f := oFilter{Dim: dim, Value: v}
	if strings.HasPrefix(v, "!") {
		f.Value, f.Not = v[1:], true
	}
	return f
}

func (f oFilter) onEvents() bool { return f.Dim == "page" || f.Dim == "event" || f.Dim == "goal" }

type selection struct {
	o       *oracle
	filters []oFilter
}

func (sel selection) filtered() bool { return len(sel.filters) > 0 }

func (sel selection) hasEventFilters() bool {
	for _, f := range sel.filters {
		if f.onEvents() {
			return true
		}
	}
	return false
}

// sessionPasses: the session filters (every one, AND; "!" negates).
func (sel selection) sessionPasses(s *oSession) bool {
	for _, f := range sel.filters {
		if !f.onEvents() && sel.sessionMatches(s, f) == f.Not {
			return false
		}
	}
	return true
}

// sessionMatches: the session has f's value (before "!"). The account
// dimensions read its visitor's row; a session without one has no user.
func (sel selection) sessionMatches(s *oSession, f oFilter) bool {
	id := sel.o.identity[s.Visitor]
	if key, ok := strings.CutPrefix(f.Dim, "meta."); ok {
		v, has := id.meta[key]
		return id.user != "" && has && textOf(v) == f.Value
	}
	switch f.Dim {
	case "user":
		return id.user != "" && id.user == f.Value
	case "identified":
		return (id.user != "") == (f.Value == "yes")
	}
	return sessKey(s, f.Dim) == f.Value
}

func (sel selection) goal(name string) oGoal {
	for _, g := range sel.o.goals {
		if g.Name == name {
			return g
		}
	}
	panic("no goal " + name)
}

// eventSelected: the event filters. Reading: page, event and goal select
// events of every type by their own fields ("page:/pricing" selects the
// page views of /pricing and the custom events sent from it; "!" selects
// every other event, so "page:!/" keeps the custom events sent from "/").
func (sel selection) eventSelected(e *oEvent) bool {
	for _, f := range sel.filters {
		var m bool
		switch f.Dim {
		case "page":
			m = e.Path == f.Value
		case "event":
			m = e.Type == "custom" && e.Name == f.Value
		case "goal":
			m = sel.goal(f.Value).matches(e)
		default:
			continue
		}
		if m == f.Not {
			return false
		}
	}
	return true
}

type window struct{ from, to time.Time }

func (w window) has(t time.Time) bool { return !t.Before(w.from) && t.Before(w.to) }

// sessionHasSelected: the session has a selected event in w.
func (sel selection) sessionHasSelected(s *oSession, w window) bool {
	for _, e := range sel.o.bySession[s.ID] {
		if w.has(e.At) && sel.eventSelected(e) {
			return true
		}
	}
	return false
}

// counted are the sessions of w: started in it, passing the session
// filters and, with event filters, with a selected event in w.
func (sel selection) counted(w window) []*oSession {
	var out []*oSession
	for _, s := range sel.o.sessions {
		if w.has(s.Start) && sel.sessionPasses(s) && (!sel.hasEventFilters() || sel.sessionHasSelected(s, w)) {
			out = append(out, s)
		}
	}
	return out
}

// selectedEvents are the events of w that the event filters select and
// whose session passes the session filters (wherever it started).
func (sel selection) selectedEvents(w window) []*oEvent {
	var out []*oEvent
	for _, e := range sel.o.events {
		if w.has(e.At) && sel.eventSelected(e) && sel.sessionPasses(sel.o.byID[e.Session]) {
			out = append(out, e)
		}
	}
	return out
}

// durationSeconds is a session's elapsed milliseconds rounded to whole
// seconds, half up, once per session.
func durationSeconds(s *oSession) int {
	ms := s.Last.Sub(s.Start).Milliseconds()
	if ms <= 0 {
		return 0
	}
	return int((ms + 500) / 1000)
}

type oTotals struct {
	pageViews, visitors, newVisitors, returning, engaged, bounces, duration int
}

func (sel selection) totals(w window) oTotals {
	var t oTotals
	for _, e := range sel.selectedEvents(w) {
		if e.Type == "pageView" {
			t.pageViews++
		}
	}
	for _, s := range sel.counted(w) {
		t.visitors++
		if s.New {
			t.newVisitors++
		} else {
			t.returning++
		}
		if s.Engaged {
			t.engaged++
		}
		if s.EventCount <= 1 { // at most one page view or custom event
			t.bounces++
		}
		t.duration += durationSeconds(s)
	}
	return t
}

// --- numbers as the API rounds them ------------------------------------

// tenths is part/whole in percent, in tenths, rounded half up (exact).
func tenths(part, whole int) int {
	if whole == 0 {
		return 0
	}
	return (2000*part + whole) / (2 * whole)
}

func divRound(a, b int) int {
	if b == 0 {
		return 0
	}
	return (2*a + b) / (2 * b)
}

// changeOf is the rounded percentage from prev to cur (both in the same
// unit), half away from zero; 100 from 0 to anything, 0 from 0 to 0.
func changeOf(cur, prev int) int {
	switch {
	case prev == 0 && cur == 0:
		return 0
	case prev == 0:
		return 100
	}
	num, den := (cur-prev)*100, prev
	if num < 0 {
		return -((-2*num + den) / (2 * den))
	}
	return (2*num + den) / (2 * den)
}

// oMetric is a KPI; unit is 10 for the one-decimal rates.
type oMetric struct {
	cur, prev, unit int
}

func (m oMetric) value() float64    { return float64(m.cur) / float64(m.unit) }
func (m oMetric) previous() float64 { return float64(m.prev) / float64(m.unit) }
func (m oMetric) change() int       { return changeOf(m.cur, m.prev) }

// --- periods -------------------------------------------------------------

type oPeriod struct {
	name             string
	loc              *time.Location
	from, to         time.Time
	prevFrom, prevTo time.Time
	hourly           bool
	interval         string // week or month; "" the default (hour or day)
	now              time.Time
	fromRaw          bool
}

// by is p read in steps of interval ("" keeps the default).
func (p oPeriod) by(interval string) oPeriod {
	switch interval {
	case "hour":
		p.hourly = true
	case "day":
		p.hourly = false
	case "week", "month":
		p.interval, p.hourly = interval, false
	}
	return p
}

func (p oPeriod) cur() window  { return window{p.from, p.to} }
func (p oPeriod) prev() window { return window{p.prevFrom, p.prevTo} }

func localDate(t time.Time, loc *time.Location, days int) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d+days, 0, 0, 0, 0, loc)
}

func dateIn(s string, loc *time.Location, days int) time.Time {
	var y, m, d int
	if _, err := fmt.Sscanf(s, "%d-%d-%d", &y, &m, &d); err != nil {
		panic(s)
	}
	return time.Date(y, time.Month(m), d+days, 0, 0, 0, 0, loc)
}

// customPeriod: from and to inclusive local dates; the previous period is
// as many local days before; by hour up to two days.
func customPeriod(loc *time.Location, from, to string, now time.Time) oPeriod {
	f := dateIn(from, loc, 0)
	n := 0
	for dateIn(from, loc, n).Before(dateIn(to, loc, 1)) {
		n++
	}
	return oPeriod{name: "custom", loc: loc, from: f, to: dateIn(to, loc, 1), prevFrom: dateIn(from, loc, -n), prevTo: f,
		hourly: n <= 2, now: now}
}

// namedPeriod: "today" from the local midnight to now, its previous
// period yesterday from midnight to the same local time; "24h" the last
// 24 hours; "7d"/"30d" today and the 6/29 local days before, the previous
// period the as many local days before.
func namedPeriod(loc *time.Location, name string, now time.Time) oPeriod {
	l := now.In(loc)
	switch name {
	case "today":
		return oPeriod{name: name, loc: loc, from: localDate(now, loc, 0), to: now, prevFrom: localDate(now, loc, -1),
			prevTo: time.Date(l.Year(), l.Month(), l.Day()-1, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), loc),
			hourly: true, now: now, fromRaw: true}
	case "24h":
		return oPeriod{name: name, loc: loc, from: now.Add(-24 * time.Hour), to: now, prevFrom: now.Add(-48 * time.Hour),
			prevTo: now.Add(-24 * time.Hour), hourly: true, now: now, fromRaw: true}
	case "7d", "30d":
		n := 7
		if name == "30d" {
			n = 30
		}
		return oPeriod{name: name, loc: loc, from: localDate(now, loc, 1-n), to: localDate(now, loc, 1),
			prevFrom: localDate(now, loc, 1-2*n), prevTo: localDate(now, loc, 1-n), now: now}
	}
	panic(name)
}

// buckets: the series' steps, each [b[i], b[i+1]). Days are local days;
// hours are whole hours of real time from the local midnight (a DST day
// has 23 or 25); "24h" starts at the local hour its period starts in
// (reading: local hours also in zones whose offset has minutes).
func (p oPeriod) buckets() []time.Time {
	var out []time.Time
	if p.interval != "" {
		// weeks start on local Mondays, months on the 1st: walk the local
		// days and cut where one starts
		out = append(out, p.from)
		start := p.from.In(p.loc).Format(time.DateOnly)
		for i := 1; dateIn(start, p.loc, i).Before(p.to); i++ {
			d := dateIn(start, p.loc, i)
			if p.interval == "week" && d.Weekday() == time.Monday || p.interval == "month" && d.Day() == 1 {
				out = append(out, d)
			}
		}
		return append(out, p.to)
	}
	if p.hourly {
		t := p.from
		if p.name == "24h" {
			l := t.In(p.loc)
			t = t.Add(-time.Duration(l.Minute())*time.Minute - time.Duration(l.Second())*time.Second - time.Duration(l.Nanosecond()))
		}
		for ; t.Before(p.to); t = t.Add(time.Hour) {
			out = append(out, t)
		}
	} else {
		for i := 0; dateIn(p.from.In(p.loc).Format(time.DateOnly), p.loc, i).Before(p.to); i++ {
			out = append(out, dateIn(p.from.In(p.loc).Format(time.DateOnly), p.loc, i))
		}
	}
	return append(out, p.to)
}

// onUTCHours: every boundary of the period and its series is a whole UTC
// hour, so that the hourly summaries can serve it.
func (p oPeriod) onUTCHours() bool {
	if p.fromRaw {
		return false
	}
	for _, b := range append(p.buckets(), p.from, p.to, p.prevFrom, p.prevTo) {
		if b.UTC().Minute() != 0 || b.Second() != 0 || b.Nanosecond() != 0 {
			return false
		}
	}
	return true
}

// --- the expected report ---------------------------------------------------

// oPoint is a series step; bounceRate in tenths of a percent.
type oPoint struct {
	at                                     time.Time
	pageViews, visitors, bounces, duration int
	bounceRateX10, avgDuration             int
}

// previousBuckets: the bounds of the series' steps moved back to the
// previous period, step i beside step i. Reading: by the period's length
// in local days, each bound keeping its local clock time (as time.Date
// normalizes it); "24h" by 24 hours; a bound that DST puts before the one
// ahead of it is that one (an empty step).
func (p oPeriod) previousBuckets() []time.Time {
	days := 0
	for localDate(p.prevFrom, p.loc, days).Before(p.from) {
		days++
	}
	var out []time.Time
	for _, b := range p.buckets() {
		l := b.In(p.loc)
		t := time.Date(l.Year(), l.Month(), l.Day()-days, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), p.loc)
		if p.name == "24h" {
			t = b.Add(-24 * time.Hour)
		}
		if len(out) > 0 && t.Before(out[len(out)-1]) {
			t = out[len(out)-1]
		}
		out = append(out, t)
	}
	return out
}

// seriesOf places the page views among evs by their time and the sessions
// of counted by their start in the steps b delimits.
func seriesOf(b []time.Time, evs []*oEvent, counted []*oSession) []oPoint {
	var out []oPoint
	for i := 0; i+1 < len(b); i++ {
		out = append(out, oPoint{at: b[i]})
	}
	point := func(t time.Time) *oPoint {
		for i := len(b) - 2; i >= 0; i-- { // the last of empty steps at one instant
			if !t.Before(b[i]) && t.Before(b[i+1]) {
				return &out[i]
			}
		}
		return nil
	}
	for _, e := range evs {
		if e.Type == "pageView" {
			point(e.At).pageViews++
		}
	}
	for _, s := range counted {
		pt := point(s.Start)
		pt.visitors++
		if s.EventCount <= 1 {
			pt.bounces++
		}
		pt.duration += durationSeconds(s)
	}
	for i := range out {
		out[i].bounceRateX10 = tenths(out[i].bounces, out[i].visitors)
		out[i].avgDuration = divRound(out[i].duration, out[i].visitors)
	}
	return out
}

type oGoalResult struct {
	name                      string
	visitors, events, rateX10 int
}

type oReport struct {
	period                                      oPeriod
	filters                                     []oFilter
	pageViews, visitors, newVisitors, returning oMetric
	engagementRate, bounceRate, avgDuration     oMetric
	jsErrors                                    *oMetric
	series, prevSeries                          []oPoint
	top                                         map[string]map[string]int
	goals                                       []oGoalResult
	activeUsers                                 int
	cur, prev                                   oTotals
	// pageEngagement by path; autoEvents by name, then (value, page):
	// {events, sessions}
	pageEngagement map[string]oPageEngagement
	autoEvents     map[string]map[[2]string][2]int
}

// oPageEngagement: the medians of a page's selected page views of the
// period with engagement (engagedMs or scrollDepth above 0); an even
// count takes the mean of the middle two; engaged times count in whole
// tenths of a second (cut), and the median is rounded half up to a tenth.
type oPageEngagement struct {
	path            string
	views           int
	seconds, scroll float64
}

func oMedian(xs []int) float64 {
	sort.Ints(xs)
	n := len(xs)
	if n%2 == 1 {
		return float64(xs[n/2])
	}
	return float64(xs[n/2-1]+xs[n/2]) / 2
}

// engagementOf computes pageEngagement and autoEvents from the selected
// events of the period.
func (r *oReport) engagementOf(evs []*oEvent) {
	ms, scroll := map[string][]int{}, map[string][]int{}
	r.autoEvents = map[string]map[[2]string][2]int{}
	sessions := map[[3]string]map[string]bool{}
	for _, e := range evs {
		switch {
		case e.Type == "pageView" && (e.EngagedMs > 0 || e.ScrollDepth > 0):
			ms[e.Path] = append(ms[e.Path], e.EngagedMs)
			scroll[e.Path] = append(scroll[e.Path], e.ScrollDepth)
		case e.Type == "custom" && (e.Name == "Outbound Link: Click" || e.Name == "File Download" || e.Name == "404" || e.Name == "Form: Submit"):
			value := ""
			switch e.Name {
			case "Form: Submit":
				value = textOf(e.Data["form"])
			case "Outbound Link: Click", "File Download":
				value = textOf(e.Data["url"])
			}
			k := [2]string{value, e.Path}
			if r.autoEvents[e.Name] == nil {
				r.autoEvents[e.Name] = map[[2]string][2]int{}
			}
			c := r.autoEvents[e.Name][k]
			c[0]++
			sk := [3]string{e.Name, value, e.Path}
			if sessions[sk] == nil {
				sessions[sk] = map[string]bool{}
			}
			if !sessions[sk][e.Session] {
				sessions[sk][e.Session] = true
				c[1]++
			}
			r.autoEvents[e.Name][k] = c
		}
	}
	r.pageEngagement = map[string]oPageEngagement{}
	for path, xs := range ms {
		// engaged times in whole tenths of a second (cut), the median
		// rounded half up to a tenth
		tenths := make([]int, len(xs))
		for i, x := range xs {
			tenths[i] = x / 100
		}
		med := oMedian(tenths)
		r.pageEngagement[path] = oPageEngagement{path, len(xs), float64(int(med+0.5)) / 10, oMedian(scroll[path])}
	}
}

// jsHours widens w to whole UTC hours: JS errors are counted per hour.
func jsHours(w window) window {
	to := w.to.Truncate(time.Hour)
	if to.Before(w.to) {
		to = to.Add(time.Hour)
	}
	return window{w.from.Truncate(time.Hour), to}
}

// jsDays widens a window to whole UTC days: JS errors by message
// (dash_sum_items) are kept per UTC day.
func jsDays(w window) window {
	to := w.to.UTC().Truncate(24 * time.Hour)
	if to.Before(w.to) {
		to = to.Add(24 * time.Hour)
	}
	return window{w.from.UTC().Truncate(24 * time.Hour), to}
}

func (o *oracle) expect(p oPeriod, filters []string) oReport {
	sel := selection{o: o}
	for _, f := range filters {
		sel.filters = append(sel.filters, parseOFilter(f))
	}
	cur, prev := sel.totals(p.cur()), sel.totals(p.prev())
	r := oReport{period: p, filters: sel.filters, cur: cur, prev: prev,
		pageViews:      oMetric{cur.pageViews, prev.pageViews, 1},
		visitors:       oMetric{cur.visitors, prev.visitors, 1},
		newVisitors:    oMetric{cur.newVisitors, prev.newVisitors, 1},
		returning:      oMetric{cur.returning, prev.returning, 1},
		engagementRate: oMetric{tenths(cur.engaged, cur.visitors), tenths(prev.engaged, prev.visitors), 10},
		bounceRate:     oMetric{tenths(cur.bounces, cur.visitors), tenths(prev.bounces, prev.visitors), 10},
		avgDuration:    oMetric{divRound(cur.duration, cur.visitors), divRound(prev.duration, prev.visitors), 1},
		top:            map[string]map[string]int{},
	}
	if !sel.filtered() {
		n := func(w window) int {
			c := 0
			for _, j := range o.js {
				if w.has(j.at) {
					c++
				}
			}
			return c
		}
		r.jsErrors = &oMetric{n(jsHours(p.cur())), n(jsHours(p.prev())), 1}
	}

	// series: page views by their time, sessions by their start; the
	// previous period's likewise in its steps
	evs := sel.selectedEvents(p.cur())
	r.engagementOf(evs)
	counted := sel.counted(p.cur())
	r.series = seriesOf(p.buckets(), evs, counted)
	r.prevSeries = seriesOf(p.previousBuckets(), sel.selectedEvents(p.prev()), sel.counted(p.prev()))

	// top: pages and custom events by selected events, the rest by
	// the sessions that count
	add := func(dim, key string) {
		if r.top[dim] == nil {
			r.top[dim] = map[string]int{}
		}
		r.top[dim][key]++
	}
	for _, d := range append([]string{"page", "customEvent"}, sessionDims...) {
		r.top[d] = map[string]int{}
	}
	for _, e := range evs {
		switch e.Type {
		case "pageView":
			add("page", e.Path)
		case "custom":
			add("customEvent", e.Name)
		}
	}
	for _, s := range counted {
		for _, d := range sessionDims {
			if k := sessKey(s, d); k != "" || !strings.HasPrefix(d, "utm_") {
				add(d, k)
			}
		}
	}
	if sel.filtered() {
		// the drill-down below a referrer host or source: the sessions'
		// full stored referrers
		r.top["referrerUrl"] = map[string]int{}
		for _, s := range counted {
			if s.Referrer != "" {
				add("referrerUrl", s.Referrer)
			}
		}
	}
	if !sel.filtered() {
		r.top["jsError"] = map[string]int{}
		for _, j := range o.js {
			if jsDays(p.cur()).has(j.at) {
				add("jsError", j.msg)
			}
		}
	}

	// goals: converted sessions of the period, the goal's events in
	// sessions that pass the filters
	for _, g := range o.goals {
		gr := oGoalResult{name: g.Name}
		for _, s := range counted {
			for _, e := range o.bySession[s.ID] {
				if p.cur().has(e.At) && g.matches(e) {
					gr.visitors++
					break
				}
			}
		}
		for _, e := range o.events {
			s := o.byID[e.Session]
			if p.cur().has(e.At) && g.matches(e) && sel.sessionPasses(s) &&
				(!sel.hasEventFilters() || sel.sessionHasSelected(s, p.cur())) {
				gr.events++
			}
		}
		gr.rateX10 = tenths(gr.visitors, cur.visitors)
		r.goals = append(r.goals, gr)
	}

	// active users: distinct visitors whose session was active (between
	// its first and last event) in the 5 minutes before now. Reading:
	// with a clock in the past, activity after now does not count.
	active := map[string]bool{}
	for _, s := range o.sessions {
		if !s.Last.Before(p.now.Add(-5*time.Minute)) && !s.Start.After(p.now) {
			active[s.Visitor] = true
		}
	}
	r.activeUsers = len(active)
	return r
}

// --- funnels and properties ------------------------------------------

type oStep struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Match string `json:"match"`
}

type oFunnelStep struct {
	visitors, rateX10, dropOff, dropRateX10 int
}

// funnel: a session of the period (started in it, passing the filters)
// reaches step n when its events in the period (all of them, reading:
// not only the selected ones) match steps 1..n in time order, one event
// per step.
func (o *oracle) funnel(p oPeriod, filters []string, steps []oStep) (sessions int, out []oFunnelStep) {
	sel := selection{o: o}
	for _, f := range filters {
		sel.filters = append(sel.filters, parseOFilter(f))
	}
	reached := make([]int, len(steps))
	counted := sel.counted(p.cur())
	for _, s := range counted {
		next := 0
		for _, e := range o.bySession[s.ID] {
			if next == len(steps) || !p.cur().has(e.At) {
				continue
			}
			if (oGoal{Type: steps[next].Type, Match: steps[next].Match}).matches(e) {
				reached[next]++
				next++
			}
		}
	}
	for i := range steps {
		st := oFunnelStep{visitors: reached[i], rateX10: tenths(reached[i], reached[0])}
		if i > 0 {
			st.dropOff = reached[i-1] - reached[i]
			st.dropRateX10 = tenths(st.dropOff, reached[i-1])
		}
		out = append(out, st)
	}
	return len(counted), out
}

// properties: for each key of the selected custom events named name in
// the period, the number of events per value (as text).
func (o *oracle) properties(p oPeriod, filters []string, name string) map[string]map[string]int {
	sel := selection{o: o}
	for _, f := range filters {
		sel.filters = append(sel.filters, parseOFilter(f))
	}
	out := map[string]map[string]int{}
	for _, e := range sel.selectedEvents(p.cur()) {
		if e.Type != "custom" || e.Name != name {
			continue
		}
		for k, v := range e.Data {
			if out[k] == nil {
				out[k] = map[string]int{}
			}
			out[k][textOf(v)]++
		}
	}
	return out
}

// --- revenue -------------------------------------------------------------

// oRevenue is one key's revenue in one currency.
type oRevenue struct{ total, conversions, visitors int64 }

// revenue: the selected events of the period with revenue, summed per
// key of by and currency; visitors are the distinct visitors rows of
// their sessions. By goal, an event counts for every goal it matches.
func (o *oracle) revenue(p oPeriod, filters []string, by string) map[[2]string]oRevenue {
	sel := selection{o: o}
	for _, f := range filters {
		sel.filters = append(sel.filters, parseOFilter(f))
	}
	out := map[[2]string]oRevenue{}
	seen := map[[3]string]bool{}
	for _, e := range sel.selectedEvents(p.cur()) {
		if e.RevenueCurrency == "" {
			continue
		}
		s := o.byID[e.Session]
		var keys []string
		switch by {
		case "goal":
			for _, g := range o.goals {
				if g.matches(e) {
					keys = append(keys, g.Name)
				}
			}
		case "page":
			keys = []string{e.Path}
		case "referrer", "source", "channel":
			keys = []string{sessKey(s, by)}
		}
		for _, k := range keys {
			r := out[[2]string{k, e.RevenueCurrency}]
			r.total += e.RevenueAmount
			r.conversions++
			if v := [3]string{k, e.RevenueCurrency, s.Visitor}; !seen[v] {
				seen[v] = true
				r.visitors++
			}
			out[[2]string{k, e.RevenueCurrency}] = r
		}
	}
	return out
}

// --- summaries read directly -------------------------------------------

// summaryRows are a website's hourly summary rows.
type summaryRows struct {
	sums []struct {
		at                                                                     time.Time
		pageViews, visitors, newVisitors, returning, engaged, bounces, dur, js int
	}
	items []struct {
		at       time.Time
		dim, key string
		count    int
	}
}

func loadSummaries(t *testing.T, db dbx.Builder, site string) *summaryRows {
	t.Helper()
	var sums []struct {
		Date              string `db:"date"`
		PageViews         int    `db:"pageViews"`
		Visitors          int    `db:"visitors"`
		NewVisitors       int    `db:"newVisitors"`
		ReturningVisitors int    `db:"returningVisitors"`
		EngagedSessions   int    `db:"engagedSessions"`
		Bounces           int    `db:"bounces"`
		DurationSeconds   int    `db:"durationSeconds"`
		JSErrors          int    `db:"jsErrors"`
	}
	if err := db.NewQuery(`SELECT date, pageViews, visitors, newVisitors, returningVisitors, engagedSessions, bounces,
		durationSeconds, jsErrors FROM dash_sum WHERE website = {:w}`).Bind(dbx.Params{"w": site}).All(&sums); err != nil {
		t.Fatal(err)
	}
	var items []struct {
		Date      string `db:"date"`
		Dimension string `db:"dimension"`
		Key       string `db:"key"`
		Count     int    `db:"count"`
	}
	if err := db.NewQuery(`SELECT date, dimension, key, count FROM dash_sum_items WHERE website = {:w}`).
		Bind(dbx.Params{"w": site}).All(&items); err != nil {
		t.Fatal(err)
	}
	out := &summaryRows{}
	for _, s := range sums {
		out.sums = append(out.sums, struct {
			at                                                                     time.Time
			pageViews, visitors, newVisitors, returning, engaged, bounces, dur, js int
		}{rawrows.Time(t, s.Date), s.PageViews, s.Visitors, s.NewVisitors, s.ReturningVisitors, s.EngagedSessions,
			s.Bounces, s.DurationSeconds, s.JSErrors})
	}
	for _, it := range items {
		out.items = append(out.items, struct {
			at       time.Time
			dim, key string
			count    int
		}{rawrows.Time(t, it.Date), it.Dimension, it.Key, it.Count})
	}
	return out
}

// checkSummaries sums the hourly dash_sum rows over an unfiltered
// whole-hour period and its series steps, and the daily breakdown rows
// over a period of whole UTC days, and compares them with the oracle's
// raw figures: what the API serves from summaries must be what the rows
// say.
func checkSummaries(t *testing.T, label string, sr *summaryRows, want oReport) {
	t.Helper()
	p := want.period
	var got oTotals
	js := 0
	for _, s := range sr.sums {
		if p.cur().has(s.at) {
			got.pageViews += s.pageViews
			got.visitors += s.visitors
			got.newVisitors += s.newVisitors
			got.returning += s.returning
			got.engaged += s.engaged
			got.bounces += s.bounces
			got.duration += s.dur
			js += s.js
		}
	}
	if got != want.cur {
		t.Errorf("%s: summaries sum to %+v, raw rows say %+v", label, got, want.cur)
	}
	if js != want.jsErrors.cur {
		t.Errorf("%s: summaries hold %d JS errors, %d were sent", label, js, want.jsErrors.cur)
	}
	for _, pt := range want.series {
		end := p.to
		for i := range want.series {
			if want.series[i].at.Equal(pt.at) && i+1 < len(want.series) {
				end = want.series[i+1].at
			}
		}
		var pv, v int
		for _, s := range sr.sums {
			if (window{pt.at, end}).has(s.at) {
				pv += s.pageViews
				v += s.visitors
			}
		}
		if pv != pt.pageViews || v != pt.visitors {
			t.Errorf("%s: summaries of the step at %v: %d page views, %d visitors; raw rows say %d, %d",
				label, pt.at, pv, v, pt.pageViews, pt.visitors)
		}
	}
	// the breakdowns are daily per UTC day: comparable over whole UTC
	// days only (summarytest.Check compares every day)
	if cur := p.cur(); !cur.from.Equal(cur.from.UTC().Truncate(24*time.Hour)) || !cur.to.Equal(cur.to.UTC().Truncate(24*time.Hour)) {
		return
	}
	items := map[string]map[string]int{}
	for _, it := range sr.items {
		if p.cur().has(it.at) {
			if items[it.dim] == nil {
				items[it.dim] = map[string]int{}
			}
			items[it.dim][it.key] += it.count
		}
	}
	for dim, keys := range want.top {
		for k, n := range keys {
			if items[dim][k] != n {
				t.Errorf("%s: summaries count %s %q %d times, raw rows %d", label, dim, k, items[dim][k], n)
			}
		}
		for k, n := range items[dim] {
			if n != 0 && keys[k] == 0 {
				t.Errorf("%s: summaries count %s %q %d times, raw rows never", label, dim, k, n)
			}
		}
	}
}

func mustJSON(v any) string {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return strings.TrimSpace(b.String())
}
