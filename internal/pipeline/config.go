package pipeline

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/skopos-go/skopos/internal/botdetect"
	"github.com/skopos-go/skopos/internal/clientip"
	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/visitorid"
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
