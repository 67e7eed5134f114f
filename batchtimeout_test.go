package skopos_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// TestBatchTimeoutIsRetriedNotDropped: PocketBase answers "400 Batch
// transaction failed." when a batch outlives its timeout (the server
// stalled), naming no request. That is not a refusal of the data: the
// event is written by a later try, never dropped.
func TestBatchTimeoutIsRetriedNotDropped(t *testing.T) {
	t.Parallel()
	var creates atomic.Int32
	release := make(chan struct{}) // the stall lasts until the client has seen the timeout
	var releaseOnce sync.Once
	unstall := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unstall) // a failing test must not leave the server's transaction hanging
	srv := pbtest.Start(t, pbtest.Options{Setup: func(app core.App) error {
		s := app.Settings()
		s.Batch.Timeout = 1 // second
		if err := app.Save(s); err != nil {
			return err
		}
		app.OnRecordCreate(schema.Events).BindFunc(func(e *core.RecordEvent) error {
			if creates.Add(1) == 1 {
				<-release
				return errors.New("stalled")
			}
			return e.Next()
		})
		return nil
	}})
	site := srv.AddWebsite(t, "example.com")
	opts := options(srv, site.GetString("trackingId"))
	opts.Route = skopos.RouteBatch
	ctx := context.Background()
	c, err := skopos.Init(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = "203.0.113.9:1"
	browsertest.Headers(r.Header, "")
	if err := c.TrackAPIEvent(r, []byte(`{"type":"pageView","url":"https://example.com/"}`)); err != nil {
		t.Fatal(err)
	}
	// the writer's first try outlives the batch timeout: PocketBase
	// answers 400 naming no request, and the client schedules a retry
	testwait.Until(t, "the timed-out batch retried", func() bool { return c.Stats().Retries > 0 })
	unstall() // the stalled transaction ends, rolled back
	fctx, cancel := context.WithTimeout(ctx, testwait.Timeout())
	defer cancel()
	if err := c.FlushEvents(fctx); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	var n int
	_ = srv.App().DB().NewQuery("SELECT COUNT(*) FROM events").Row(&n)
	if n != 1 || st.Stored != 1 || len(st.Dropped) != 0 || st.Retries == 0 {
		t.Fatalf("events rows %d; stats stored %d, dropped %v, retries %d; want the event stored after a retry", n, st.Stored, st.Dropped, st.Retries)
	}
}

// TestBatchTimeoutOnEveryTryShrinksTheBatch: a server too slow for a
// batch of this size times it out at every try. Resending the same batch
// would never make progress; the writer halves its batches after a
// timeout until they pass, and everything is stored once. The server here
// times out every batch that creates more than 4 events, with the answer
// PocketBase gives when a batch outlives its timeout (a real timeout would
// take the test's time and, under -race, trips a data race inside
// PocketBase's batch handler).
func TestBatchTimeoutOnEveryTryShrinksTheBatch(t *testing.T) {
	t.Parallel()
	const events, fits = 20, 4
	var timedOut atomic.Int32
	srv := pbtest.Start(t, pbtest.Options{Setup: func(app core.App) error {
		app.OnBatchRequest().BindFunc(func(e *core.BatchRequestEvent) error {
			creates := 0
			for _, r := range e.Batch {
				if r.Method == http.MethodPost && strings.Contains(r.URL, "/"+schema.Events+"/") {
					creates++
				}
			}
			if creates > fits {
				timedOut.Add(1)
				return e.BadRequestError("Batch transaction failed.", errors.New("batch transaction timeout"))
			}
			return e.Next()
		})
		return nil
	}})
	site := srv.AddWebsite(t, "example.com")
	opts := options(srv, site.GetString("trackingId"))
	opts.Route = skopos.RouteBatch
	opts.BatchInterval = time.Hour // one flush below writes all of them
	ctx := context.Background()
	c, err := skopos.Init(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// bounded: a writer stuck on the batch would hold Shutdown forever
		sctx, cancel := context.WithTimeout(ctx, testwait.Timeout())
		defer cancel()
		_ = c.Shutdown(sctx)
	}()
	for i := range events {
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		r.RemoteAddr = "203.0.113.9:1"
		browsertest.Headers(r.Header, "")
		if err := c.TrackAPIEvent(r, fmt.Appendf(nil, `{"type":"pageView","url":"https://example.com/p%d"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, testwait.Timeout())
	defer cancel()
	if err := c.FlushEvents(fctx); err != nil {
		t.Fatalf("flush: %v (batches timed out: %d)", err, timedOut.Load())
	}
	st := c.Stats()
	var n int
	_ = srv.App().DB().NewQuery("SELECT COUNT(*) FROM events").Row(&n)
	if n != events || st.Stored != events || len(st.Dropped) != 0 || timedOut.Load() == 0 {
		t.Fatalf("events rows %d; stats stored %d, dropped %v; batches timed out %d; want all %d stored after smaller batches",
			n, st.Stored, st.Dropped, timedOut.Load(), events)
	}
}
