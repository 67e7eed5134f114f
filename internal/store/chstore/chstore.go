// Package chstore is the ClickHouse events store: a store.Store that
// keeps events, sessions, JS errors and page views' engagement in
// ClickHouse and everything else (websites, visitors, summaries, the
// intake log's position) in PocketBase, through a local store.
//
// The pipeline's writes stay one transaction: the rows meant for
// ClickHouse are written, encoded, into an outbox collection
// (skopos_ch_outbox) in the same PocketBase transaction as the
// summaries, and a shipper sends the outbox to ClickHouse in order and
// deletes what it sent. ClickHouse therefore receives every committed
// row and no row of a chunk that did not commit; after a crash between
// an insert and its deletion, the record's batch column shows the rows
// already there (events and JS errors are immutable rows; sessions and
// engagement are versioned rows, which a second copy does not change).
//
// One writer owns the sessions (the ingest route's, `skopos serve`):
// a session's update is written as its whole next version, from the
// state this store keeps of the sessions it wrote or read. Creates are
// not checked for uniqueness in ClickHouse; the pipeline's replay checks
// (Existing) read it after shipping.
package chstore

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/store"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Logger receives the shipper's failures; default slog.Default().
	Logger *slog.Logger
	// CacheSize bounds the sessions and the page views whose state the
	// store keeps for their next write (each); default 100 000.
	CacheSize int
}

// Store is the ClickHouse events store (see the package comment).
type Store struct {
	local store.Store
	app   core.App
	ch    *clickhouse.Client
	log   *slog.Logger

	mu        sync.Mutex // guards the fields below
	sessions  *lru[*sessionState]
	latest    *lru[string] // visitor record id → its highest-seq session id
	pageViews *lru[pageView]
	lastID    uint64 // the last outbox record id, as a number
	lastVer   uint64 // the last version written

	// pending are the ids of the events and sessions this process put in
	// the outbox and has not shipped yet, by outbox record: Existing
	// answers them without shipping first (drained records of an earlier
	// process are shipped once, by the first Existing: drained)
	pendMu  sync.Mutex
	pending map[string][]string // outbox record id → its rows' ids
	pendIDs map[string]int      // row id → how many pending records hold it
	drained bool

	shipMu sync.Mutex // one shipper at a time
	// unsure is set when the oldest outbox record may already be in
	// ClickHouse: at start (a crash may have come between an insert and
	// its deletion) and after an insert whose outcome is unknown
	unsure bool
	wake   chan struct{}
}

// New returns a Store writing through local (a localstore on app) and to
// ch, whose database must hold clickhouse.Schema's tables.
func New(app core.App, local store.Store, ch *clickhouse.Client, opts Options) *Store {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 100_000
	}
	return &Store{
		local: local, app: app, ch: ch, log: opts.Logger,
		sessions:  newLRU[*sessionState](opts.CacheSize),
		latest:    newLRU[string](opts.CacheSize),
		pageViews: newLRU[pageView](opts.CacheSize),
		unsure:    true,
		wake:      make(chan struct{}, 1),
		pending:   map[string][]string{},
		pendIDs:   map[string]int{},
	}
}

// sessionState is a session's latest row as written to ClickHouse.
type sessionState struct {
	row map[string]any
}

// pageView is what an engagement row needs of its page view.
type pageView struct {
	website, session       string
	timestamp              time.Time
	engagedMs, scrollDepth int
}

// ch tables
const (
	tEvents     = "events"
	tSessions   = "sessions"
	tJSErrors   = "js_errors"
	tEngagement = "engagement"
)

// The rest of store.Store: PocketBase's, or ClickHouse's after the
// outbox is shipped (so that what committed is there).

// MaxOps leaves room for the outbox records (one per table).
func (s *Store) MaxOps(ctx context.Context) (int, error) {
	n, err := s.local.MaxOps(ctx)
	return n - 4, err
}

// WebsiteByTrackingID reads PocketBase.
func (s *Store) WebsiteByTrackingID(ctx context.Context, trackingID string) (store.Website, error) {
	return s.local.WebsiteByTrackingID(ctx, trackingID)
}

// UpdateWebsite writes PocketBase.
func (s *Store) UpdateWebsite(ctx context.Context, id string, data map[string]any) error {
	return s.local.UpdateWebsite(ctx, id, data)
}

// SpoolPosition reads PocketBase, where the position commits with the
// outbox.
func (s *Store) SpoolPosition(ctx context.Context, id string) (uint64, error) {
	return s.local.SpoolPosition(ctx, id)
}

// DimensionKeys reads the summaries, in PocketBase.
func (s *Store) DimensionKeys(ctx context.Context, websiteID string, day time.Time) (map[string][]string, error) {
	return s.local.DimensionKeys(ctx, websiteID, day)
}

// VisitorRows reads the visitors, in PocketBase.
func (s *Store) VisitorRows(ctx context.Context, keys []store.VisitorKey) (map[store.VisitorKey]string, error) {
	if vr, ok := s.local.(store.VisitorRows); ok {
		return vr.VisitorRows(ctx, keys)
	}
	return map[store.VisitorKey]string{}, nil
}

// chunks yields values n at a time.
func chunks(values []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(values) > 0 {
			k := min(n, len(values))
			if !yield(values[:k]) {
				return
			}
			values = values[k:]
		}
	}
}
