package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// worker owns all mutable pipeline state; only its goroutine touches it,
// which also makes session resolution single-flight per visitor within a
// process (across processes the UNIQUE indexes and derived ids do it).
type worker struct {
	p *Pipeline

	pending []Event  // accepted, not yet sessionized
	unsent  []*chunk // sessionized, not yet committed, in order
	held    atomic.Int64

	visitors  *lru
	pageViews *pageViews // page views engagement beacons may update
	// laterPageViews are the page views (events row ids) of the batch
	// being written that are not written yet
	laterPageViews map[string]bool
	jsErrs         map[string]*jsAgg
	dims           *dimKeys

	backoff   time.Duration
	retryAt   time.Time
	lastJSErr time.Time

	// refused holds the ids of events the store refused, and
	// refusedSessions the sessions that will not be written, until the
	// unsent chunks are rebuilt without them
	refused         map[string]bool
	refusedSessions map[string]bool
	// paid holds the orders whose revenue is stored or in an unsent
	// chunk, for the events being sessionized (resolveOrders)
	paid map[orderKey]bool
	// chunkUnits, when > 0, caps the events (or JS error groups) of a
	// chunk while a refusal that named no op is being narrowed down
	chunkUnits int
	// fwdMax, when > 0, caps forwarded batches (the server answered 413)
	fwdMax int

	// with an intake log: the last record read, and the store's
	// committed position (records up to it are already stored)
	seen      uint64
	storedPos uint64
	posLoaded bool

	// inDoubt counts the events of the forwarded batch whose request the
	// flush's deadline cut off (ingest route): maybe stored
	inDoubt int

	// abortErr is what Close reports when it had to cancel the worker;
	// written by the worker before it closes p.done.
	abortErr error
}

func newWorker(p *Pipeline) worker {
	return worker{p: p, visitors: newLRU(p.cfg.SessionCacheSize), pageViews: newPageViews(p.cfg.SessionCacheSize), jsErrs: map[string]*jsAgg{}, dims: newDimKeys(p.cfg.MaxDimensionKeys),
		refused: map[string]bool{}, refusedSessions: map[string]bool{}}
}

// promptDrain bounds one flush without Batch.
const promptDrain = 500

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

