// Package pipeline is Skopos' ingestion pipeline, shared by the SDK (a
// remote PocketBase) and the embedded server (an in-process PocketBase):
//
//	intake (caller's goroutine, no I/O):  validate → site → filter → identify → enqueue
//	worker (one goroutine per Pipeline):  sessionize → batch → write (retry) → stats
//
// Callers never wait on I/O: the intake either queues the event or refuses
// it at once (invalid, queue full, closed). Everything not stored is
// counted by reason in Stats.
package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/skopos-go/skopos/internal/botdetect"
	"github.com/skopos-go/skopos/internal/spool"
)

// Errors returned by the intake; the skopos package exports the same values.
var (
	ErrInvalidPayload = errors.New("skopos: invalid payload")
	ErrQueueFull      = errors.New("skopos: queue full")
	ErrClosed         = errors.New("skopos: client closed")
	ErrSpoolFull      = errors.New("skopos: intake log full")
	// ErrRateLimited: the client sent more browser events than its
	// per-address budget (Config.RateLimit); the Handler answers 429.
	ErrRateLimited = errors.New("skopos: too many events from this client")
)

// Pipeline is one ingestion pipeline. Methods are safe for concurrent use.
type Pipeline struct {
	cfg   Config
	queue chan Event
	reqs  chan request
	done  chan struct{}
	stats counters

	// run is the worker's own context; Close cancels it when its deadline
	// passes while the worker is busy, so that the worker always stops.
	run       context.Context
	cancelRun context.CancelCauseFunc
	closeOnce sync.Once
	closeErr  error
	closed    atomic.Bool
	batches   batchGate  // forwarded batches (Ingest)
	limiter   *ipLimiter // browser events per client address; nil: off
	recent    recentDrops
	ingestMu  sync.Mutex // a forwarded batch is queued whole or not at all

	bots *botdetect.Detector
	w    worker // owned by the worker goroutine

	reader *spool.Reader // with Config.Spool
	fed    chan struct{} // closed when the feeding goroutine ends
}

// newBots builds the bot detector. (Browser, OS and device names come
// from package uaname, per new session.)
func newBots(extra *botdetect.Patterns) *botdetect.Detector {
	return botdetect.New(botdetect.Options{Extra: extra})
}

// Stats returns a snapshot of the counters.
func (p *Pipeline) Stats() Stats {
	s := p.stats.snapshot()
	s.Route = p.cfg.Route
	if p.cfg.Forward != nil {
		s.Route = "ingest"
	}
	s.QueueDepth = len(p.queue) + int(p.w.held.Load())
	if p.cfg.Spool != nil {
		s.QueueDepth = int(p.cfg.Spool.Stats().Pending)
	}
	return s
}

func (p *Pipeline) debug(msg string, attrs ...any) {
	if p.cfg.Debug.Load() {
		p.cfg.Logger.Debug("skopos: "+msg, attrs...)
	}
}
