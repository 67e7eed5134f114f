package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store/storetest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
	"go.uber.org/goleak"
)

// TestCloseStopsTheWorkerWhenTheDeadlinePassesMidWrite makes the store
// hang inside a write and closes the pipeline with a short deadline: Close
// must return, report the unwritten events by count, count them as
// dropped, and leave no goroutine behind. It runs alone (no t.Parallel):
// the goroutine check sees the whole process. The in-process store is
// used because the pipeline owns no connections; the SDK's own check
// (package skopos) covers the REST store and its connections.
func TestCloseStopsTheWorkerWhenTheDeadlinePassesMidWrite(t *testing.T) {
	for _, mode := range []string{"worker's own flush", "a Flush call"} {
		t.Run(mode, func(t *testing.T) {
			forEachStoreKind(t, "local", func(t *testing.T, e *env) {
				before := goleak.IgnoreCurrent()
				cfg := pipeline.Config{} // without Batch: the worker writes at once
				if mode == "a Flush call" {
					cfg = pipeline.Config{Batch: true, BatchInterval: time.Hour, MaxBatchSize: 1000}
				}
				in, faulty := e.startFaulty(t, cfg)
				hang := faulty.Fail(&storetest.Rule{Match: storetest.Collection(schema.Events), Fault: storetest.Hang})
				const n = 7
				for i := range n {
					in.browse(t, fmt.Sprintf("192.0.2.%d", i+1), chromeUA, pageView("/"))
				}
				flushed := make(chan error, 1)
				if mode == "a Flush call" {
					go func() { flushed <- in.p.Flush(context.Background()) }()
				}
				testwait.Until(t, "the store to hang in a write", func() bool { return hang.Hits() > 0 })

				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				err := in.p.Close(ctx)
				var ue *pipeline.UnwrittenError
				if !errors.As(err, &ue) || ue.Events != n {
					t.Fatalf("Close = %v; want an *UnwrittenError with %d events", err, n)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Close = %v; want it to wrap context.DeadlineExceeded", err)
				}
				if again := in.p.Close(context.Background()); again != err {
					t.Errorf("second Close = %v; want the first result %v", again, err)
				}
				st := in.p.Stats()
				if st.Dropped[pipeline.ReasonUnwritten] != n || st.QueueDepth != 0 || st.Stored != 0 {
					t.Errorf("stats = %+v; want %d unwritten, queue empty, nothing stored", st, n)
				}
				if mode == "a Flush call" {
					if err := <-flushed; err == nil {
						t.Error("the interrupted Flush returned nil")
					}
				}
				goleak.VerifyNone(t, before)
			})
		})
	}
}
