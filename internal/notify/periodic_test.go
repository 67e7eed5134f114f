package notify_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// hourly stores a dash_sum row.
func (e *env) hourly(site *core.Record, hour time.Time, fields map[string]any) {
	e.t.Helper()
	f := map[string]any{"website": site.Id, "date": hour}
	for k, v := range fields {
		f[k] = v
	}
	pbtest.Save(e.t, e.app, schema.DashSum, f)
}

// hour9 is the hour the tests evaluate (from 10:05 UTC on).
var hour9 = time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)

func TestTrafficSpikeAndDrop(t *testing.T) {
	e := newEnv(t, 10)
	e.clock.Set(hour9.Add(time.Hour + 6*time.Minute))
	spiky := e.site
	exact := e.addSite("exact.example", e.owner.Id)
	quiet := e.addSite("quiet.example", e.owner.Id)
	dropping := e.addSite("drop.example", e.owner.Id)
	usual := func(site *core.Record, vs ...int) {
		for w, v := range vs {
			e.hourly(site, hour9.AddDate(0, 0, -7*(w+1)), map[string]any{"visitors": v})
		}
		// another weekday's hour does not count
		e.hourly(site, hour9.AddDate(0, 0, -1), map[string]any{"visitors": 1000})
	}
	usual(spiky, 10, 12, 8, 10)  // median 10
	usual(exact, 10, 10, 10, 10) // median 10
	usual(quiet, 2, 1, 3, 2)     // median 2: below the minimum
	usual(dropping, 10, 12, 8, 10)
	e.hourly(spiky, hour9, map[string]any{"visitors": 30})
	e.hourly(exact, hour9, map[string]any{"visitors": 19}) // below 2×
	e.hourly(quiet, hour9, map[string]any{"visitors": 50})
	e.hourly(dropping, hour9, map[string]any{"visitors": 5}) // exactly half
	spike := e.rule("traffic_spike", map[string]any{"recipientEmail": "a@example.com"})
	drop := e.rule("traffic_drop", map[string]any{"recipientEmail": "a@example.com"})
	e.evaluate()
	e.evaluate()
	if got := keys(e.deliveries(spike)); !slices.Equal(got, []string{"spike:" + spiky.Id + ":2026-11-18T09:00:00Z email pending"}) {
		t.Errorf("spikes %v", got)
	}
	if got := keys(e.deliveries(drop)); !slices.Equal(got, []string{"drop:" + dropping.Id + ":2026-11-18T09:00:00Z email pending"}) {
		t.Errorf("drops %v", got)
	}

	// the boundary: 20 is twice the median
	pbtest.Save(t, e.app, schema.DashSum, map[string]any{"website": exact.Id, "date": hour9.Add(time.Hour), "visitors": 20})
	for w := range 4 {
		e.hourly(exact, hour9.Add(time.Hour).AddDate(0, 0, -7*(w+1)), map[string]any{"visitors": 10})
	}
	e.clock.Add(time.Hour)
	e.evaluate()
	if got := e.deliveries(spike); len(got) != 2 || got[1].GetString("eventKey") != "spike:"+exact.Id+":2026-11-18T10:00:00Z" {
		t.Errorf("spike at exactly 2×: %v", keys(got))
	}
	if r := e.reload(spike); r.GetInt("triggerCount") != 2 {
		t.Errorf("triggerCount %d", r.GetInt("triggerCount"))
	}
}

func TestErrorThreshold(t *testing.T) {
	e := newEnv(t, 10)
	e.clock.Set(hour9.Add(time.Hour + 6*time.Minute))
	at := e.addSite("at.example", e.owner.Id)
	e.hourly(e.site, hour9, map[string]any{"jsErrors": 11})
	e.hourly(at, hour9, map[string]any{"jsErrors": 10})
	e.hourly(at, hour9.Add(time.Hour), map[string]any{"jsErrors": 500}) // the hour running: not yet
	rule := e.rule("error_threshold", map[string]any{"recipientEmail": "a@example.com", "threshold": 10})
	e.evaluate()
	e.evaluate()
	if got := keys(e.deliveries(rule)); !slices.Equal(got, []string{"errors:" + e.site.Id + ":2026-11-18T09:00:00Z email pending"}) {
		t.Errorf("deliveries %v", got)
	}
	e.deliver()
	msgs := drain(e.inbox)
	if len(msgs) != 1 {
		t.Fatalf("%d emails", len(msgs))
	}
	if subject, _, _ := bodies(t, msgs[0].Data); subject != "Skopos: 11 JS errors in an hour on shop.example" {
		t.Errorf("subject %q", subject)
	}
}

