// Package storetest helps tests make a real store fail on purpose. Faulty
// wraps a real Store (over a real PocketBase) and fails the Apply calls
// that carry a chosen op, the ways PocketBase can fail them, so that the
// pipeline's retry and drop paths run against real data.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/skopos-go/skopos/internal/store"
)

// Fault is a way an Apply can fail.
type Fault int

const (
	// Transient: the connection broke before the transaction committed;
	// nothing is written and the error names no op.
	Transient Fault = iota
	// LostReply: the transaction committed, but its reply was lost; the
	// caller sees the same error as Transient.
	LostReply
	// Permanent: the store refused the matched op (a validation error);
	// the transaction is rolled back.
	Permanent
	// PermanentUnnamed: the store refused the transaction without naming
	// an op (as PocketBase's batch timeout does).
	PermanentUnnamed
	// Unique: the matched op hit a uniqueness violation.
	Unique
	// Hang: the call blocks until its context is done, as a store that
	// stopped answering does.
	Hang
)

func (f Fault) String() string {
	return [...]string{"transient", "lost-reply", "permanent", "permanent-unnamed", "unique", "hang"}[f]
}

// ErrInjected is the cause inside every injected failure.
var ErrInjected = errors.New("storetest: injected failure")

// Rule fails the Apply calls that carry an op Match accepts.
type Rule struct {
	Match func(op store.Op) bool
	Fault Fault
	// Times is how many Apply calls the rule fails; 0 means every one.
	Times int

	mu      sync.Mutex
	hits    int
	stopped bool
}

// Stop ends the rule: later Apply calls pass (the store recovers).
func (r *Rule) Stop() {
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}

// Hits reports how many Apply calls the rule has failed.
func (r *Rule) Hits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits
}

// take reports whether the rule fails this call, and counts it.
func (r *Rule) take() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.Times > 0 && r.hits >= r.Times {
		return false
	}
	r.hits++
	return true
}

// Faulty is a Store that passes everything to the wrapped Store except the
// Apply calls its rules fail.
type Faulty struct {
	store.Store

	mu    sync.Mutex
	rules []*Rule
}

// Wrap returns a Faulty around st with no rules yet.
func Wrap(st store.Store) *Faulty { return &Faulty{Store: st} }

// Fail adds a rule and returns it, to read its Hits later.
func (f *Faulty) Fail(r *Rule) *Rule {
	f.mu.Lock()
	f.rules = append(f.rules, r)
	f.mu.Unlock()
	return r
}

// Apply fails the call when a rule matches one of ops (the first matching
// op of the first matching rule decides), and otherwise applies ops to the
// wrapped store.
func (f *Faulty) Apply(ctx context.Context, ops []store.Op) error {
	f.mu.Lock()
	rules := append([]*Rule(nil), f.rules...)
	f.mu.Unlock()
	for _, r := range rules {
		for i, op := range ops {
			if !r.Match(op) || !r.take() {
				continue
			}
			return f.fail(ctx, r.Fault, i, ops)
		}
	}
	return f.Store.Apply(ctx, ops)
}

func (f *Faulty) fail(ctx context.Context, fault Fault, i int, ops []store.Op) error {
	cause := fmt.Errorf("%w (%s at op %d: %s %s)", ErrInjected, fault, i, ops[i].Action, ops[i].Collection)
	switch fault {
	case LostReply:
		if err := f.Store.Apply(ctx, ops); err != nil {
			return err
		}
		return cause
	case Permanent:
		return &store.OpError{Index: i, Permanent: true, Err: cause}
	case PermanentUnnamed:
		return &store.OpError{Index: -1, Permanent: true, Err: cause}
	case Unique:
		return &store.OpError{Index: i, Unique: true, Err: cause}
	case Hang:
		<-ctx.Done()
		return fmt.Errorf("%w: %w", cause, ctx.Err())
	}
	return cause
}

// Collection matches every op on collection.
func Collection(name string) func(store.Op) bool {
	return func(op store.Op) bool { return op.Collection == name }
}

// Field matches the ops on collection whose Data[field] equals value.
func Field(collection, field string, value any) func(store.Op) bool {
	return func(op store.Op) bool { return op.Collection == collection && op.Data[field] == value }
}
