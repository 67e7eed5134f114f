package skopos

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/skopos-go/skopos/internal/engine"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/pbrest"
)

// Version is the SDK version written to the website's sdkVersion field.
const Version = "0.1.0-go"

// Client records events for one website into a remote PocketBase. It is
// safe for concurrent use. Several Clients in one process do not share
// state.
type Client struct {
	opts  Options
	pb    *pbrest.Client
	sites *pipeline.Sites
	site  *pipeline.Site
	pipe  *pipeline.Pipeline
	debug atomic.Bool

	in        *engine.Engine
	settings  *settingsSync
	closeOnce sync.Once
	// stopVisitors ends the refresh of daily visitor salts
	stopVisitors context.CancelFunc
	visitorsDone chan struct{}
}

// PocketBase returns the authenticated PocketBase client the SDK uses, for
// your own reads and writes.
func (c *Client) PocketBase() *pbrest.Client { return c.pb }

// SetDebug switches debug logging at run time.
func (c *Client) SetDebug(on bool) { c.debug.Store(on) }

// FlushEvents writes everything accepted so far (events, sessions, JS
// errors), retrying transient failures until ctx is done.
func (c *Client) FlushEvents(ctx context.Context) error { return c.pipe.Flush(ctx) }

// Shutdown stops accepting events (later calls return ErrClosed), writes
// everything still held until ctx is done and stops the background work:
// when it returns, whatever the deadline, the Client has no goroutine or
// connection left. Events that could not be written are counted in
// Stats().Dropped["unwritten"] and reported by an error that errors.As
// turns into an *UnwrittenError carrying their number. Later calls return
// the first call's result.
func (c *Client) Shutdown(ctx context.Context) error {
	err := c.in.Close(ctx)
	c.closeOnce.Do(func() {
		c.settings.stop()
		c.stopVisitors()
		<-c.visitorsDone
		c.pb.CloseIdleConnections()
	})
	return err
}

// Collector returns a prometheus.Collector with the client's metrics
// (skopos_events_received_total, skopos_events_rejected_total{reason},
// skopos_events_dropped_total{reason}, skopos_queue_depth,
// skopos_flush_duration_seconds, skopos_store_errors_total{kind},
// skopos_store_retries_total, ...), labelled site=<SiteID>. Register it
// with your registry:
//
//	prometheus.MustRegister(client.Collector())
func (c *Client) Collector() prometheus.Collector { return c.in.Metrics() }

// Stats is a snapshot of a Client's counters.
type Stats = pipeline.Stats

// Stats returns the client's counters: events received, accepted, stored,
// and every event not stored, by reason.
func (c *Client) Stats() Stats { return c.pipe.Stats() }
