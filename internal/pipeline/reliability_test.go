package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

func TestConcurrentInstancesStoreEveryEventOnceWithoutDuplicates(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		const goroutines, visitors = 8, 50
		perG := 500
		if raceEnabled { // the same contention with half the volume
			perG = 250
		}
		a := e.start(t, pipeline.Config{})
		b := e.start(t, pipeline.Config{Batch: true, BatchInterval: 50 * time.Millisecond, MaxBatchSize: 37})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := a
				if g%2 == 1 {
					in = b
				}
				for i := range perG {
					v := (g*perG + i) % visitors
					in.browse(t, fmt.Sprintf("198.51.100.%d", v+1), chromeUA, pageView(fmt.Sprintf("/p/%d", i%7)))
				}
			}()
		}
		wg.Wait()
		flush(t, a.p)
		flush(t, b.p)

		app := e.app()
		if n := count(t, app, schema.Events, nil); n != goroutines*perG {
			t.Errorf("events = %d, want %d", n, goroutines*perG)
		}
		if n := count(t, app, schema.Visitors, nil); n != visitors {
			t.Errorf("visitors = %d, want %d (one row per visitor)", n, visitors)
		}
		if n := count(t, app, schema.Sessions, nil); n != visitors {
			t.Errorf("sessions = %d, want %d (one per visitor: all events are within the timeout)", n, visitors)
		}
		var total int
		if err := app.DB().Select("COALESCE(SUM(eventCount),0)").From(schema.Sessions).Row(&total); err != nil {
			t.Fatal(err)
		}
		if total != goroutines*perG {
			t.Errorf("sum of sessions.eventCount = %d, want %d", total, goroutines*perG)
		}
		sa, sb := a.p.Stats(), b.p.Stats()
		if sa.Stored+sb.Stored != uint64(goroutines*perG) {
			t.Errorf("stats stored %d + %d, want %d", sa.Stored, sb.Stored, goroutines*perG)
		}
		t.Logf("conflicts resolved: %d + %d", sa.Conflicts, sb.Conflicts)
	})
}

func TestNewInstanceContinuesAnOpenSession(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		first := e.start(t, pipeline.Config{})
		first.browse(t, "203.0.113.9", chromeUA, pageView("/a"))
		if err := first.p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		second := e.start(t, pipeline.Config{}) // a restart: empty cache
		second.browse(t, "203.0.113.9", chromeUA, pageView("/b"))
		flush(t, second.p)

		ss := sessions(t, e.app())
		if len(ss) != 1 {
			t.Fatalf("sessions = %d, want 1 (continued): %+v", len(ss), ss)
		}
		if s := ss[0]; s.EntryPath != "/a" || s.ExitPath != "/b" || s.EventCount != 2 || !s.IsEngaged {
			t.Errorf("continued session = %+v; want /a → /b, 2 events, engaged", s)
		}
	})
}

func TestJSErrorsAttachToTheOpenSessionAndNeverOpenOne(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		in := e.start(t, pipeline.Config{})
		jsErr := `{"type":"jsError","url":"https://example.com/app?x=1","errorMessage":"TypeError: x is undefined","stackTrace":"TypeError: x is undefined\n    at f (https://example.com/app.js:1:2)"}`
		in.browse(t, "203.0.113.20", chromeUA, jsErr) // no session yet: stays without one
		in.browse(t, "203.0.113.21", chromeUA, pageView("/app"))
		in.browse(t, "203.0.113.21", chromeUA, jsErr)
		in.browse(t, "203.0.113.21", chromeUA, jsErr)
		flush(t, in.p)

		app := e.app()
		if n := count(t, app, schema.Sessions, nil); n != 1 {
			t.Errorf("sessions = %d, want 1 (a JS error never opens one)", n)
		}
		if s := sessions(t, app)[0]; s.EventCount != 1 || s.IsEngaged {
			t.Errorf("session after JS errors = %+v; JS errors must not count or engage", s)
		}
		if n := count(t, app, schema.Events, nil); n != 1 {
			t.Errorf("events = %d, want 1 (JS errors are not events)", n)
		}
		var rows []struct {
			Count   int    `db:"count"`
			Session string `db:"session"`
			URL     string `db:"url"`
		}
		if err := app.DB().Select("count", "session", "url").From(schema.JSErrors).All(&rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Count != 3 || rows[0].URL != "/app" || rows[0].Session != sessions(t, app)[0].ID {
			t.Errorf("js_errors = %+v; want one group counted 3 times, url /app, attached to the open session", rows)
		}
		if st := in.p.Stats(); st.JSErrors != 3 || st.QueueDepth != 0 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestShutdownWritesEverythingQueued(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		in := e.start(t, pipeline.Config{Batch: true, BatchInterval: time.Hour, MaxBatchSize: 1000})
		for i := range 250 {
			in.browse(t, fmt.Sprintf("192.0.2.%d", i%20+1), chromeUA, pageView("/"))
		}
		ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
		defer cancel()
		if err := in.p.Close(ctx); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := count(t, e.app(), schema.Events, nil); n != 250 {
			t.Errorf("events after Close = %d, want 250", n)
		}
		if err := in.p.Close(ctx); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
		err := in.p.TrackBrowser(nil, []byte(pageView("/")), nil)
		if !errors.Is(err, pipeline.ErrClosed) {
			t.Errorf("TrackBrowser after Close = %v, want ErrClosed", err)
		}
		if st := in.p.Stats(); st.Dropped[pipeline.ReasonClosed] != 1 {
			t.Errorf("closed drops = %d, want 1", st.Dropped[pipeline.ReasonClosed])
		}
	})
}