func (w *worker) run() {
	p := w.p
	defer close(p.done)
	ctx := p.run
	interval := p.cfg.BatchInterval
	if !p.cfg.Batch {
		interval = time.Second // also the retry/JS-error heartbeat
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	w.lastJSErr = p.cfg.Now()

	for {
		if ctx.Err() != nil {
			w.abort(context.Cause(ctx))
			return
		}
		var queue <-chan Event = p.queue
		if len(w.pending) >= p.cfg.MaxBatchSize && w.backingOff() {
			queue = nil // hold back: the channel buffers, and overflow is counted at intake
		}
		select {
		case ev := <-queue:
			w.add(ev)
			w.drainAvailable()
			if !p.cfg.Batch || len(w.pending) >= p.cfg.MaxBatchSize {
				w.tryFlush(ctx, false)
			}
		case <-tick.C:
			w.tryFlush(ctx, true)
		case <-ctx.Done():
			w.abort(context.Cause(ctx))
			return
		case req := <-p.reqs:
			w.drainAll()
			// a Flush in progress must not keep a Close waiting past its
			// deadline: canceling the run context ends it too
			rctx, cancel := context.WithCancel(req.ctx)
			stopAfter := context.AfterFunc(ctx, cancel)
			err := w.flushTo(rctx, req.target)
			if err == nil && req.fn != nil {
				err = req.fn(rctx)
				w.forget()
			}
			stopAfter()
			cancel()
			if req.stop {
				req.reply <- w.unwritten(err)
				return
			}
			req.reply <- err
		}
	}
}

// flushTo writes everything held and, with an intake log, everything up
// to record target, until ctx is done.
func (w *worker) flushTo(ctx context.Context, target uint64) error {
	for {
		w.drainAll()
		// with an intake log, gather what was accepted before the call
		// first (up to a read-ahead's worth), so that one Flush writes in
		// as few transactions as it can
		for w.p.cfg.Spool != nil && w.seen < target && len(w.pending) < cap(w.p.queue) {
			select {
			case ev := <-w.p.queue:
				w.add(ev)
			case <-ctx.Done():
				return fmt.Errorf("skopos: flush: %w", ctx.Err())
			}
		}
		if err := w.flushUntil(ctx); err != nil {
			return err
		}
		if w.p.cfg.Spool == nil || w.seen >= target {
			return nil
		}
	}
}

// forget drops the worker's memory of visitors, sessions and each day's
// summary keys (Exclusive); the next events read them from the store.
func (w *worker) forget() {
	w.visitors = newLRU(w.p.cfg.SessionCacheSize)
	w.pageViews = newPageViews(w.p.cfg.SessionCacheSize)
	w.dims = newDimKeys(w.p.cfg.MaxDimensionKeys)
}

// unwritten turns what the worker still holds when it stops into Close's
// result: without an intake log the events are lost and counted as
// dropped; with one they stay in it for the next start.
func (w *worker) unwritten(err error) error {
	if sp := w.p.cfg.Spool; sp != nil {
		if n := sp.Stats().Pending; n > 0 && err != nil {
			return &UnwrittenError{Events: int(n), Spooled: true, Err: err}
		}
		return err
	}
	if n := w.heldEvents(); n > 0 {
		doubt := min(w.inDoubt, n)
		if n > doubt {
			w.dropHeld(ReasonUnwritten, n-doubt)
		}
		if doubt > 0 {
			w.dropHeld(ReasonUnconfirmed, doubt)
		}
		return &UnwrittenError{Events: n - doubt, Unconfirmed: doubt, Err: err}
	}
	return err
}

// abort ends the worker when Close canceled it mid-write.
func (w *worker) abort(cause error) {
	w.drainAll()
	if sp := w.p.cfg.Spool; sp != nil && sp.Stats().Pending == 0 || sp == nil && w.heldEvents() == 0 {
		return // nothing was left: Close succeeded
	}
	w.abortErr = w.unwritten(fmt.Errorf("%w (it passed while a write was in progress)", cause))
}

func (w *worker) add(ev Event) {
	w.pending = append(w.pending, ev)
	w.held.Add(1)
	w.seen = max(w.seen, ev.Seq)
}

// drainAvailable moves what is already queued into pending, up to a batch.
// Without Batch, "promptly" means: write whatever has arrived, so a backlog
// under load goes out in bigger transactions (session updates and summary
// rows coalesce) instead of in MaxBatchSize slices. With Batch, a backlog
// (a batch's worth still queued) is taken in flushes of up to
// backlogBatch events, for the same reason.
func (w *worker) drainAvailable() {
	limit := w.p.cfg.MaxBatchSize
	if !w.p.cfg.Batch {
		limit = max(limit, promptDrain)
	} else if len(w.p.queue) >= limit {
		limit = backlogBatch(limit)
	}
	for len(w.pending) < limit {
		select {
		case ev := <-w.p.queue:
			w.add(ev)
		default:
			return
		}
	}
}

func (w *worker) drainAll() {
	for {
		select {
		case ev := <-w.p.queue:
			w.add(ev)
		default:
			return
		}
	}
}

func (w *worker) backingOff() bool { return !w.retryAt.IsZero() && w.p.cfg.Now().Before(w.retryAt) }

// tryFlush makes one attempt, unless a retry is not due yet. On the timer
// it also flushes JS errors when their interval has passed.
func (w *worker) tryFlush(ctx context.Context, timer bool) {
	if w.backingOff() {
		return
	}
	includeJS := timer && w.p.cfg.Now().Sub(w.lastJSErr) >= w.p.cfg.JSErrorInterval
	if err := w.attempt(ctx, includeJS); err != nil {
		w.failed(err)
		return
	}
	w.backoff, w.retryAt = 0, time.Time{}
}

// flushUntil attempts until everything is written or ctx is done.
func (w *worker) flushUntil(ctx context.Context) error {
	for {
		err := w.attempt(ctx, true)
		if err == nil {
			w.backoff, w.retryAt = 0, time.Time{}
			return nil
		}
		w.failed(err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last store error: %v)", ctx.Err(), err)
		case <-time.After(time.Until(w.retryAt)):
		}
	}
}

func (w *worker) failed(err error) {
	w.p.stats.retries.Add(1)
	w.p.stats.storeErr("transient")
	if w.backoff == 0 {
		w.backoff = minBackoff
	} else {
		w.backoff = min(2*w.backoff, maxBackoff)
	}
	jitter := time.Duration(rand.Int64N(int64(w.backoff)/2 + 1))
	w.retryAt = w.p.cfg.Now().Add(w.backoff/2 + jitter)
	w.p.cfg.Logger.Warn("skopos: store write failed, will retry", "error", err, "retry_in", w.backoff, "held_events", w.heldEvents())
}

