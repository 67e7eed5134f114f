package pipeline

import (
	"context"

	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

// maxChunkOps caps the writes of one transaction whatever the store
// allows (the store's MaxOps is the real bound).
const maxChunkOps = 25000

// unitOps bounds the ops one event adds to a chunk: visitor, session and
// event creates, a session update, two dash_sum days and the breakdowns
// of a new session (entry, exit, referrer, device, browser, os,
// language, country) and of the event (page or custom event, exit move).
const unitOps = 4 + 2 + 12

// sessionize turns pending events into chunks: it resolves unknown
// websites and uncached visitors from the store, then applies the session
// rules event by event, in acceptance order.
func (w *worker) sessionize(ctx context.Context) error {
	p := w.p
	if err := w.skipStored(ctx); err != nil {
		return err
	}
	if err := w.skipForwardedStored(ctx); err != nil {
		return err
	}
	if err := w.resolveSites(ctx); err != nil {
		return err
	}
	if err := w.resolveVisitors(ctx); err != nil {
		return err
	}
	if err := w.resolveOrders(ctx); err != nil {
		return err
	}
	if err := w.loadDays(ctx); err != nil {
		return err
	}
	if err := w.resolvePageViews(ctx); err != nil {
		return err
	}
	maxOps, err := p.cfg.Store.MaxOps(ctx)
	if err != nil {
		return err
	}
	maxOps = max(min(maxOps, maxChunkOps), 2*unitOps)

	c := newChunk()
	var last uint64 // the last intake log record the chunk covers
	// beacons that arrived before their page view (two requests of one
	// page a few milliseconds apart can be accepted in either order) wait
	// for it within the batch instead of being dropped as orphans
	early := map[string][]*Event{}
	for i := range w.pending {
		ev := &w.pending[i]
		if ev.Kind == JSError && p.cfg.Spool == nil {
			w.addJSError(ev)
			continue
		}
		// a unit is at most visitor + session + event creates, one
		// session update and the summary rows it touches (a JS error
		// group: its upsert and two summary rows)
		// (units are counted only while a refusal is narrowed down: the
		// count walks the chunk's ops)
		if !c.empty() && (c.size()+3*len(c.js)+unitOps > maxOps ||
			w.chunkUnits > 0 && c.countKind(roleEvent)+len(c.js) >= w.chunkUnits) {
			w.finish(c, last)
			c = newChunk()
		}
		if ev.Kind == JSError {
			w.addChunkJSError(c, ev)
		} else if ev.Kind == Engagement {
			if id := ev.target(); w.laterPageViews[id] {
				early[id] = append(early[id], ev)
			} else {
				w.addEngagement(c, ev)
			}
		} else {
			w.addEvent(c, ev)
			if ev.Kind == PageView && ev.PID != "" {
				delete(w.laterPageViews, ev.ID)
				for _, e := range early[ev.ID] {
					w.addEngagement(c, e)
				}
				delete(early, ev.ID)
			}
		}
		last = max(last, ev.Seq)
	}
	for _, evs := range early { // their page view never came: orphans
		for _, e := range evs {
			w.addEngagement(c, e)
		}
	}
	if !c.empty() {
		w.finish(c, last)
	}
	w.pending = nil // chunks point into the old array: never reuse it
	return nil
}

// finish completes a chunk and queues it for writing. With an intake log,
// JS errors are grouped per chunk, and the chunk also records the log
// position it covers in the same transaction: a chunk is committed with
// its position or not at all, so a replay after a crash skips exactly
// what is stored.
func (w *worker) finish(c *chunk, last uint64) {
	for _, k := range c.jsOrder {
		w.addJSOps(c, c.js[k])
	}
	c.finalize()
	if sp := w.p.cfg.Spool; sp != nil && last > 0 {
		c.seq = last
		c.add(store.Op{Action: store.Upsert, Collection: schema.Spools, ID: sp.ID(), Data: map[string]any{"seq": int64(last)}},
			role{kind: roleSpool})
	}
	w.unsent = append(w.unsent, c)
}
