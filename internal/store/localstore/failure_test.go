package localstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/schema"
)

// TestFailedCreateNamesTheOpAndKeepsNothing: a multi-row INSERT that
// fails part way (written OR FAIL, which keeps the rows before the
// failing one) must still roll the whole Apply back and name the exact
// op, whether the duplicate is an existing row, a row of the same
// statement, or one past the first statement of the run.
func TestFailedCreateNamesTheOpAndKeepsNothing(t *testing.T) {
	t.Parallel()
	srv := server(t)
	st := localstore.New(srv.App())
	ctx := context.Background()
	event := func(id string) store.Op {
		return store.Op{Action: store.Create, Collection: schema.Events, ID: id,
			Data: map[string]any{"website": siteID, "type": "pageView", "path": "/x", "timestamp": time.Now()}}
	}
	if err := st.Apply(ctx, []store.Op{event("existingevent01")}); err != nil {
		t.Fatal(err)
	}
	for k, tc := range []struct {
		name    string
		n       int // events in the Apply
		dupAt   int // index of the duplicate
		dupOf   string
		dupOfIx int // or: index of an earlier op of the same Apply
	}{
		{"existing row in the first statement", 40, 17, "existingevent01", -1},
		{"earlier row of the same statement", 40, 30, "", 5},
		{"existing row past the first statement", 100, 90, "existingevent01", -1},
		{"first op", 10, 0, "existingevent01", -1},
	} {
		prefix := fmt.Sprintf("casex%02d", k) // ids unique across cases
		t.Run(tc.name, func(t *testing.T) {
			ops := make([]store.Op, tc.n)
			for i := range ops {
				ops[i] = event(fmt.Sprintf("%s%08d", prefix, i))
			}
			if tc.dupOf != "" {
				ops[tc.dupAt].ID = tc.dupOf
			} else {
				ops[tc.dupAt].ID = ops[tc.dupOfIx].ID
			}
			err := st.Apply(ctx, ops)
			var oe *store.OpError
			if !errors.As(err, &oe) || oe.Index != tc.dupAt || !oe.Unique {
				t.Fatalf("got %v, want a unique OpError at op %d", err, tc.dupAt)
			}
			ids := make([]string, tc.n)
			for i, op := range ops {
				ids[i] = op.ID
			}
			got, err := st.Existing(ctx, schema.Events, ids)
			if err != nil {
				t.Fatal(err)
			}
			delete(got, "existingevent01")
			if len(got) != 0 {
				t.Fatalf("%d rows of the failed Apply were kept: %v", len(got), got)
			}
			// the same ops without the duplicate go through
			ops[tc.dupAt].ID = fmt.Sprintf("%sfixed%03d", prefix, tc.dupAt)
			if err := st.Apply(ctx, ops); err != nil {
				t.Fatal(err)
			}
		})
	}
}
