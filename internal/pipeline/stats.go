package pipeline

import (
	"sync"
	"sync/atomic"
)

// Reasons an event is not stored. Every dropped or refused event is
// counted under exactly one of them.
const (
	ReasonInvalid     = "invalid"      // payload failed validation (400)
	ReasonQueueFull   = "queue_full"   // intake queue full (503)
	ReasonClosed      = "closed"       // after Shutdown
	ReasonUnknownSite = "unknown_site" // no website for the host or trackingId
	ReasonDomain      = "domain"       // page or Origin host not the site's domain
	ReasonArchived    = "archived"     // website archived
	ReasonBlacklist   = "blacklist"    // client IP blacklisted
	ReasonLocalhost   = "localhost"    // localhost tracking disabled
	ReasonBot         = "bot"          // bot detected
	ReasonPermanent   = "permanent"    // the store refused the record (validation)
	ReasonUnwritten   = "unwritten"    // still unwritten when Shutdown's deadline passed
	// ReasonUnconfirmed: sent to the Skopos server in a batch whose
	// answer Shutdown's deadline cut off: the server may have stored them
	ReasonUnconfirmed  = "unconfirmed"
	ReasonJSErrorsFull = "jserrors_full" // too many distinct JS errors in one flush window
	ReasonSpoolFull    = "spool_full"    // the intake log holds its byte budget (503)
	ReasonSpoolError   = "spool_error"   // the intake log could not write the event (503)
	ReasonRefused      = "refused"       // the Skopos server refused a forwarded batch for good (4xx)
	ReasonRateLimited  = "rate_limited"  // the client address sent more than its budget (429)
	// ReasonEngagementOrphan: an engagement beacon whose page view is not
	// stored (never was, another visitor's, or erased); the browser got
	// its 202 all the same
	ReasonEngagementOrphan = "engagement_orphan"
)

// Stats is a snapshot of the pipeline's counters.
type Stats struct {
	Received   uint64            // events offered to the intake
	Accepted   uint64            // events queued for writing
	Stored     uint64            // events rows written, or handed to a Skopos server (Route "ingest")
	JSErrors   uint64            // JS error occurrences written (grouped into js_errors)
	Dropped    map[string]uint64 // events not stored, by reason (includes rejected ones)
	Retries    uint64            // store writes retried after a transient failure
	Conflicts  uint64            // records another writer created first (resolved)
	StoreErrs  map[string]uint64 // store failures by kind: transient, permanent
	QueueDepth int               // events accepted but not yet written
	Flushes    uint64            // successful flushes
	// Replayed counts events read again from the intake log after a
	// restart that the store already had (committed just before the
	// crash); they are skipped, not stored twice.
	Replayed uint64
	// DuplicateOrders counts events stored without their revenue because
	// their order's revenue was already stored (the same order sent by
	// the browser and the server, or twice by one of them).
	DuplicateOrders uint64
	// Refreshed counts cached sessions replaced by a newer state another
	// instance wrote (Route "batch").
	Refreshed uint64
	// Engagements counts engagement beacons applied to their page view
	// (they are no events rows: not in Stored).
	Engagements uint64
	// Route is where the writer sends events: "ingest" (a Skopos
	// server's ingest route, whose writer sessionizes them), "batch"
	// (PocketBase's batch API) or "local" (an in-process PocketBase).
	Route string
}

type counters struct {
	received, accepted, stored, jsErrors, retries, conflicts, flushes, replayed, refreshed, duplicateOrders, engagements atomic.Uint64

	mu        sync.Mutex
	dropped   map[string]uint64
	storeErrs map[string]uint64
}

func (c *counters) drop(reason string, n int) {
	c.mu.Lock()
	if c.dropped == nil {
		c.dropped = map[string]uint64{}
	}
	c.dropped[reason] += uint64(n)
	c.mu.Unlock()
}

func (c *counters) storeErr(kind string) {
	c.mu.Lock()
	if c.storeErrs == nil {
		c.storeErrs = map[string]uint64{}
	}
	c.storeErrs[kind]++
	c.mu.Unlock()
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Received: c.received.Load(), Accepted: c.accepted.Load(), Stored: c.stored.Load(),
		JSErrors: c.jsErrors.Load(), Retries: c.retries.Load(), Conflicts: c.conflicts.Load(),
		Flushes: c.flushes.Load(), Replayed: c.replayed.Load(), Refreshed: c.refreshed.Load(),
		DuplicateOrders: c.duplicateOrders.Load(), Engagements: c.engagements.Load(),
		Dropped: map[string]uint64{}, StoreErrs: map[string]uint64{},
	}
	c.mu.Lock()
	for k, v := range c.dropped {
		s.Dropped[k] = v
	}
	for k, v := range c.storeErrs {
		s.StoreErrs[k] = v
	}
	c.mu.Unlock()
	return s
}
