package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

// errConflict: another writer created a visitor or session of the chunk
// first; the chunk must be rebuilt from the store's state.
var errConflict = errors.New("created by another writer first")

// errRebuild: events were taken out of the unsent chunks (refused by the
// store) or the chunks must be smaller; they are built again from their
// events, so that session rows and summary deltas count exactly the
// events that are written.
var errRebuild = errors.New("chunks must be rebuilt")

// write commits one chunk. Conflicts (another writer created a visitor or
// session first) and refusals (the store refused a record) are answered
// with errConflict or errRebuild, after which the caller rebuilds the
// unsent chunks; a transient failure is returned so the caller backs off
// and retries the same chunk later.
func (w *worker) write(ctx context.Context, c *chunk) error {
	p := w.p
	st := p.cfg.Store
	if c.maybeCommitted && p.cfg.Spool != nil && c.seq > 0 {
		// the chunk committed if and only if its log position did
		pos, err := st.SpoolPosition(ctx, p.cfg.Spool.ID())
		if err != nil {
			return err
		}
		if pos >= c.seq {
			w.committed(c)
			return nil
		}
	} else if c.maybeCommitted {
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
	// the last attempt outlived the store's batch timeout and did not
	// commit: a server that slow times out the same chunk at every retry
	if c.timedOut && w.halve(c, "skopos: a batch outlived the store's timeout; writing smaller batches", nil) {
		return errRebuild
	}
	for {
		if len(c.ops) == 0 {
			return nil
		}
		err := st.Apply(ctx, c.ops)
		if err == nil {
			w.committed(c)
			return nil
		}
		var oe *store.OpError
		if !errors.As(err, &oe) {
			c.maybeCommitted = true
			return fmt.Errorf("%w: %w", errTransient, err)
		}
		if oe.Index < 0 || oe.Index >= len(c.ops) {
			if !oe.Permanent { // network, 5xx, 429, batch timeout: may have committed
				c.maybeCommitted = true
				c.timedOut = oe.Timeout
				return fmt.Errorf("%w: %w", errTransient, err)
			}
			// refused without naming an op (e.g. the server's batch
			// timeout): smaller chunks until the culprit stands alone
			return w.refuseUnnamed(c, err)
		}
		r := c.roles[oe.Index]
		switch {
		case oe.Unique && r.kind == roleEvent: // our own event is already there: committed before
			w.committed(c)
			return nil
		case oe.Unique && (r.kind == roleVisitor || r.kind == roleSession): // another writer created it first
			return errConflict
		case oe.Unique, oe.Permanent:
			if r.kind == roleSummary || r.kind == roleSpool {
				// a summary row alone: the events stay; resubmit without it
				w.refuseSummary(c, oe.Index, err)
				continue
			}
			return w.refuse(c, oe.Index, err)
		default:
			c.maybeCommitted = true
			return fmt.Errorf("%w: %w", errTransient, err)
		}
	}
}

// committed updates the counters after a chunk's transaction committed.
func (w *worker) committed(c *chunk) {
	w.p.stats.stored.Add(uint64(c.countKind(roleEvent)))
	w.p.stats.engagements.Add(uint64(c.countKind(roleEngagement)))
	js := 0
	for _, r := range c.roles {
		if r.kind == roleJSError {
			js += r.count
		}
		if r.duplicate {
			w.p.stats.duplicateOrders.Add(1)
			w.p.debug("order already paid: event stored without its revenue", "site", r.event.TrackingID, "order", r.event.OrderID)
		}
	}
	w.p.stats.jsErrors.Add(uint64(js))
	if w.p.cfg.OnStored != nil {
		var out []StoredEvent
		for _, r := range c.roles {
			if r.kind == roleEvent {
				e := r.event
				se := StoredEvent{ID: e.ID, WebsiteID: e.WebsiteID, TrackingID: e.TrackingID, SessionID: r.session,
					Kind: e.Kind, Path: e.Path, Name: e.Name, Data: e.Data, Time: e.Time, OrderID: e.OrderID}
				if r.paid {
					se.RevenueAmount, se.RevenueCurrency = e.RevenueAmount, e.RevenueCurrency
				}
				out = append(out, se)
			}
		}
		if len(out) > 0 {
			w.p.cfg.OnStored(out)
		}
	}
	if sp := w.p.cfg.Spool; sp != nil && c.seq > 0 {
		sp.Checkpoint(c.seq)
		w.storedPos = max(w.storedPos, c.seq)
	}
}

// refuse takes out what the refused op at index i stands for: an event
// alone; with a refused visitor or session every event of the chunk that
// needs it; with a refused JS error group its occurrences. They are
// counted and logged, and the unsent chunks are rebuilt without them.
func (w *worker) refuse(c *chunk, i int, cause error) error {
	p := w.p
	r := c.roles[i]
	op := c.ops[i]
	p.stats.storeErr("permanent")
	p.cfg.Logger.Error("skopos: store refused a record; dropping it", "error", cause,
		"collection", op.Collection, "id", op.ID, "record", op.Data)
	var match func(role) bool
	switch r.kind {
	case roleEvent, roleEngagement:
		match = func(x role) bool { return x.kind == r.kind && x.event == r.event }
	case roleVisitor:
		match = func(x role) bool { return x.kind == roleEvent && x.visitor == r.visitor }
	case roleSession, roleSessionUpdate:
		match = func(x role) bool { return (x.kind == roleEvent || x.kind == roleEngagement) && x.session == r.session }
		w.refusedSessions[r.session] = true
	case roleJSError:
		match = func(x role) bool { return x.kind == roleJSError && x.js == r.js }
	}
	n := 0
	for _, x := range c.roles {
		if !match(x) {
			continue
		}
		switch x.kind {
		case roleEvent, roleEngagement:
			w.refused[x.event.ID] = true
			n++
			if x.kind == roleEvent && r.kind == roleVisitor { // its sessions will not exist either
				w.refusedSessions[x.session] = true
			}
		case roleJSError:
			x.js.refused = true
			n += x.count
		}
	}
	w.dropHeld(ReasonPermanent, n)
	return errRebuild
}

// refuseSummary removes a refused summary row from the chunk: the events
// it counts are still written, and the day's counters miss its delta.
func (w *worker) refuseSummary(c *chunk, i int, cause error) {
	w.p.stats.storeErr("permanent")
	w.p.cfg.Logger.Error("skopos: store refused a summary row; dropping it (the day's summary misses these counts)",
		"error", cause, "collection", c.ops[i].Collection, "id", c.ops[i].ID, "record", c.ops[i].Data)
	c.removeAt(i)
}

// halve makes the chunks rebuilt after c carry half as many events (or JS
// error groups) as c, until the attempt that stores everything pending,
// when they grow back to the store's batch size. False when c holds one
// or none: nothing smaller to try.
func (w *worker) halve(c *chunk, why string, cause error) bool {
	units := c.countKind(roleEvent) + c.countKind(roleJSError) + c.countKind(roleEngagement)
	if units <= 1 {
		return false
	}
	w.chunkUnits = units / 2
	attrs := []any{"ops", len(c.ops), "events_per_batch", w.chunkUnits}
	if cause != nil {
		attrs = append(attrs, "error", cause)
	}
	w.p.cfg.Logger.Warn(why, attrs...)
	return true
}

// refuseUnnamed answers a refusal of the whole chunk: chunks are rebuilt
// with half as many events, until a chunk of one event (or one JS error
// group) is refused, which is then dropped and counted.
func (w *worker) refuseUnnamed(c *chunk, cause error) error {
	if w.halve(c, "skopos: store refused a batch without naming an item; writing smaller batches", cause) {
		return errRebuild
	}
	for i, r := range c.roles {
		if r.kind == roleEvent || r.kind == roleJSError || r.kind == roleEngagement {
			return w.refuse(c, i, cause)
		}
	}
	// nothing but session updates or summary rows: they go with the chunk
	w.p.stats.storeErr("permanent")
	w.p.cfg.Logger.Error("skopos: store refused a write; dropping it", "error", cause, "ops", len(c.ops))
	c.ops, c.roles = nil, nil
	return nil
}

// requeue undoes every unsent chunk, after another writer created a
// visitor or session first or after the store refused part of a chunk:
// nothing of them committed, so their events go back to pending (less the
// refused ones), their visitors are re-read from the store and their JS
// error groups go back to the aggregation. Sessionizing again continues
// the store's rows and counts the summary deltas anew. It reports whether
// JS error groups came back (they are chunked again after the events, so
// that the sessions they point at are written first).
func (w *worker) requeue() (js bool) {
	var events []Event
	for _, c := range w.unsent {
		for _, r := range c.roles {
			if r.visitor != "" {
				w.visitors.remove(r.visitor)
			}
			switch r.kind {
			case roleEvent, roleEngagement:
				if !w.refused[r.event.ID] {
					events = append(events, *r.event)
				}
			case roleJSError:
				switch {
				case r.js.refused:
				case w.p.cfg.Spool != nil:
					events = append(events, r.js.events...)
				default:
					w.restoreJSError(r.js)
					js = true
				}
			}
		}
	}
	if w.p.cfg.Spool != nil {
		// a chunk's JS errors were grouped apart from its events; the
		// log's order is what the rebuilt chunks must cover
		sort.SliceStable(events, func(i, j int) bool { return events[i].Seq < events[j].Seq })
	}
	w.unsent = nil
	w.pending = append(events, w.pending...)
	// the page views' engagement in the cache may be what the undone
	// chunks would have written: read it again
	w.pageViews = newPageViews(w.p.cfg.SessionCacheSize)
	// a JS error group must not point at a session that will not exist
	for _, a := range w.jsErrs {
		if w.refusedSessions[a.session] {
			a.session = ""
		}
	}
	clear(w.refused)
	clear(w.refusedSessions)
	return js
}
