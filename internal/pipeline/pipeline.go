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
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skopos-go/skopos/internal/botdetect"
	"github.com/skopos-go/skopos/internal/clientip"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/validate"
	"github.com/skopos-go/skopos/internal/visitorid"
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

// Config configures a Pipeline. Zero durations and sizes take the defaults
// noted on each field (the skopos.Options defaults); Store and Sites are
// required.
type Config struct {
	Store store.Store
	Sites *Sites
	IPs   *clientip.Resolver // default: clientip.DefaultTrusted

	Batch           bool
	BatchInterval   time.Duration // default 10s
	MaxBatchSize    int           // default 100
	SessionTimeout  time.Duration // default 30m
	JSErrorInterval time.Duration // default 5m
	QueueSize       int           // default 10000
	// Visitors computes visitor ids; nil: the Skopos-compatible unsalted
	// hash (visitorid.Compatible).
	Visitors *visitorid.Hasher
	// Geo gives new sessions their country and state; nil = "Unknown".
	// The lookup happens only when a session is created.
	Geo *geo.DB
	// SessionCacheSize bounds the in-memory session cache (visitors);
	// default 50000. A miss costs a store lookup, never a split session.
	SessionCacheSize int
	// MaxJSErrors bounds the distinct JS errors held between flushes;
	// default 1000. Occurrences of further new errors are dropped, counted.
	MaxJSErrors int
	// MaxDimensionKeys bounds the keys of one breakdown dimension of one
	// website's day in dash_sum_items; the rest are counted under
	// "(other)". Default DefaultMaxDimensionKeys.
	MaxDimensionKeys int

	// Spool, when set, is the intake log: an event is accepted only once
	// it is appended to it (durable under its sync policy), the worker
	// reads events from it, and a restart continues where the store's
	// committed position says. Nil keeps events in memory only (a crash
	// or a Close past its deadline loses what was not yet written).
	// The caller opens and closes it; one Pipeline per Log.
	Spool *spool.Log

	// OnStored, when set, is called by the writer after each transaction
	// commits, with the events rows it created, in order. It runs on the
	// writer's goroutine: it must return quickly (hand slow work off).
	OnStored func([]StoredEvent)

	// RateLimit bounds the browser events one client address may send
	// per second (token bucket; RateBurst is its size): beyond it they are
	// refused (429) and counted as rate_limited. Zero means
	// DefaultRateLimit and DefaultRateBurst; negative turns it off.
	RateLimit float64
	RateBurst int
	// BotPatterns are extra user-agent patterns treated as bots (an
	// operator's list, see botdetect.CompilePatterns). Default none.
	BotPatterns *botdetect.Patterns

	// Forward, when set, sends events to a Skopos server instead of
	// sessionizing and storing them here: the server's single writer owns
	// the sessions (SDK mode through the server). Store is still used for
	// Identify.
	Forward Forwarder
	// Route names where events go, for Stats: "ingest" when Forward is
	// set, else this value ("batch", "local").
	Route string

	// OnFlush, when set, is called after every successful flush with its
	// duration (metrics).
	OnFlush func(time.Duration)

	Logger *slog.Logger
	Debug  *atomic.Bool // runtime debug switch; nil = off
	Now    func() time.Time
}

func (c *Config) defaults() error {
	if c.Store == nil || c.Sites == nil {
		return errors.New("pipeline: Store and Sites are required")
	}
	return c.defaultsNoStore()
}

