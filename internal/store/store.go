// Package store is what the ingestion pipeline writes to and reads from:
// one interface with two implementations in their own packages, so that
// a program links only the one it runs. reststore talks to a remote
// PocketBase through pbrest (SDK mode); localstore writes through an
// in-process core.App (embedded mode). Both pass the same conformance
// tests.
//
// Writes are expressed as Ops applied in one transaction, all or nothing,
// so that an event and every record derived from it land together.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Action is what an Op does.
type Action int

const (
	// Create inserts a record with the given id; it fails with a
	// uniqueness error when the id or a UNIQUE index is already taken.
	Create Action = iota
	// Update changes fields of an existing record.
	Update
	// Upsert creates or updates the record with the given id.
	Upsert
)

func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Upsert:
		return "upsert"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Op is one record write. Data keys ending in "+" or "-" add to or subtract
// from a number field inside the transaction (exact under concurrency,
// because PocketBase runs write transactions one at a time).
type Op struct {
	Action     Action
	Collection string
	ID         string
	Data       map[string]any
}

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("store: not found")

// OpError reports which op of an Apply failed; the whole Apply was rolled
// back.
type OpError struct {
	Index int // index into the ops passed to Apply; -1 when unknown
	// Unique reports a uniqueness violation: another writer created the
	// record (or the same UNIQUE key) first.
	Unique bool
	// Permanent reports that retrying the same ops cannot succeed
	// (validation failure); otherwise the failure may be transient.
	Permanent bool
	// Timeout reports that the store gave up on the whole batch because
	// it took too long (PocketBase's batch timeout); the ops may pass in
	// smaller batches.
	Timeout bool
	Err     error
}

func (e *OpError) Error() string {
	kind := "transient"
	switch {
	case e.Unique:
		kind = "unique"
	case e.Permanent:
		kind = "permanent"
	}
	return fmt.Sprintf("store: op %d (%s): %v", e.Index, kind, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// Session is what the pipeline needs to continue a session it did not
// create itself (after a restart, or one created by another instance).
type Session struct {
	ID           string
	Seq          int
	StartedAt    time.Time
	LastActivity time.Time
	EntryPath    string
	ExitPath     string
	EventCount   int
	Engaged      bool
}

// PageView is what an engagement beacon needs of its page view's events
// row: its session, and the engagement stored so far.
type PageView struct {
	Session     string
	EngagedMs   int
	ScrollDepth int
}

// Website holds the settings of one website record.
type Website struct {
	ID                       string
	TrackingID               string
	Name                     string
	Domain                   string
	IsArchived               bool
	StoreRawIP               bool
	DisableLocalhostTracking bool
	IPBlacklist              []string
	DataRetentionDays        int
}

// SessionRefresher is implemented by stores that other writers share
// (SDK mode over PocketBase's batch API): before it sessionizes, the
// pipeline re-reads the open sessions of the visitors it holds, so that
// it continues another instance's latest state instead of its own stale
// copy.
type SessionRefresher interface {
	// OpenSessions returns, for each of visitorRecordIDs that has one,
	// its highest-seq session active at or after since.
	OpenSessions(ctx context.Context, visitorRecordIDs []string, since time.Time) (map[string]Session, error)
}

// VisitorKey names a visitor as the pipeline knows it: its website and
// its visitor id (the hash).
type VisitorKey struct{ Website, VisitorID string }

// VisitorRows is implemented by stores whose visitors rows may have ids
// the pipeline did not derive: a data dir adopted from Skopos Node keeps
// the Node SDK's random record ids, and a returning visitor must
// continue that row, not collide with it on (website, visitorId).
type VisitorRows interface {
	// VisitorRows returns the record id of the row each key has, for
	// the keys that have one.
	VisitorRows(ctx context.Context, keys []VisitorKey) (map[VisitorKey]string, error)
}

// EventKey names an events row with what the row holds besides its id: a
// replayed event carries the same website and, give or take a resend's
// delay, the same time.
type EventKey struct {
	ID, Website string
	Time        time.Time
}

// StoredEvents is implemented by stores whose events are found faster by
// their website and time than by id alone (ClickHouse's are ordered by
// website and time, with no index on the id): the pipeline asks it
// instead of Existing(events, ids) which of the events it is about to
// write are stored already.
type StoredEvents interface {
	// StoredEvents returns which of keys' ids are stored for their
	// website within a day of their time.
	StoredEvents(ctx context.Context, keys []EventKey) (map[string]bool, error)
}

// Store is the pipeline's view of PocketBase.
type Store interface {
	// Apply writes ops in one transaction. On failure it returns an
	// *OpError when it can tell which op failed.
	Apply(ctx context.Context, ops []Op) error
	// MaxOps is the largest number of ops one Apply accepts.
	MaxOps(ctx context.Context) (int, error)
	// Existing returns which of ids exist in collection.
	Existing(ctx context.Context, collection string, ids []string) (map[string]bool, error)
	// PageViews returns, for each of ids that is a page view's events
	// row, its session and engagement.
	PageViews(ctx context.Context, ids []string) (map[string]PageView, error)
	// LatestSession returns the visitor's session with the highest seq,
	// or ErrNotFound.
	LatestSession(ctx context.Context, visitorRecordID string) (Session, error)
	// WebsiteByTrackingID returns the website with that trackingId, or
	// ErrNotFound.
	WebsiteByTrackingID(ctx context.Context, trackingID string) (Website, error)
	// UpdateWebsite sets fields on a website record.
	UpdateWebsite(ctx context.Context, id string, data map[string]any) error
	// SpoolPosition returns the seq stored in the skopos_spool record with
	// id, 0 when there is none.
	SpoolPosition(ctx context.Context, id string) (uint64, error)
	// PaidOrders returns which of orderIDs already have an events row of
	// the website that carries revenue (the order's revenue is stored
	// once, whichever source sent it first).
	PaidOrders(ctx context.Context, websiteID string, orderIDs []string) (map[string]bool, error)
	// DimensionKeys returns, for each dimension, the distinct
	// dash_sum_items keys stored for the website in the hours of day (UTC
	// midnight).
	DimensionKeys(ctx context.Context, websiteID string, day time.Time) (map[string][]string, error)
}

// StringList reads a json field that should hold an array of strings;
// anything else (null, an object, numbers) yields the strings it has.
func StringList(raw []byte) []string {
	var items []any
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		if s, ok := it.(string); ok && strings.TrimSpace(s) != "" {
			out = append(out, strings.TrimSpace(s))
		}
	}
	return out
}
