package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/skopos-go/skopos/internal/spool"
)

// New starts a pipeline's worker. Stop it with Close.
func New(cfg Config) (*Pipeline, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	p := &Pipeline{
		cfg:   cfg,
		queue: make(chan Event, cfg.QueueSize),
		reqs:  make(chan request),
		done:  make(chan struct{}),
	}
	p.run, p.cancelRun = context.WithCancelCause(context.Background())
	p.bots = newBots(cfg.BotPatterns)
	if cfg.RateLimit > 0 {
		p.limiter = newIPLimiter(cfg.RateLimit, cfg.RateBurst)
	}
	p.w = newWorker(p)
	if cfg.Spool != nil {
		p.reader = cfg.Spool.NewReader()
		p.fed = make(chan struct{})
		go p.feed()
	}
	go p.w.run()
	return p, nil
}

// feed moves the intake log's records, in order, into the worker's queue.
func (p *Pipeline) feed() {
	defer close(p.fed)
	defer p.reader.Close()
	backoff := minBackoff
	for {
		rec, err := p.reader.Next(p.run)
		switch {
		case err == nil:
			backoff = minBackoff
		case p.run.Err() != nil, errors.Is(err, spool.ErrClosed):
			return // Close, or the log closed under us
		default:
			// a read error (the disk): keep trying, the records are there
			p.cfg.Logger.Error("skopos: reading the intake log failed; retrying", "error", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-p.run.Done():
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		var ev Event
		if err := json.Unmarshal(rec.Data, &ev); err != nil {
			// cannot happen with records this code wrote; counted, not stored
			p.stats.drop(ReasonInvalid, 1)
			p.cfg.Logger.Error("skopos: unreadable record in the intake log; skipped", "seq", rec.Seq, "error", err)
			continue
		}
		ev.Seq = rec.Seq
		select {
		case p.queue <- ev:
		case <-p.run.Done():
			return
		}
	}
}

// Flush writes everything accepted before the call (events, sessions, JS
// errors), retrying transient failures until ctx is done.
func (p *Pipeline) Flush(ctx context.Context) error {
	return p.request(ctx, false)
}

// Exclusive runs fn on the worker once everything accepted before the
// call is written (as Flush), with no pipeline write before fn returns;
// then the worker forgets what it remembers of visitors, sessions and
// summary keys, so that rows fn deleted or changed are read again rather
// than continued from memory. Erasure runs here: a session it deletes
// must not be continued by the next event of its visitor. fn's error is
// returned; fn is not called when the flush fails.
func (p *Pipeline) Exclusive(ctx context.Context, fn func(context.Context) error) error {
	req := request{ctx: ctx, target: p.target(), reply: make(chan error, 1), fn: fn}
	return p.send(ctx, req)
}

// target is the last intake log record accepted so far: a Flush or Close
// waits until the worker has read that far.
func (p *Pipeline) target() uint64 {
	if p.cfg.Spool == nil {
		return 0
	}
	return p.cfg.Spool.Durable()
}

// Close stops intake (later events get ErrClosed), writes everything still
// held until ctx is done, and stops the worker: when Close returns, for any
// deadline, the pipeline has no goroutine left. Events that could not be
// written are counted as dropped ("unwritten") and reported by an
// *UnwrittenError. Later calls return the first call's result.
func (p *Pipeline) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		p.closeErr = p.stop(ctx)
	})
	return p.closeErr
}

func (p *Pipeline) stop(ctx context.Context) error {
	defer func() {
		p.cancelRun(ErrClosed)
		if p.fed != nil {
			<-p.fed
		}
	}()
	req := request{ctx: ctx, stop: true, target: p.target(), reply: make(chan error, 1)}
	select {
	case p.reqs <- req:
		err := <-req.reply
		<-p.done
		return err
	case <-p.done: // cannot happen before Close; kept so stop never blocks
		return nil
	case <-ctx.Done():
	}
	// The worker is busy with a write of its own (or a Flush) and the
	// deadline has passed: abort that write; the worker counts what it
	// still holds and exits.
	p.cancelRun(ctx.Err())
	<-p.done
	return p.w.abortErr
}

// UnwrittenError is returned by Close when its deadline passed before
// every accepted event was written. The events are counted as dropped with
// reason "unwritten".
type UnwrittenError struct {
	Events int // events accepted but not written
	// Unconfirmed (not among Events) were sent to the Skopos server in a
	// batch whose answer the deadline cut off: the server may have
	// stored them (without an intake log; with one they are sent again
	// after the next start, and the server recognises the batch).
	// Counted as dropped with reason "unconfirmed".
	Unconfirmed int
	// Spooled reports that the events are kept in the intake log and are
	// written after the next start: nothing is lost.
	Spooled bool
	Err     error // why: the context's error, with the last store error
}

func (e *UnwrittenError) Error() string {
	if e.Spooled {
		return fmt.Sprintf("skopos: shutdown: %d events kept in the spool, to be written after the next start: %v", e.Events, e.Err)
	}
	if e.Unconfirmed > 0 {
		return fmt.Sprintf("skopos: shutdown: %d events not written, %d sent but not confirmed (the server may have stored them): %v",
			e.Events, e.Unconfirmed, e.Err)
	}
	return fmt.Sprintf("skopos: shutdown: %d events not written: %v", e.Events, e.Err)
}

func (e *UnwrittenError) Unwrap() error { return e.Err }

type request struct {
	ctx    context.Context
	stop   bool
	target uint64 // with an intake log: read at least this far first
	reply  chan error
	fn     func(context.Context) error // Exclusive's, run after the flush
}

func (p *Pipeline) request(ctx context.Context, stop bool) error {
	return p.send(ctx, request{ctx: ctx, stop: stop, target: p.target(), reply: make(chan error, 1)})
}

func (p *Pipeline) send(ctx context.Context, req request) error {
	select {
	case p.reqs <- req:
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("skopos: flush not started: %w", ctx.Err())
	}
	return <-req.reply
}
