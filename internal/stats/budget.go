package stats

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrBudget is returned (wrapped) by Query, Funnel and Properties when
// their queries ran past Request.Budget: the statement running then was
// interrupted (SQLite stops at its next step) and the report is not
// computed. The API answers it 503 with Retry-After.
var ErrBudget = errors.New("stats: the report took longer than its time budget")

// DefaultBudget is the time budget the API and the dashboard give one
// report unless configured otherwise: far above what a report of a
// busy site takes (BENCHMARKS.md: 65 ms to 0.5 s over a million events),
// far below what a crafted one could.
const DefaultBudget = 5 * time.Second

// withBudget bounds ctx by r.Budget (not at all when it is 0 or less).
func (r Request) withBudget(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.Budget <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, r.Budget, ErrBudget)
}

// overBudget marks err as ErrBudget when it came from ctx's budget
// running out: the driver reports an interrupted statement, or the
// context's own error, whichever it saw first.
func overBudget(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, ErrBudget) || !errors.Is(context.Cause(ctx), ErrBudget) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrBudget, err)
}
