package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

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
			if r.kind == roleEvent { // our own event is already there: committed before
				w.committed(c)
				return nil
			}
			w.resolveConflict(c, oe.Index)
			if !c.prechecked { // another writer raced us: settle every create at once
				c.prechecked = true
				if err := w.precheck(ctx, c); err != nil {
					return err
				}
			}
		case oe.Permanent:
			w.dropFor(c, oe.Index, err)
		default:
			c.maybeCommitted = true
			return fmt.Errorf("%w: %w", errTransient, err)
		}
	}
}

// precheck resolves, before resubmitting, every visitor and session
// create of c whose row already exists, instead of learning them one
// failed transaction at a time.
func (w *worker) precheck(ctx context.Context, c *chunk) error {
	var vids, sids []string
	for _, r := range c.roles {
		switch r.kind {
		case roleVisitor:
			vids = append(vids, r.visitor)
		case roleSession:
			sids = append(sids, r.session)
		}
	}
	st := w.p.cfg.Store
	ev, err := st.Existing(ctx, schema.Visitors, vids)
	if err != nil {
		return fmt.Errorf("%w: %w", errTransient, err)
	}
	es, err := st.Existing(ctx, schema.Sessions, sids)
	if err != nil {
		return fmt.Errorf("%w: %w", errTransient, err)
	}
	for i := 0; i < len(c.roles); i++ {
		r := c.roles[i]
		switch {
		case r.kind == roleVisitor && ev[r.visitor]:
			w.resolveConflict(c, i)
			i-- // the create was removed
		case r.kind == roleSession && es[r.session]:
			w.resolveConflict(c, i)
		}
	}
	return nil
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

// resolveConflict handles a uniqueness failure on a visitor or session
// create: the other writer's row has the same derived id, so the visitor
// create is dropped and the session create becomes an update of the row
// that exists. The visitor's cached state is then stale and re-read later.
func (w *worker) resolveConflict(c *chunk, i int) {
	w.p.stats.conflicts.Add(1)
	r := c.roles[i]
	w.visitors.remove(r.visitor)
	switch r.kind {
	case roleVisitor:
		c.removeWhere(func(x role) bool { return x.kind == roleVisitor && x.visitor == r.visitor })
	case roleSession:
		d := c.ops[i].Data
		upd := map[string]any{"lastActivity": d["lastActivity"], "exitPath": d["exitPath"]}
		if n, _ := d["eventCount"].(int); n > 0 {
			upd["eventCount+"] = n
		}
		if e, _ := d["isEngaged"].(bool); e {
			upd["isEngaged"] = true
		}
		c.ops[i] = store.Op{Action: store.Update, Collection: schema.Sessions, ID: c.ops[i].ID, Data: upd}
		c.roles[i].kind = roleSessionUpdate
	default: // a session update or JS error cannot conflict: treat as refused
		w.dropFor(c, i, errors.New("unexpected uniqueness failure"))
	}
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
	case roleJSError:
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
