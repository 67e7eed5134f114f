package uptime

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// synthetic history: 40 days of hourly checks (some missing, some down)
// and incidents, one across midnight and one still open.
type rawCheck struct {
	at time.Time
	up bool
	ms float64
}

type rawIncident struct {
	start, end time.Time // end zero: open
}

func TestRollUpEqualsTheRawChecksAndKeepsTheReport(t *testing.T) {
	e := newEnv(t)
	site := e.site("http://127.0.0.1:1/", nil)
	now := time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC) // a midnight: the 90-day window is whole days
	rng := rand.New(rand.NewPCG(1, 2))
	var checks []rawCheck
	for at := now.Add(-40 * day); at.Before(now); at = at.Add(time.Hour) {
		if rng.IntN(10) == 0 {
			continue
		}
		checks = append(checks, rawCheck{at: at, up: rng.IntN(6) != 0, ms: float64(rng.IntN(900)) + 0.5})
	}
	incidents := []rawIncident{
		{now.Add(-35*day + 3*time.Hour), now.Add(-35*day + 5*time.Hour)},
		{now.Add(-20*day - 2*time.Hour), now.Add(-19*day + 7*time.Hour)}, // across midnight
		{now.Add(-3 * time.Hour), time.Time{}},                           // open
	}
	err := e.app.RunInTransaction(func(tx core.App) error {
		for _, c := range checks {
			pbtest.Save(t, tx, schema.UptimeChecks, map[string]any{"website": site.Id, "isUp": c.up, "responseTime": c.ms, "timestamp": c.at})
		}
		for _, in := range incidents {
			f := map[string]any{"website": site.Id, "startTime": in.start, "isResolved": !in.end.IsZero()}
			if !in.end.IsZero() {
				f["endTime"] = in.end
				f["duration"] = in.end.Sub(in.start).Milliseconds()
			}
			pbtest.Save(t, tx, schema.UptimeIncidents, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	site = e.fresh(site.Id)
	before, err := Read(e.app, site, 90*day, now)
	if err != nil {
		t.Fatal(err)
	}

	if err := RollUp(context.Background(), e.app, now, 30*day); err != nil {
		t.Fatal(err)
	}

	// every day, computed here from the synthetic history
	for d := now.Add(-40 * day); d.Before(now); d = d.Add(day) {
		var n, up, started int
		var times []float64
		var down time.Duration
		for _, c := range checks {
			if !c.at.Before(d) && c.at.Before(d.Add(day)) {
				n++
				if c.up {
					up++
					times = append(times, c.ms)
				}
			}
		}
		for _, in := range incidents {
			end := in.end
			if end.IsZero() {
				end = now
			}
			if !in.start.Before(d) && in.start.Before(d.Add(day)) {
				started++
			}
			if s, e := later(in.start, d), earlier(end, d.Add(day)); e.After(s) {
				down += e.Sub(s)
			}
		}
		slices.Sort(times)
		avg, p95 := 0.0, 0.0
		for _, x := range times {
			avg += x / float64(len(times))
		}
		if len(times) > 0 {
			p95 = times[int(math.Ceil(float64(len(times))*95/100))-1]
		}
		row, err := e.app.FindFirstRecordByFilter(schema.UptimeDays, "website = {:w} && date = {:d}", dbx.Params{"w": site.Id, "d": dbTime(d)})
		if n == 0 {
			if err == nil {
				t.Errorf("%s: a row without checks", d.Format(time.DateOnly))
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: no row: %v", d.Format(time.DateOnly), err)
		}
		if row.GetInt("checks") != n || row.GetInt("upChecks") != up || row.GetInt("incidents") != started ||
			math.Abs(row.GetFloat("avgResponseTime")-avg) > 1e-6 || row.GetFloat("p95ResponseTime") != p95 ||
			int64(row.GetInt("downtime")) != down.Milliseconds() {
			t.Errorf("%s: row %v, want checks %d up %d avg %.3f p95 %.1f incidents %d downtime %d",
				d.Format(time.DateOnly), row.FieldsData(), n, up, avg, p95, started, down.Milliseconds())
		}
	}

	// raw checks of the days before the retention are gone, the rest kept
	var kept []struct {
		Oldest string `db:"oldest"`
		N      int    `db:"n"`
	}
	if err := e.app.DB().NewQuery("SELECT MIN(timestamp) AS oldest, COUNT(*) AS n FROM " + schema.UptimeChecks).All(&kept); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, c := range checks {
		if !c.at.Before(now.Add(-30 * day)) {
			want++
		}
	}
	if kept[0].N != want || kept[0].Oldest < dbTime(now.Add(-30*day)) {
		t.Errorf("%d raw checks kept from %s, want %d from %s", kept[0].N, kept[0].Oldest, want, dbTime(now.Add(-30*day)))
	}

	after, err := Read(e.app, site, 90*day, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range Windows {
		b, a := before.Uptime[w.Name], after.Uptime[w.Name]
		if b == nil || a == nil || math.Abs(*a-*b) > 1e-9 {
			t.Errorf("uptime %s: %v before the pruning, %v after", w.Name, deref(b), deref(a))
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestRollUpRewritesTodayAndKeepsFinalDays(t *testing.T) {
	e := newEnv(t)
	site := e.site("http://127.0.0.1:1/", nil)
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	save := func(at time.Time) {
		pbtest.Save(t, e.app, schema.UptimeChecks, map[string]any{"website": site.Id, "isUp": true, "responseTime": 10, "timestamp": at})
	}
	checksOf := func(d time.Time) int {
		row, err := e.app.FindFirstRecordByFilter(schema.UptimeDays, "website = {:w} && date = {:d}", dbx.Params{"w": site.Id, "d": dbTime(d)})
		if err != nil {
			t.Fatalf("no row for %v: %v", d, err)
		}
		return row.GetInt("checks")
	}
	today, yesterday := now.Truncate(day), now.Truncate(day).Add(-day)
	save(yesterday.Add(time.Hour))
	save(today.Add(time.Hour))
	if err := RollUp(context.Background(), e.app, now, 0); err != nil {
		t.Fatal(err)
	}
	save(today.Add(2 * time.Hour))
	save(yesterday.Add(2 * time.Hour)) // late: yesterday is final
	if err := RollUp(context.Background(), e.app, now.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if checksOf(today) != 2 || checksOf(yesterday) != 1 {
		t.Errorf("today %d checks (want 2, rewritten), yesterday %d (want 1, final)", checksOf(today), checksOf(yesterday))
	}
	// the day that was today is written once more after it ended
	save(today.Add(23 * time.Hour))
	if err := RollUp(context.Background(), e.app, today.Add(day+finalMargin+time.Minute), 0); err != nil {
		t.Fatal(err)
	}
	if checksOf(today) != 3 {
		t.Errorf("the finished day has %d checks, want 3", checksOf(today))
	}
}