func TestTrackingStopped(t *testing.T) {
	e := newEnv(t, 10)
	testTrackingStopped(t, e, func(site *core.Record, at time.Time) { e.event(e.visit(site, at), "", "/", nil, at) })
}

// testTrackingStopped runs TestTrackingStopped on e, whose events visit
// stores (a page view of a new session).
func testTrackingStopped(t *testing.T, e *env, visit func(site *core.Record, at time.Time)) {
	usual := e.site
	rare := e.addSite("rare.example", e.owner.Id)
	last := time.Date(2026, 11, 18, 3, 30, 0, 0, time.UTC)
	for d := range 6 { // 6 of the last 7 days
		e.hourly(usual, last.Truncate(time.Hour).AddDate(0, 0, -d), map[string]any{"pageViews": 3, "visitors": 2})
	}
	for d := range 3 {
		e.hourly(rare, last.Truncate(time.Hour).AddDate(0, 0, -2*d), map[string]any{"pageViews": 3, "visitors": 2})
	}
	visit(usual, last)
	visit(rare, last)
	rule := e.rule("tracking_stopped", map[string]any{"recipientEmail": "a@example.com"})

	e.clock.Set(last.Add(6*time.Hour - time.Second))
	e.evaluate()
	if got := e.deliveries(rule); len(got) != 0 {
		t.Fatalf("before 6 hours: %v", keys(got))
	}
	e.clock.Set(last.Add(6 * time.Hour))
	e.evaluate()
	e.clock.Add(3 * time.Hour)
	e.evaluate()
	want := []string{"stopped:" + usual.Id + ":2026-11-18T03:30:00Z email pending"}
	if got := keys(e.deliveries(rule)); !slices.Equal(got, want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	// tracking resumes and stops again: a second notification
	again := e.clock.Now()
	visit(usual, again)
	e.clock.Add(7 * time.Hour)
	e.evaluate()
	if got := e.deliveries(rule); len(got) != 2 {
		t.Fatalf("a second stop: %v", keys(got))
	}
}

func TestDailySummary(t *testing.T) {
	e := newEnv(t, 10)
	day := time.Date(2026, 11, 17, 0, 0, 0, 0, time.UTC)
	e.hourly(e.site, day.Add(9*time.Hour), map[string]any{"pageViews": 7, "visitors": 3})
	e.hourly(e.site, day.Add(15*time.Hour), map[string]any{"pageViews": 5, "visitors": 2})
	rule := e.rule("daily_summary", map[string]any{"recipientEmail": "a@example.com"})
	e.clock.Set(day.Add(24*time.Hour + time.Minute)) // just after midnight: the day has not settled
	e.evaluate()
	if got := e.deliveries(rule); len(got) != 0 {
		t.Fatalf("before settling: %v", keys(got))
	}
	e.clock.Set(day.Add(24*time.Hour + 10*time.Minute))
	e.evaluate()
	e.clock.Add(time.Hour)
	e.evaluate()
	if got := keys(e.deliveries(rule)); !slices.Equal(got, []string{"daily:" + e.site.Id + ":2026-11-17 email pending"}) {
		t.Fatalf("deliveries %v", got)
	}
	e.deliver()
	msgs := drain(e.inbox)
	if len(msgs) != 1 {
		t.Fatalf("%d emails", len(msgs))
	}
	subject, text, _ := bodies(t, msgs[0].Data)
	if subject != "Skopos: daily summary of shop.example for 2026-11-17" || !strings.Contains(text, "page views: 12") {
		t.Errorf("subject %q text %q", subject, text)
	}
}
