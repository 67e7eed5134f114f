package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

// errConflict: another writer created a visitor or session of the chunk
// first; the chunk must be rebuilt from the store's state.
var errConflict = errors.New("created by another writer first")

// write commits one chunk. Conflicts (another writer created a visitor or
// session first) and permanent failures (the store refused a record) are
// resolved here and the chunk is resubmitted; a transient failure is
// returned so the caller backs off and retries the same chunk later.
func (w *worker) write(ctx context.Context, c *chunk) error {
	p := w.p
	st := p.cfg.Store
	if c.maybeCommitted {
		if m := c.marker(); m != "" {
			ok, err := st.Existing(ctx, schema.Events, []string{m})
			if err != nil {
				return err
			}
			if ok[m] { // the earlier attempt committed; its reply was lost
				w.committed(c)
				return nil
			}
		}
	}
	for attempts := 0; ; attempts++ {
		if len(c.ops) == 0 {
			return nil
		}
		err := st.Apply(ctx, c.ops)
		if err == nil {
			w.committed(c)
			return nil
		}
		var oe *store.OpError
		if !errors.As(err, &oe) || attempts > len(c.roles)+2 {
			c.maybeCommitted = true
			return fmt.Errorf("%w: %w", errTransient, err)
		}
		if oe.Index < 0 || oe.Index >= len(c.ops) {
			if !oe.Permanent { // network, 5xx, 429: may have committed
				c.maybeCommitted = true
				return fmt.Errorf("%w: %w", errTransient, err)
			}
			// refused without naming an op (e.g. the server's batch
			// timeout): halve the chunk until the culprit stands alone
			if err := w.splitOrDrop(c, err); err != nil {
				return err
			}
			continue
		}
		r := c.roles[oe.Index]
		switch {
		case oe.Unique:
			switch r.kind {
			case roleEvent: // our own event is already there: committed before
				w.committed(c)
				return nil
			case roleVisitor, roleSession: // another writer created it first
				return errConflict
			}
			w.dropFor(c, oe.Index, err)
		case oe.Permanent:
			w.dropFor(c, oe.Index, err)
		default:
			c.maybeCommitted = true
			return fmt.Errorf("%w: %w", errTransient, err)
		}
	}
}

// splitOrDrop halves a chunk the store refused as a whole, at an event
// boundary (a unit's creates precede its event, so both halves stay
// valid); the second half is written next. A chunk with one event left is
// dropped and counted.
func (w *worker) splitOrDrop(c *chunk, cause error) error {
	var events []int
	for i, r := range c.roles {
		if r.kind == roleEvent || r.kind == roleJSError {
			events = append(events, i)
		}
	}
	if len(events) <= 1 {
		return w.dropChunk(c, cause)
	}
	k := events[len(events)/2-1] + 1
	rest := &chunk{ops: append([]store.Op(nil), c.ops[k:]...), roles: append([]role(nil), c.roles[k:]...),
		finalized: true, maybeCommitted: c.maybeCommitted}
	c.ops, c.roles = c.ops[:k], c.roles[:k]
	w.unsent = append(w.unsent[:1], append([]*chunk{rest}, w.unsent[1:]...)...)
	w.p.cfg.Logger.Warn("skopos: store refused a batch without naming an item; splitting it", "error", cause,
		"ops", len(c.ops)+len(rest.ops))
	return nil
}

// committed updates the counters after a chunk's transaction committed.
func (w *worker) committed(c *chunk) {
	w.p.stats.stored.Add(uint64(c.countKind(roleEvent)))
	js := 0
	for _, r := range c.roles {
		if r.kind == roleJSError {
			js += r.count
		}
	}
	w.p.stats.jsErrors.Add(uint64(js))
}

// requeue undoes every unsent chunk that carries events, after another
// writer created a visitor or session first: nothing of them committed,
// so their events go back to pending and their visitors are re-read from
// the store; sessionizing again continues the other writer's rows and
// drops the creation's summary deltas.
func (w *worker) requeue() {
	var events []Event
	kept := w.unsent[:0]
	for _, c := range w.unsent {
		if c.countKind(roleEvent) == 0 && c.countKind(roleVisitor)+c.countKind(roleSession)+c.countKind(roleSessionUpdate) == 0 {
			kept = append(kept, c) // JS errors only
			continue
		}
		for _, r := range c.roles {
			if r.visitor != "" {
				w.visitors.remove(r.visitor)
			}
			if r.kind == roleEvent {
				events = append(events, *r.event)
			}
		}
	}
	w.unsent = kept
	w.pending = append(events, w.pending...)
}

// dropFor removes what the refused op at index i stands for: an event
// alone, or with a refused visitor/session create every event that needs
// it. Each dropped event is counted and logged with its record.
func (w *worker) dropFor(c *chunk, i int, cause error) {
	p := w.p
	r := c.roles[i]
	op := c.ops[i]
	p.stats.storeErr("permanent")
	p.cfg.Logger.Error("skopos: store refused a record; dropping it", "error", cause,
		"collection", op.Collection, "id", op.ID, "record", op.Data)
	var n int
	switch r.kind {
	case roleEvent:
		n = c.removeWhere(func(x role) bool { return x.kind == roleEvent && x.event == r.event })
	case roleVisitor:
		n = c.removeWhere(func(x role) bool { return x.visitor == r.visitor })
	case roleSession, roleSessionUpdate:
		n = c.removeWhere(func(x role) bool { return x.session == r.session })
	default: // JS error or summary row: that op alone
		n = c.removeAt(i)
	}
	if r.visitor != "" {
		w.visitors.remove(r.visitor)
	}
	w.dropHeld(ReasonPermanent, n)
}

// dropChunk drops a whole chunk the store refused without naming an op.
func (w *worker) dropChunk(c *chunk, cause error) error {
	n := c.nEvents()
	w.p.stats.storeErr("permanent")
	w.p.cfg.Logger.Error("skopos: store refused a write; dropping it", "error", cause, "events", n)
	for _, r := range c.roles {
		if r.visitor != "" {
			w.visitors.remove(r.visitor)
		}
	}
	c.ops, c.roles = nil, nil
	w.dropHeld(ReasonPermanent, n)
	return nil
}
