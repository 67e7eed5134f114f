package uptime

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testclock"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

var t0 = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

// transitions records what OnTransition saw.
type transitions struct {
	mu   sync.Mutex
	seen []Transition
}

func (tr *transitions) add(x Transition) {
	tr.mu.Lock()
	tr.seen = append(tr.seen, x)
	tr.mu.Unlock()
}

func (tr *transitions) statuses() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []string
	for _, x := range tr.seen {
		out = append(out, x.Status)
	}
	return out
}

type env struct {
	t     *testing.T
	app   core.App
	clock *testclock.Clock
	tr    *transitions
}

func newEnv(t *testing.T) *env {
	srv := pbtest.Start(t, pbtest.Options{})
	return &env{t: t, app: srv.App(), clock: testclock.New(t0), tr: &transitions{}}
}

func (e *env) monitor(o MonitorOptions) *Monitor {
	if o.Client == nil {
		o.Client = localClient()
	}
	o.Now = e.clock.Now
	o.Logger = slog.New(slog.DiscardHandler)
	o.OnTransition = e.tr.add
	m := NewMonitor(e.app, o)
	e.t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// site saves a monitored website checking url every 60 s; fields
// override.
func (e *env) site(url string, fields map[string]any) *core.Record {
	f := map[string]any{"name": "site", "domain": "example.com", "url": url, "uptimeMonitoring": true, "uptimeCheckInterval": 60}
	for k, v := range fields {
		f[k] = v
	}
	return pbtest.Save(e.t, e.app, schema.Websites, f)
}

func (e *env) runDue(m *Monitor) {
	e.t.Helper()
	if err := m.RunDue(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// step moves the clock to site's next check (or leaves it, when the check
// is overdue) and runs what is due, returning the check's time.
func (e *env) step(m *Monitor, siteID string) time.Time {
	e.t.Helper()
	next := m.Next(siteID)
	if next.IsZero() {
		e.runDue(m) // the monitor has not seen the site yet
		next = m.Next(siteID)
	}
	if next.IsZero() {
		e.t.Fatalf("site %s is not scheduled", siteID)
	}
	if now := e.clock.Now(); next.Before(now) {
		next = now // overdue: the clock never goes back
	}
	e.clock.Set(next)
	e.runDue(m)
	return next
}

func (e *env) count(collection, siteID string) int {
	e.t.Helper()
	n, err := e.app.CountRecords(collection, dbx.HashExp{"website": siteID})
	if err != nil {
		e.t.Fatal(err)
	}
	return int(n)
}

func (e *env) fresh(siteID string) *core.Record {
	e.t.Helper()
	rec, err := e.app.FindRecordById(schema.Websites, siteID)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

func (e *env) incidents(siteID string) []*core.Record {
	e.t.Helper()
	rows, err := e.app.FindRecordsByFilter(schema.UptimeIncidents, "website = {:w}", "startTime", 0, 0, dbx.Params{"w": siteID})
	if err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func TestOutageOfThreeChecksIsOneIncidentWithItsDuration(t *testing.T) {
	e := newEnv(t)
	tg := newTarget()
	srv := serve(t, tg)
	site := e.site(srv.URL+"/", nil)
	updated := site.GetString("updated")
	m := e.monitor(MonitorOptions{})

	e.step(m, site.Id)
	if s := e.fresh(site.Id).GetString("currentStatus"); s != StatusUp {
		t.Fatalf("status %q after an up check", s)
	}
	tg.mode.Store(serveDown)
	first := e.step(m, site.Id)
	for i := 0; i < 2; i++ {
		if at := e.step(m, site.Id); at.Sub(first) != time.Duration(i+1)*time.Minute {
			t.Fatalf("down check %d at %v, want a minute after the last", i+2, at)
		}
	}
	rec := e.fresh(site.Id)
	if rec.GetString("currentStatus") != StatusDown || !rec.GetDateTime("lastUptimeCheck").Time().Equal(first.Add(2*time.Minute)) {
		t.Fatalf("after 3 down checks: status %q, last check %v", rec.GetString("currentStatus"), rec.GetDateTime("lastUptimeCheck"))
	}
	if got := e.tr.statuses(); !slices.Equal(got, []string{StatusDown}) {
		t.Fatalf("transitions %v, want [down]", got)
	}

	tg.mode.Store(serveUp)
	back := e.step(m, site.Id)
	if next := m.Next(site.Id); next.Sub(back) != DefaultRecheckDelay {
		t.Fatalf("re-check at %v, want %v after %v", next, DefaultRecheckDelay, back)
	}
	if s := e.fresh(site.Id).GetString("currentStatus"); s != StatusDown {
		t.Fatalf("status %q before the recovery is confirmed", s)
	}
	confirmed := e.step(m, site.Id)
	if next := m.Next(site.Id); next.Sub(first)%time.Minute != 0 || next.Sub(confirmed) > time.Minute {
		t.Errorf("after the re-check the next check is at %v: off the phase of %v", next, first)
	}

	in := e.incidents(site.Id)
	if len(in) != 1 {
		t.Fatalf("%d incidents, want 1", len(in))
	}
	want := confirmed.Sub(first).Milliseconds() // 3 minutes and the 15 s re-check
	if !in[0].GetBool("isResolved") || in[0].GetInt("duration") != int(want) || want != 195_000 ||
		!in[0].GetDateTime("startTime").Time().Equal(first) || !in[0].GetDateTime("endTime").Time().Equal(confirmed) ||
		in[0].GetString("error") != "HTTP 500" || in[0].GetInt("statusCode") != 500 {
		t.Errorf("incident %v, want resolved after %d ms", in[0].FieldsData(), want)
	}
	if got := e.tr.statuses(); !slices.Equal(got, []string{StatusDown, StatusUp}) {
		t.Errorf("transitions %v, want [down up]", got)
	}
	e.tr.mu.Lock()
	up := e.tr.seen[1]
	e.tr.mu.Unlock()
	if up.Incident.Id != in[0].Id || up.Site.Id != site.Id || !up.Check.GetBool("isUp") || up.Site.GetString("currentStatus") != StatusUp {
		t.Errorf("up transition %+v", up)
	}
	rec = e.fresh(site.Id)
	if rec.GetString("currentStatus") != StatusUp || rec.GetString("updated") != updated {
		t.Errorf("status %q, updated %q → %q (the website must not be saved)", rec.GetString("currentStatus"), updated, rec.GetString("updated"))
	}
	if n := e.count(schema.UptimeChecks, site.Id); n != 6 {
		t.Errorf("%d checks stored, want 6", n)
	}
}

func TestFailedRecheckKeepsTheIncidentOpen(t *testing.T) {
	e := newEnv(t)
	tg := newTarget()
	site := e.site(serve(t, tg).URL+"/", nil)
	m := e.monitor(MonitorOptions{RecheckDelay: 5 * time.Second})

	tg.mode.Store(serveDown)
	first := e.step(m, site.Id)
	tg.mode.Store(serveUp)
	back := e.step(m, site.Id)
	if m.Next(site.Id).Sub(back) != 5*time.Second {
		t.Fatalf("re-check at %v, want 5 s after %v", m.Next(site.Id), back)
	}
	tg.mode.Store(serveDown)
	e.step(m, site.Id) // the re-check fails
	in := e.incidents(site.Id)
	if len(in) != 1 || in[0].GetBool("isResolved") || e.fresh(site.Id).GetString("currentStatus") != StatusDown {
		t.Fatalf("after a failed re-check: %d incidents, resolved %v", len(in), len(in) > 0 && in[0].GetBool("isResolved"))
	}
	if got := e.tr.statuses(); !slices.Equal(got, []string{StatusDown}) {
		t.Fatalf("transitions %v, want [down]", got)
	}
	tg.mode.Store(serveUp)
	e.step(m, site.Id)
	end := e.step(m, site.Id)
	in = e.incidents(site.Id)
	if len(in) != 1 || !in[0].GetBool("isResolved") || in[0].GetInt("duration") != int(end.Sub(first).Milliseconds()) {
		t.Errorf("incidents %d, the first %v", len(in), in[0].FieldsData())
	}
	if got := e.tr.statuses(); !slices.Equal(got, []string{StatusDown, StatusUp}) {
		t.Errorf("transitions %v, want [down up]", got)
	}
}

func TestRestartResolvesTheOpenIncident(t *testing.T) {
	e := newEnv(t)
	tg := newTarget()
	site := e.site(serve(t, tg).URL+"/", nil)
	m1 := e.monitor(MonitorOptions{})
	tg.mode.Store(serveDown)
	first := e.step(m1, site.Id)
	e.step(m1, site.Id)
	if err := m1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	opened := e.incidents(site.Id)[0].Id

	tg.mode.Store(serveUp)
	m2 := e.monitor(MonitorOptions{})
	e.runDue(m2) // at the time of m1's last check: not again
	if n := e.count(schema.UptimeChecks, site.Id); n != 2 {
		t.Fatalf("%d checks: the restart checked again in the same slot", n)
	}
	e.step(m2, site.Id)
	end := e.step(m2, site.Id)
	in := e.incidents(site.Id)
	if len(in) != 1 || in[0].Id != opened || !in[0].GetBool("isResolved") || in[0].GetInt("duration") != int(end.Sub(first).Milliseconds()) {
		t.Fatalf("incidents %d (want the one opened, %s, resolved)", len(in), opened)
	}
	if got := e.tr.statuses(); !slices.Equal(got, []string{StatusDown, StatusUp}) {
		t.Errorf("transitions %v, want [down] from the first monitor and [up] from the second", got)
	}
}

func TestSkipsArchivedAndUnmonitoredSitesAndFollowsSettings(t *testing.T) {
	e := newEnv(t)
	a, b, c := newTarget(), newTarget(), newTarget()
	on := e.site(serve(t, a).URL+"/", nil)
	archived := e.site(serve(t, b).URL+"/", map[string]any{"isArchived": true})
	off := e.site(serve(t, c).URL+"/", map[string]any{"uptimeMonitoring": false})
	m := e.monitor(MonitorOptions{})
	e.runDue(m)
	e.clock.Add(time.Minute)
	e.runDue(m)
	if a.hits.Load() != 1 || b.hits.Load() != 0 || c.hits.Load() != 0 || !m.Next(archived.Id).IsZero() || !m.Next(off.Id).IsZero() {
		t.Fatalf("hits %d/%d/%d, want only the monitored site's", a.hits.Load(), b.hits.Load(), c.hits.Load())
	}

	// settings change: picked up at the next tick
	archived.Set("isArchived", false)
	archived.Set("uptimeCheckInterval", 120)
	off.Set("uptimeMonitoring", true)
	on.Set("uptimeMonitoring", false)
	for _, r := range []*core.Record{archived, off, on} {
		if err := e.app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	e.runDue(m)
	if !m.Next(on.Id).IsZero() || m.Next(archived.Id).IsZero() || m.Next(off.Id).IsZero() {
		t.Fatal("the schedule did not follow the settings")
	}
	if next := m.Next(archived.Id); next.Sub(e.clock.Now()) > 2*time.Minute || next.Sub(t0.Add(Offset(archived.Id, 2*time.Minute)))%(2*time.Minute) != 0 {
		t.Errorf("next check at %v: not on the 120 s schedule", next)
	}
	e.step(m, archived.Id)
	e.step(m, off.Id)
	if a.hits.Load() != 1 || b.hits.Load() == 0 || c.hits.Load() == 0 {
		t.Errorf("hits %d/%d/%d: want none more for the site switched off, some for the others", a.hits.Load(), b.hits.Load(), c.hits.Load())
	}

	// a new url is fetched at the next check
	d := newTarget()
	before := c.hits.Load()
	off.Set("url", serve(t, d).URL+"/")
	if err := e.app.Save(off); err != nil {
		t.Fatal(err)
	}
	e.step(m, off.Id)
	if d.hits.Load() != 1 || c.hits.Load() != before {
		t.Errorf("after the url changed: new %d, old %d more hits", d.hits.Load(), c.hits.Load()-before)
	}
}

func TestMaxInFlightBoundsConcurrentChecks(t *testing.T) {
	e := newEnv(t)
	tg := newTarget()
	srv := serve(t, tg)
	const sites = 6
	for i := 0; i < sites; i++ {
		e.site(fmt.Sprintf("%s/%d", srv.URL, i), nil)
	}
	m := e.monitor(MonitorOptions{MaxInFlight: 2})
	tg.mode.Store(serveHold)
	e.runDue(m) // schedules them all (none is due at t0 exactly)
	tg.hits.Store(0)
	e.clock.Add(time.Minute) // every site due
	done := make(chan error, 1)
	go func() { done <- m.RunDue(context.Background()) }()
	// the two held checks keep their slots: a leaked bound would start
	// the others beside them, which the peak below (over all 6) records
	testwait.Until(t, "two checks in flight", func() bool { return tg.cur.Load() == 2 })
	tg.Release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testwait.Timeout()):
		t.Fatal("RunDue did not return")
	}
	if tg.max.Load() != 2 || tg.hits.Load() != sites {
		t.Errorf("at most %d at once over %d checks, want 2 over %d", tg.max.Load(), tg.hits.Load(), sites)
	}
}

func TestJitterSpreadsSitesOverTheInterval(t *testing.T) {
	e := newEnv(t)
	tg := newTarget()
	srv := serve(t, tg)
	var ids []string
	for i := 0; i < 10; i++ {
		id := fmt.Sprintf("jittersite%05d", i)
		e.site(srv.URL+"/", map[string]any{"id": id, "uptimeCheckInterval": 300})
		ids = append(ids, id)
	}
	m := e.monitor(MonitorOptions{})
	e.runDue(m)
	var next []time.Time
	for _, id := range ids {
		n := m.Next(id)
		if n.Before(t0) || !n.Before(t0.Add(300*time.Second)) {
			t.Fatalf("site %s first checked at %v, outside the first interval", id, n)
		}
		next = append(next, n)
	}
	sorted := slices.SortedFunc(slices.Values(next), time.Time.Compare)
	if len(slices.CompactFunc(slices.Clone(sorted), time.Time.Equal)) != len(ids) {
		t.Fatalf("first checks %v: not distinct", sorted)
	}
	// each moment runs exactly its site, and the next round keeps the phase
	for i, at := range sorted {
		e.clock.Set(at)
		e.runDue(m)
		if got := tg.hits.Load(); got != int64(i+1) {
			t.Fatalf("at %v: %d checks, want %d", at, got, i+1)
		}
	}
	for i, id := range ids {
		if got := m.Next(id); !got.Equal(next[i].Add(300 * time.Second)) {
			t.Errorf("site %s next at %v, want %v", id, got, next[i].Add(300*time.Second))
		}
	}
}

func TestTLSCertificateExpiryIsStoredAndWarnedOncePerDay(t *testing.T) {
	e := newEnv(t)
	srv, client := tlsTarget(t, newTarget())
	expiry := srv.Certificate().NotAfter.UTC()
	site := e.site(srv.URL+"/", nil)
	var mu sync.Mutex
	var warned []time.Time
	e.clock.Set(expiry.Add(-10 * 24 * time.Hour).Truncate(24 * time.Hour))
	m := e.monitor(MonitorOptions{Client: client, OnCertExpiring: func(s *core.Record, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if s.Id == site.Id {
			warned = append(warned, at)
		}
	}})
	e.step(m, site.Id)
	e.step(m, site.Id)
	rec := e.fresh(site.Id)
	if !rec.GetDateTime("certExpiry").Time().Equal(expiry) {
		t.Errorf("certExpiry %v, want %v", rec.GetDateTime("certExpiry"), expiry)
	}
	var check struct {
		SSL bool `db:"ssl"`
	}
	if err := e.app.DB().NewQuery("SELECT ssl FROM " + schema.UptimeChecks + " WHERE website = {:w} LIMIT 1").
		Bind(dbx.Params{"w": site.Id}).One(&check); err != nil || !check.SSL {
		t.Errorf("check ssl %v (%v)", check.SSL, err)
	}
	e.clock.Add(24 * time.Hour)
	e.step(m, site.Id)
	mu.Lock()
	defer mu.Unlock()
	if len(warned) != 2 || !warned[0].Equal(expiry) {
		t.Errorf("warnings %v, want one on each of 2 days", warned)
	}
}

func TestStartRollsUpAtOnceAndCloseStops(t *testing.T) {
	e := newEnv(t)
	site := e.site("http://127.0.0.1:1/", nil)
	yesterday := time.Now().UTC().Add(-24 * time.Hour)
	pbtest.Save(t, e.app, schema.UptimeChecks, map[string]any{"website": site.Id, "isUp": true, "responseTime": 12, "timestamp": yesterday})
	m := NewMonitor(e.app, MonitorOptions{Client: localClient()}) // the real clock
	m.Start()
	m.Start()
	testwait.Until(t, "the first roll-up", func() bool { return e.count(schema.UptimeDays, site.Id) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
