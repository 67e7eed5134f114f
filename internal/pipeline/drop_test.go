package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/storetest"
	"github.com/skopos-go/skopos/schema"
)

// startFaulty starts an instance whose store fails what the test asks.
func (e *env) startFaulty(t *testing.T, cfg pipeline.Config) (*instance, *storetest.Faulty) {
	t.Helper()
	var f *storetest.Faulty
	inner := e.newSt
	e.newSt = func() store.Store { f = storetest.Wrap(inner()); return f }
	defer func() { e.newSt = inner }()
	return e.start(t, cfg), f
}

// rule is a storetest.Rule's settings (a Rule itself holds its hit count,
// so each store's run gets a fresh one).
type rule struct {
	Match func(store.Op) bool
	Fault storetest.Fault
	Times int
}

// TestEveryDropPathCountsExactlyWhatItDrops makes the store refuse one
// kind of write at a time and checks that the events the pipeline drops
// are counted once, as "permanent", that every other event is stored, and
// that the summaries still equal the raw rows.
func TestEveryDropPathCountsExactlyWhatItDrops(t *testing.T) {
	t.Parallel()
	const visitors, perVisitor = 3, 3
	jsErr := `{"type":"jsError","url":"https://example.com/app","errorMessage":"TypeError: boom","stackTrace":"TypeError: boom\n    at f (https://example.com/app.js:1:2)"}`
	tests := []struct {
		name string
		rule rule
		// what the second flush must end with
		dropped, jsDropped  int
		missingPath         string // an event path that must not be stored
		conflicts, retries  bool   // at least one conflict / retry counted
		permanentStoreErrs  int
		summariesIncomplete bool // a refused summary row: the day's counters miss its delta
	}{
		{name: "event refused", rule: rule{Match: storetest.Field(schema.Events, "path", "/v1/p1"), Fault: storetest.Permanent},
			dropped: 1, missingPath: "/v1/p1", permanentStoreErrs: 1},
		{name: "new visitor refused drops that visitor's events", rule: rule{Match: storetest.Collection(schema.Visitors), Fault: storetest.Permanent, Times: 1},
			dropped: perVisitor, permanentStoreErrs: 1},
		{name: "new session refused drops that session's events", rule: rule{Match: storetest.Collection(schema.Sessions), Fault: storetest.Permanent, Times: 1},
			dropped: perVisitor, permanentStoreErrs: 1},
		{name: "session update refused drops the events that advanced it", rule: rule{Match: func(op store.Op) bool {
			return op.Collection == schema.Sessions && op.Action == store.Update
		}, Fault: storetest.Permanent, Times: 1},
			dropped: perVisitor, permanentStoreErrs: 1},
		{name: "JS error group refused drops its occurrences", rule: rule{Match: storetest.Collection(schema.JSErrors), Fault: storetest.Permanent},
			jsDropped: 2, permanentStoreErrs: 1},
		{name: "summary row refused drops no event", rule: rule{Match: storetest.Collection(schema.DashSum), Fault: storetest.Permanent, Times: 1},
			permanentStoreErrs: 1, summariesIncomplete: true},
		{name: "unnamed refusal is split until the culprit stands alone", rule: rule{Match: storetest.Field(schema.Events, "path", "/v2/p2"), Fault: storetest.PermanentUnnamed},
			dropped: 1, missingPath: "/v2/p2", permanentStoreErrs: 1},
		{name: "transient failures are retried, nothing dropped", rule: rule{Match: storetest.Collection(schema.Events), Fault: storetest.Transient, Times: 2},
			retries: true},
		{name: "a lost reply is not written twice", rule: rule{Match: storetest.Collection(schema.Events), Fault: storetest.LostReply, Times: 1},
			retries: true},
		{name: "another writer's visitor first is a resolved conflict", rule: rule{Match: storetest.Collection(schema.Visitors), Fault: storetest.Unique, Times: 1},
			conflicts: true},
	}
	for _, tc := range tests {
		for _, mode := range []string{"memory", "intake log"} {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				forEachStore(t, func(t *testing.T, e *env) {
					if mode == "intake log" {
						e.spoolDir = t.TempDir()
					}
					in, faulty := e.startFaulty(t, pipeline.Config{Batch: true, BatchInterval: time.Hour, MaxBatchSize: 1000})
					ip := func(v int) string { return fmt.Sprintf("198.51.100.%d", v+1) }
					// a first flush gives visitor 0 an open session, so that
					// the second one updates an existing session
					in.browse(t, ip(0), chromeUA, pageView("/v0/warm"))
					flush(t, in.p)

					rule := faulty.Fail(&storetest.Rule{Match: tc.rule.Match, Fault: tc.rule.Fault, Times: tc.rule.Times})
					for i := range perVisitor {
						for v := range visitors {
							in.browse(t, ip(v), chromeUA, pageView(fmt.Sprintf("/v%d/p%d", v, i)))
						}
					}
					in.browse(t, ip(1), chromeUA, jsErr)
					in.browse(t, ip(2), chromeUA, jsErr)
					flush(t, in.p)

					if rule.Hits() == 0 {
						t.Fatal("the fault never fired; the test proves nothing")
					}
					total := 1 + visitors*perVisitor
					st := in.p.Stats()
					if got := st.Dropped[pipeline.ReasonPermanent]; got != uint64(tc.dropped+tc.jsDropped) {
						t.Errorf("dropped permanent = %d, want %d", got, tc.dropped+tc.jsDropped)
					}
					for reason, n := range st.Dropped {
						if reason != pipeline.ReasonPermanent && n != 0 {
							t.Errorf("dropped %s = %d, want 0", reason, n)
						}
					}
					if got := st.StoreErrs["permanent"]; got != uint64(tc.permanentStoreErrs) {
						t.Errorf("permanent store errors = %d, want %d", got, tc.permanentStoreErrs)
					}
					if st.Stored != uint64(total-tc.dropped) {
						t.Errorf("stats stored = %d, want %d", st.Stored, total-tc.dropped)
					}
					if st.JSErrors != uint64(2-tc.jsDropped) {
						t.Errorf("stats JS errors = %d, want %d", st.JSErrors, 2-tc.jsDropped)
					}
					if st.QueueDepth != 0 {
						t.Errorf("queue depth = %d, want 0", st.QueueDepth)
					}
					app := e.app()
					if n := count(t, app, schema.Events, nil); n != total-tc.dropped {
						t.Errorf("events rows = %d, want %d (no duplicates, nothing else lost)", n, total-tc.dropped)
					}
					if tc.missingPath != "" {
						if n := count(t, app, schema.Events, dbx.HashExp{"path": tc.missingPath}); n != 0 {
							t.Errorf("refused event %s stored %d times", tc.missingPath, n)
						}
					}
					var jsCount int
					if err := app.DB().Select("COALESCE(SUM(count),0)").From(schema.JSErrors).Row(&jsCount); err != nil {
						t.Fatal(err)
					}
					if jsCount != 2-tc.jsDropped {
						t.Errorf("Σ js_errors.count = %d, want %d", jsCount, 2-tc.jsDropped)
					}
					if tc.conflicts && st.Conflicts == 0 {
						t.Error("no conflict counted")
					}
					if tc.retries && st.Retries == 0 {
						t.Error("no retry counted")
					}
					if !tc.summariesIncomplete {
						checkSummaries(t, app, "after the faulty flush")
					}
				})
			})
		}
	}
}