func (w *worker) heldEvents() int { return int(w.held.Load()) }

// attempt sessionizes pending events into chunks and writes every unsent
// chunk in order, stopping at the first transient failure.
func (w *worker) attempt(ctx context.Context, includeJS bool) error {
	started := time.Now()
	if w.p.cfg.Forward != nil {
		if err := w.forward(ctx); err != nil {
			return err
		}
		return w.flushed(started, false)
	}
	if err := w.prepare(ctx, includeJS); err != nil {
		return err
	}
	for conflicts := 0; len(w.unsent) > 0; {
		c := w.unsent[0]
		err := w.write(ctx, c)
		if errors.Is(err, errConflict) || errors.Is(err, errRebuild) {
			if errors.Is(err, errConflict) {
				w.p.stats.conflicts.Add(1)
				if conflicts++; conflicts > 10 {
					return fmt.Errorf("%w: repeated conflicts with another writer", errTransient)
				}
			}
			js := w.requeue()
			if err := w.prepare(ctx, includeJS || js); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		w.unsent = w.unsent[1:]
		w.held.Add(-int64(c.nEvents()))
	}
	w.chunkUnits = 0
	return w.flushed(started, includeJS)
}

// flushed ends a successful attempt.
func (w *worker) flushed(started time.Time, includeJS bool) error {
	if sp := w.p.cfg.Spool; sp != nil && len(w.pending) == 0 {
		// everything read so far is stored or dropped
		sp.Checkpoint(w.seen)
	}
	if includeJS {
		w.lastJSErr = w.p.cfg.Now()
	}
	w.p.stats.flushes.Add(1)
	if w.p.cfg.OnFlush != nil {
		w.p.cfg.OnFlush(time.Since(started))
	}
	return nil
}

// forward hands pending events, in order, to the Skopos server in
// batches; the server sessionizes them (JS errors too: they are grouped
// there).
func (w *worker) forward(ctx context.Context) error {
	f := w.p.cfg.Forward
	w.inDoubt = 0
	for len(w.pending) > 0 {
		n := min(len(w.pending), f.MaxEvents())
		if w.fwdMax > 0 {
			n = min(n, w.fwdMax)
		}
		batch := w.pending[:n]
		err := f.Forward(ctx, BatchID(batch), batch)
		switch {
		case err == nil:
			w.p.stats.stored.Add(uint64(n))
		case errors.Is(err, ErrBatchTooLarge) && n > 1:
			w.fwdMax = n / 2
			continue
		case errors.Is(err, ErrForwardRefused) || errors.Is(err, ErrBatchTooLarge):
			w.p.stats.drop(ReasonRefused, n)
			w.p.stats.storeErr("permanent")
			w.p.cfg.Logger.Error("skopos: the Skopos server refused events; dropped", "events", n, "error", err)
		default:
			if ctx.Err() != nil {
				// the deadline cut the request off: the server may
				// have stored the batch without our hearing it
				w.inDoubt = n
			}
			return fmt.Errorf("%w: %w", errTransient, err)
		}
		// with an intake log, what the server took (or refused for good)
		// is done even if a later batch of this flush never is: a
		// Shutdown must not count it as unwritten, nor the next start
		// send it again
		if sp := w.p.cfg.Spool; sp != nil {
			sp.Checkpoint(batch[n-1].Seq)
		}
		w.pending = w.pending[n:]
		w.held.Add(-int64(n))
	}
	w.pending = nil
	return nil
}

// prepare turns pending events, and with includeJS the grouped JS errors,
// into unsent chunks (JS errors after the events, whose sessions they may
// point at).
func (w *worker) prepare(ctx context.Context, includeJS bool) error {
	if len(w.pending) > 0 {
		if err := w.sessionize(ctx); err != nil {
			return err
		}
	}
	if includeJS && len(w.jsErrs) > 0 {
		maxOps, err := w.p.cfg.Store.MaxOps(ctx)
		if err != nil {
			return err
		}
		chunks, err := w.jsErrorChunks(ctx, maxOps)
		if err != nil {
			return err
		}
		w.unsent = append(w.unsent, chunks...)
		w.lastJSErr = w.p.cfg.Now()
	}
	return nil
}

var errTransient = errors.New("transient store failure")
