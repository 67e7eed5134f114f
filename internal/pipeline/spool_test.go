package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/store/storetest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// spoolTraffic sends page views, custom events and JS errors from a few
// visitors; it returns how many events rows and JS error occurrences
// they make.
func spoolTraffic(t *testing.T, in *instance, round int) (events, jsErrors int) {
	t.Helper()
	jsErr := `{"type":"jsError","url":"https://example.com/app","errorMessage":"TypeError: boom","stackTrace":"TypeError: boom\n    at f (https://example.com/app.js:1:2)"}`
	for v := range 5 {
		ip := fmt.Sprintf("198.51.100.%d", v+1)
		in.browse(t, ip, chromeUA, pageView(fmt.Sprintf("/r%d/a", round)))
		in.browse(t, ip, chromeUA, `{"type":"custom","name":"signup","url":"https://example.com/r/a"}`)
		in.browse(t, ip, chromeUA, jsErr)
		in.browse(t, ip, chromeUA, pageView(fmt.Sprintf("/r%d/b", round)))
		events += 3
		jsErrors++
	}
	return events, jsErrors
}

func jsTotal(t *testing.T, e *env) int {
	t.Helper()
	var n int
	if err := e.app().DB().Select("COALESCE(SUM(count),0)").From(schema.JSErrors).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplayAfterCommitBeforeCheckpointCountsNothingTwice recreates the
// crash window between the store's commit and the intake log's
// checkpoint: the log's checkpoint is lost, so a restart reads every
// record again. The store's committed position, written in the same
// transactions as the data, must make the replay skip all of them.
func TestReplayAfterCommitBeforeCheckpointCountsNothingTwice(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		e.spoolDir = t.TempDir()
		first := e.start(t, pipeline.Config{Batch: true, BatchInterval: time.Hour, MaxBatchSize: 7})
		ev1, js1 := spoolTraffic(t, first, 1)
		flush(t, first.p)
		if err := first.stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(e.spoolDir, "checkpoint")); err != nil {
			t.Fatal(err)
		}

		second := e.start(t, pipeline.Config{Batch: true, BatchInterval: time.Hour, MaxBatchSize: 7})
		ev2, js2 := spoolTraffic(t, second, 2)
		flush(t, second.p)
		if n := count(t, e.app(), schema.Events, nil); n != ev1+ev2 {
			t.Errorf("events = %d, want %d (a replayed record stored twice?)", n, ev1+ev2)
		}
		if n := jsTotal(t, e); n != js1+js2 {
			t.Errorf("Σ js_errors.count = %d, want %d", n, js1+js2)
		}
		checkSummaries(t, e.app(), "after the replay")
		st := second.p.Stats()
		if st.Replayed != uint64(ev1+js1) || st.Stored != uint64(ev2) {
			t.Errorf("stats = %+v; want %d replayed and skipped, %d stored", st, ev1+js1, ev2)
		}
	})
}

// TestStoreDownWithSpoolLosesNothing: PocketBase is stopped for the whole
// life of a first instance, which accepts events and is closed; a second
// instance on the same intake log, with PocketBase back, stores every one
// of them exactly once.
func TestStoreDownWithSpoolLosesNothing(t *testing.T) {
	t.Parallel()
	var e *env
	forEachStoreKind(t, "rest", func(_ *testing.T, got *env) { e = got })
	e.spoolDir = t.TempDir()
	e.srv.Stop()
	first := e.start(t, pipeline.Config{})
	ev, js := spoolTraffic(t, first, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := first.stop(ctx)
	var ue *pipeline.UnwrittenError
	if !errors.As(err, &ue) || !ue.Spooled || ue.Events != ev+js || !strings.Contains(err.Error(), "kept in the spool") {
		t.Fatalf("Close with PocketBase down = %v; want %d events kept in the spool", err, ev+js)
	}
	if d := first.p.Stats().Dropped; len(d) != 0 {
		t.Errorf("dropped = %v; a spooled event is not lost", d)
	}

	e.srv.Restart()
	second := e.start(t, pipeline.Config{})
	flush(t, second.p)
	if n := count(t, e.app(), schema.Events, nil); n != ev {
		t.Errorf("events = %d, want %d", n, ev)
	}
	if n := jsTotal(t, e); n != js {
		t.Errorf("Σ js_errors.count = %d, want %d", n, js)
	}
	if n := count(t, e.app(), schema.Sessions, nil); n != 5 {
		t.Errorf("sessions = %d, want 5", n)
	}
	checkSummaries(t, e.app(), "after the restart")
}

// TestSpoolBudgetRefusesWith503 fills a tiny intake log while the store is
// refusing writes: events within the budget are accepted and later stored,
// the first one over it gets 503 with Retry-After and is counted as
// spool_full.
func TestSpoolBudgetRefusesWith503(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, "local", func(t *testing.T, e *env) {
		body := pageView("/budget")
		// small segments, so that checkpointed ones are deleted soon
		log, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 10 * 1024, SegmentBytes: 1024})
		if err != nil {
			t.Fatal(err)
		}
		in, faulty := e.startFaulty(t, pipeline.Config{Spool: log})
		// the store refuses every write until the log is full
		hold := faulty.Fail(&storetest.Rule{Match: storetest.Collection(schema.Events), Fault: storetest.Transient})
		h := pipeline.Handler(in.p, func(string) *pipeline.Site { return in.site })
		post := func() int {
			r := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(body))
			r.RemoteAddr = "203.0.113.77:5000"
			browsertest.Headers(r.Header, chromeUA)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			return w.Code
		}
		accepted := 0
		code := post()
		for ; code == http.StatusNoContent; code = post() {
			accepted++
			if accepted > 1000 {
				t.Fatal("a 10 KiB intake log never filled")
			}
		}
		if accepted == 0 || code != http.StatusServiceUnavailable {
			t.Fatalf("accepted %d, then %d; want some accepted, then 503", accepted, code)
		}
		if st := in.p.Stats(); st.Dropped[pipeline.ReasonSpoolFull] != 1 {
			t.Errorf("spool_full = %d, want 1", st.Dropped[pipeline.ReasonSpoolFull])
		}
		hold.Stop() // the store recovers
		flush(t, in.p)
		if n := count(t, e.app(), schema.Events, dbx.HashExp{"path": "/budget"}); n != accepted {
			t.Errorf("events = %d, want the %d accepted", n, accepted)
		}
		testwait.Until(t, "the budget to be free again", func() bool { return post() == http.StatusNoContent })
	})
}
