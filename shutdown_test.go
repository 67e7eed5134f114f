package skopos_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"go.uber.org/goleak"
)

// TestShutdownLeavesNothingRunningWhenPocketBaseHangs makes PocketBase
// hang inside the SDK's batch write and shuts the client down with a short
// deadline: Shutdown returns, names the unwritten events by count, and no
// goroutine of the client (worker, settings sync, realtime, connections)
// is left. It runs alone (no t.Parallel): the check sees the whole process.
func TestShutdownLeavesNothingRunningWhenPocketBaseHangs(t *testing.T) {
	var hang atomic.Bool
	var entered atomic.Int32
	release := make(chan struct{})
	srv := pbtest.Start(t, pbtest.Options{Setup: func(app core.App) error {
		app.OnBatchRequest().BindFunc(func(e *core.BatchRequestEvent) error {
			if !hang.Load() {
				return e.Next()
			}
			entered.Add(1)
			<-release
			return errors.New("released after the test")
		})
		return nil
	}})
	site := srv.AddWebsite(t, "example.com")
	before := goleak.IgnoreCurrent()

	c, err := skopos.Init(context.Background(), options(srv, site.GetString("trackingId")))
	if err != nil {
		t.Fatal(err)
	}
	hang.Store(true)
	const n = 5
	for range n {
		r := httptest.NewRequest(http.MethodPost, "/signup", nil)
		r.RemoteAddr = "203.0.113.5:4000"
		r.Header.Set("User-Agent", "curl/8.5.0")
		if err := c.TrackServerEvent(r, "signup", nil); err != nil {
			t.Fatal(err)
		}
	}
	testwait.Until(t, "the SDK to reach PocketBase's batch endpoint", func() bool { return entered.Load() > 0 })

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = c.Shutdown(ctx)
	close(release)
	var ue *skopos.UnwrittenError
	if !errors.As(err, &ue) || ue.Events != n {
		t.Fatalf("Shutdown = %v; want an *UnwrittenError with %d events", err, n)
	}
	if again := c.Shutdown(context.Background()); again != err {
		t.Errorf("second Shutdown = %v; want the first result", again)
	}
	if got := c.Stats().Dropped["unwritten"]; got != n {
		t.Errorf(`Stats().Dropped["unwritten"] = %d, want %d`, got, n)
	}
	goleak.VerifyNone(t, before)
}