func TestPocketBaseOutageLosesNothing(t *testing.T) {
	t.Parallel()
	srvEnv := func(t *testing.T) *env {
		var e *env
		forEachStoreKind(t, "rest", func(_ *testing.T, got *env) { e = got })
		return e
	}
	e := srvEnv(t)
	in := e.start(t, pipeline.Config{QueueSize: 20000})
	before, during, after := 300, 1000, 300
	if raceEnabled { // half the volume, 50 addresses in each part
		before, during, after = 150, 500, 150
	}
	for i := range before {
		in.browse(t, fmt.Sprintf("192.0.2.%d", i%50+1), chromeUA, pageView("/before"))
	}
	flush(t, in.p)
	e.srv.Stop()
	for i := range during {
		in.browse(t, fmt.Sprintf("192.0.2.%d", i%50+1), chromeUA, pageView("/during"))
	}
	// the outage lasts until the writer has failed and backed off several
	// times: what it holds must survive retries, not one lucky attempt
	testwait.Until(t, "several failed writes during the outage", func() bool { return in.p.Stats().Retries >= 4 })
	e.srv.Restart()
	for i := range after {
		in.browse(t, fmt.Sprintf("192.0.2.%d", i%50+1), chromeUA, pageView("/after"))
	}
	flush(t, in.p)

	app := e.app()
	for path, want := range map[string]int{"/before": before, "/during": during, "/after": after} {
		if n := count(t, app, schema.Events, dbx.HashExp{"path": path}); n != want {
			t.Errorf("events on %s = %d, want %d", path, n, want)
		}
	}
	st := in.p.Stats()
	if st.Retries == 0 {
		t.Error("no retries counted during the outage")
	}
	if len(st.Dropped) != 0 {
		t.Errorf("dropped = %v, want none", st.Dropped)
	}
	if n := count(t, app, schema.Sessions, nil); n != 50 {
		t.Errorf("sessions = %d, want 50 (the outage must not split sessions)", n)
	}
}

func TestShutdownWithPocketBaseGoneReportsWhatWasNotWritten(t *testing.T) {
	t.Parallel()
	var e *env
	forEachStoreKind(t, "rest", func(_ *testing.T, got *env) { e = got })
	in := e.start(t, pipeline.Config{Batch: true, BatchInterval: time.Hour, MaxBatchSize: 1000})
	for range 42 {
		in.browse(t, "192.0.2.77", chromeUA, pageView("/"))
	}
	e.srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := in.p.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "42 events not written") {
		t.Fatalf("Close = %v; want an error saying 42 events not written", err)
	}
	// bounded by the deadline, not by the retries (which would go on for
	// as long as PocketBase is gone); the margin is for a busy machine
	if d := time.Since(start); d > testwait.Scale(10*time.Second) {
		t.Errorf("Close took %v with a 2s deadline", d)
	}
	if st := in.p.Stats(); st.Dropped[pipeline.ReasonUnwritten] != 42 {
		t.Errorf("unwritten = %d, want 42", st.Dropped[pipeline.ReasonUnwritten])
	}
}