func (c *Config) defaultsNoStore() error {
	if c.BatchInterval == 0 {
		c.BatchInterval = 10 * time.Second
	}
	if c.MaxBatchSize == 0 {
		c.MaxBatchSize = 100
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 30 * time.Minute
	}
	if c.JSErrorInterval == 0 {
		c.JSErrorInterval = 5 * time.Minute
	}
	if c.QueueSize == 0 {
		c.QueueSize = 10000
	}
	if c.SessionCacheSize == 0 {
		c.SessionCacheSize = 50000
	}
	if c.MaxJSErrors == 0 {
		c.MaxJSErrors = 1000
	}
	if c.MaxDimensionKeys == 0 {
		c.MaxDimensionKeys = DefaultMaxDimensionKeys
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.RateBurst <= 0 {
		c.RateBurst = max(DefaultRateBurst, int(c.RateLimit))
	}
	switch {
	case c.BatchInterval < 0, c.SessionTimeout < 0, c.JSErrorInterval < 0:
		return errors.New("pipeline: durations must be > 0")
	case c.MaxBatchSize < 0, c.QueueSize < 0, c.SessionCacheSize < 0, c.MaxJSErrors < 0, c.MaxDimensionKeys < 0:
		return errors.New("pipeline: sizes must be > 0")
	}
	if c.Spool != nil {
		// with an intake log the queue is only a read-ahead buffer
		c.QueueSize = min(c.QueueSize, readAhead(c.MaxBatchSize))
	}
	// every visitor of a held batch must fit in the cache at once
	c.SessionCacheSize = max(c.SessionCacheSize, c.QueueSize+c.MaxBatchSize)
	if c.IPs == nil {
		ips, err := clientip.New(nil)
		if err != nil {
			return err
		}
		c.IPs = ips
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Debug == nil {
		c.Debug = new(atomic.Bool)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

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

// readAhead sizes the in-memory buffer between the intake log and the
// worker: a few batches, and more than one backlog flush, so that reading
// never waits on the disk.
func readAhead(batch int) int { return max(4*batch, backlogBatch(batch)+batch, 4096) }

// maxBacklogBatch bounds the events of one flush taken from a backlog.
const maxBacklogBatch = 10000

// backlogBatch is how many events one flush takes while a backlog waits.
// Bigger transactions write each session row and summary row once for
// more events and commit less often; measured with the load tool's
// traffic (100 000 events from 10 000 visitors, 2 cores), flushes of
// 2 000 events stored 17.6–21.2 k events/s, of 10 000 events 22.4 k/s.
// A store's MaxOps still splits a flush into transactions.
func backlogBatch(batch int) int { return max(batch, min(5*batch, maxBacklogBatch)) }

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

// TrackBrowser is the intake of a browser payload (the body of POST
// /api/event). pick chooses the website from the page's host; in SDK mode
// it returns the client's site whatever the host. It returns nil for
// accepted and for filtered events (counted in Stats), an error wrapping
// ErrInvalidPayload, ErrQueueFull or ErrClosed otherwise.
func (p *Pipeline) TrackBrowser(r *http.Request, body []byte, pick func(host string) *Site) error {
	p.stats.received.Add(1)
	if p.closed.Load() {
		p.stats.drop(ReasonClosed, 1)
		return ErrClosed
	}
	ev, reason, err := p.browserEvent(r, body, pick)
	switch {
	case err != nil:
		p.stats.drop(ReasonInvalid, 1)
		p.debug("payload rejected", "error", err)
		return err
	case reason == ReasonRateLimited:
		p.stats.drop(reason, 1)
		p.recent.add(ev.TrackingID, reason, p.cfg.Now())
		p.debug("client over its event budget", "site", ev.TrackingID)
		return ErrRateLimited
	case reason != "":
		return p.filtered(reason, ev.TrackingID)
	}
	return p.enqueue(r, ev)
}

// browserEvent is the intake's hot path, top to bottom: validate, choose
// the website, check the domain, find the client IP, apply the website's
// filters, detect bots, identify the visitor. It does no I/O. A non-empty
// reason means the event is filtered.
func (p *Pipeline) browserEvent(r *http.Request, body []byte, pick func(host string) *Site) (ev Event, reason string, err error) {
	pl, err := validate.Decode(body)
	if err != nil {
		return ev, "", fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	site := pick(pl.Host)
	if site == nil {
		return ev, ReasonUnknownSite, nil
	}
	ev.TrackingID = site.TrackingID
	if reason := p.checkDomain(site, pl.Host, r.Header.Get("Origin")); reason != "" {
		return ev, reason, nil
	}
	ip := p.cfg.IPs.IP(r)
	if p.limiter != nil && !p.limiter.allow(ip, p.cfg.Now()) {
		return ev, ReasonRateLimited, nil
	}
	if reason := admit(site, ip); reason != "" {
		return ev, reason, nil
	}
	ua := r.UserAgent()
	if p.bots.IsBot(ua, r.Header) {
		return ev, ReasonBot, nil
	}
	return Event{
		Kind: kindOf(pl.Type), TrackingID: site.TrackingID, WebsiteID: site.ID,
		Visitor: p.visitorID(site.TrackingID, ip, ua),
		IP:      ip, UA: ua, StoreIP: site.StoreRawIP,
		Path: pl.Path, Name: pl.Name, Data: pl.CustomData, Duration: pl.Duration,
		Referrer: pl.Referrer, Language: pl.Language, ScreenWidth: pl.ScreenWidth, ScreenHeight: pl.ScreenHeight,
		UTM: pl.UTM, ErrorMessage: pl.ErrorMessage, StackTrace: pl.StackTrace,
	}, "", nil
}

// TrackServer is the intake of a server-side custom event for the website
// with trackingID. site is that website when already known; nil makes the
// worker resolve trackingID off the caller's path (unknown ones are
// dropped and counted).
func (p *Pipeline) TrackServer(r *http.Request, trackingID string, site *Site, name string, data map[string]any) error {
	p.stats.received.Add(1)
	if p.closed.Load() {
		p.stats.drop(ReasonClosed, 1)
		return ErrClosed
	}
	cleanName, cleanData, err := validate.CustomEvent(name, data)
	if err != nil {
		p.stats.drop(ReasonInvalid, 1)
		return fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	ip := p.cfg.IPs.IP(r)
	if site != nil {
		if reason := admit(site, ip); reason != "" {
			return p.filtered(reason, site.TrackingID)
		}
	}
	ua := r.UserAgent()
	// server events: no header heuristics, HTTP clients and webhooks are
	// legitimate; known crawlers and scanners are not
	if p.bots.IsBotServer(ua) {
		return p.filtered(ReasonBot, trackingID, "ua", ua)
	}
	ev := Event{
		Kind: Server, TrackingID: trackingID,
		Visitor: p.visitorID(trackingID, ip, ua),
		IP:      ip, UA: ua,
		Path: serverPath(r), Name: cleanName, Data: cleanData,
		Referrer: serverReferrer(r), ScreenWidth: -1, ScreenHeight: -1,
	}
	if site != nil {
		ev.WebsiteID, ev.StoreIP = site.ID, site.StoreRawIP
	}
	return p.enqueue(r, ev)
}

func (p *Pipeline) enqueue(r *http.Request, ev Event) error {
	ev.ID = NewID()
	ev.Time = p.cfg.Now().UTC().Truncate(time.Millisecond)
	if p.cfg.Spool != nil {
		return p.append(r, ev)
	}
	select {
	case p.queue <- ev:
		p.stats.accepted.Add(1)
		return nil
	default:
		p.stats.drop(ReasonQueueFull, 1)
		p.debug("queue full, event dropped", "queue", cap(p.queue))
		return ErrQueueFull
	}
}

// recordPool holds the buffers intake log records are encoded into.
var recordPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// append writes ev to the intake log and returns once it is durable.
func (p *Pipeline) append(r *http.Request, ev Event) error {
	bp := recordPool.Get().(*[]byte)
	defer recordPool.Put(bp)
	data, err := AppendRecord((*bp)[:0], &ev)
	*bp = data[:0] // Append copies the record: the buffer is ours again
	if err != nil {
		p.stats.drop(ReasonInvalid, 1)
		return fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	err = p.cfg.Spool.Append(ctx, data)
	switch {
	case err == nil:
		p.stats.accepted.Add(1)
		return nil
	case errors.Is(err, spool.ErrFull):
		p.stats.drop(ReasonSpoolFull, 1)
		p.debug("intake log full, event refused")
		return ErrSpoolFull
	case errors.Is(err, spool.ErrClosed):
		p.stats.drop(ReasonClosed, 1)
		return ErrClosed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// the caller left while its record was being written: it will
		// most likely be stored, so it is not counted as refused
		p.stats.accepted.Add(1)
		return err
	}
	p.stats.drop(ReasonSpoolError, 1)
	p.cfg.Logger.Error("skopos: intake log write failed; event refused", "error", err)
	return fmt.Errorf("%w: %w", ErrSpoolFull, err)
}

func (p *Pipeline) filtered(reason, trackingID string, attrs ...any) error {
	p.stats.drop(reason, 1)
	p.recent.add(trackingID, reason, p.cfg.Now())
	p.debug("event filtered", append([]any{"reason", reason, "site", trackingID}, attrs...)...)
	return nil
}

// checkDomain accepts the page host and the Origin header (when present)
// only when they are the site's domain or a subdomain of it.
func (p *Pipeline) checkDomain(site *Site, host, origin string) string {
	if site.Host == "" || !domain.Match(site.Host, host) {
		return ReasonDomain
	}
	if origin != "" && origin != "null" {
		oh, err := domain.Normalize(origin)
		if err != nil || !domain.Match(site.Host, oh) {
			return ReasonDomain
		}
	}
	return ""
}

func (p *Pipeline) debug(msg string, attrs ...any) {
	if p.cfg.Debug.Load() {
		p.cfg.Logger.Debug("skopos: "+msg, attrs...)
	}
}

func kindOf(t string) Kind {
	switch t {
	case validate.TypeCustom:
		return Custom
	case validate.TypeJSError:
		return JSError
	}
	return PageView
}

// Flush writes everything accepted before the call (events, sessions, JS
// errors), retrying transient failures until ctx is done.
func (p *Pipeline) Flush(ctx context.Context) error {
	return p.request(ctx, false)
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
	// Spooled reports that the events are kept in the intake log and are
	// written after the next start: nothing is lost.
	Spooled bool
	Err     error // why: the context's error, with the last store error
}

func (e *UnwrittenError) Error() string {
	if e.Spooled {
		return fmt.Sprintf("skopos: shutdown: %d events kept in the spool, to be written after the next start: %v", e.Events, e.Err)
	}
	return fmt.Sprintf("skopos: shutdown: %d events not written: %v", e.Events, e.Err)
}

func (e *UnwrittenError) Unwrap() error { return e.Err }

type request struct {
	ctx    context.Context
	stop   bool
	target uint64 // with an intake log: read at least this far first
	reply  chan error
}

func (p *Pipeline) request(ctx context.Context, stop bool) error {
	req := request{ctx: ctx, stop: stop, target: p.target(), reply: make(chan error, 1)}
	select {
	case p.reqs <- req:
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("skopos: flush not started: %w", ctx.Err())
	}
	return <-req.reply
}
