package skopos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/skopos-go/skopos/internal/botdetect"
	"github.com/skopos-go/skopos/internal/clientip"
	"github.com/skopos-go/skopos/internal/engine"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/reststore"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
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

// Init connects to PocketBase, picks the route (Options.Route: a Skopos
// server's ingest route, or PocketBase's batch API), checks that the
// server is ready for Skopos (schema, batch API for that route, the
// website and its domain), records the SDK version on the website and
// starts the background writer. Stop it with Shutdown.
//
// Its errors wrap one of ErrMissingOption, ErrInvalidOption,
// ErrAuthFailed, ErrUnreachable, ErrSchemaMissing, ErrBatchDisabled,
// ErrNoIngest, ErrWebsiteNotFound or ErrInvalidDomain.
func Init(ctx context.Context, opts Options) (*Client, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ips, err := clientip.New(opts.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("%w: TrustedProxies: %w", ErrInvalidOption, err)
	}
	bots, err := botdetect.CompilePatterns(opts.BotPatterns)
	if err != nil {
		return nil, fmt.Errorf("%w: BotPatterns: %w", ErrInvalidOption, err)
	}
	pb, err := pbrest.New(pbrest.Config{URL: opts.PocketBaseURL, Email: opts.AdminEmail, Password: opts.AdminPassword, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	started := false
	defer func() {
		if !started {
			pb.CloseIdleConnections()
		}
	}()
	if err := pb.Authenticate(ctx); err != nil {
		return nil, classify(err)
	}
	route, caps, err := probeRoute(ctx, pb, opts)
	if err != nil {
		return nil, err
	}
	mode, err := visitorMode(opts, caps)
	if err != nil {
		return nil, err
	}
	// the skopos_spool position is the batch writer's: through the
	// ingest route the server acknowledges durability itself
	spooled := opts.SpoolDir != "" && route == RouteBatch
	secrets := mode == visitorid.Daily || (mode == visitorid.Salted && opts.VisitorSalt == "")
	if err := checkSchema(ctx, pb, spooled, secrets); err != nil {
		return nil, err
	}
	visitors, err := visitorid.New(ctx, visitorid.Config{
		Mode: mode, Salt: opts.VisitorSalt, Secrets: reststore.NewSecrets(pb), Logger: opts.Logger,
	})
	if err != nil {
		return nil, classify(err)
	}
	if err := checkVisitors(visitors, caps); err != nil {
		return nil, err
	}
	if route == RouteBatch {
		if _, err := pb.BatchMaxRequests(ctx); err != nil {
			if errors.Is(err, pbrest.ErrBatchDisabled) {
				return nil, fmt.Errorf("%w: run `skopos schema apply` or enable it in the PocketBase settings", ErrBatchDisabled)
			}
			return nil, classify(err)
		}
	}
	st := reststore.New(pb)
	website, err := st.WebsiteByTrackingID(ctx, opts.SiteID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no website with trackingId %q", ErrWebsiteNotFound, opts.SiteID)
	}
	if err != nil {
		return nil, classify(err)
	}
	sites := pipeline.NewSites()
	site, err := sites.Put(website)
	if err != nil {
		return nil, fmt.Errorf("%w: website %q has domain %q: %w", ErrInvalidDomain, opts.SiteID, website.Domain, err)
	}
	if err := st.UpdateWebsite(ctx, website.ID, map[string]any{"sdkVersion": Version}); err != nil {
		return nil, classify(err)
	}

	sync, _ := spool.ParseSync(opts.SpoolSync) // validated with the options
	c := &Client{opts: opts, pb: pb, sites: sites, site: site}
	var visitorsCtx context.Context
	visitorsCtx, c.stopVisitors = context.WithCancel(context.Background())
	defer func() {
		if !started {
			c.stopVisitors()
		}
	}()
	c.debug.Store(opts.Debug)
	var fwd pipeline.Forwarder
	if route == RouteIngest {
		fwd = &forwarder{pb: pb, max: min(caps.Ingest.MaxEvents, 5000)}
		opts.Logger.Info("skopos: events go to the Skopos server's ingest route; its writer builds sessions", "server", opts.PocketBaseURL)
	} else {
		opts.Logger.Info("skopos: events are written through PocketBase's batch API", "server", opts.PocketBaseURL)
	}
	c.in, err = engine.New(engine.Config{
		Pipeline: pipeline.Config{
			Store: st, Sites: sites, Forward: fwd, Route: RouteBatch,
			Batch: opts.Batch, BatchInterval: opts.BatchInterval, MaxBatchSize: opts.MaxBatchSize,
			SessionTimeout: opts.SessionTimeout, JSErrorInterval: opts.JSErrorBatchInterval,
			QueueSize: opts.QueueSize, Visitors: visitors,
			RateLimit: opts.RateLimit, RateBurst: opts.RateBurst, BotPatterns: bots,
			Logger: opts.Logger, Debug: &c.debug,
		},
		IPs:           ips,
		GeoIPDatabase: opts.GeoIPDatabase,
		SpoolDir:      opts.SpoolDir,
		SpoolMaxBytes: opts.SpoolMaxBytes,
		SpoolSync:     sync,
		MetricLabels:  prometheus.Labels{"site": opts.SiteID},
		// the browser endpoint of an SDK app serves its one website,
		// whatever the page host says (the domain check still applies)
		Pick: func(string) *pipeline.Site { return c.currentSite() },
	})
	if errors.Is(err, engine.ErrGeoIP) {
		return nil, fmt.Errorf("%w: GeoIPDatabase: %w", ErrInvalidOption, err)
	}
	if errors.Is(err, engine.ErrSpool) {
		return nil, fmt.Errorf("%w: SpoolDir: %w", ErrInvalidOption, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	c.pipe = c.in.Pipeline()
	c.startSettingsSync(st)
	c.visitorsDone = make(chan struct{})
	go func() {
		defer close(c.visitorsDone)
		visitors.Run(visitorsCtx)
	}()
	started = true
	return c, nil
}

func checkSchema(ctx context.Context, pb *pbrest.Client, spooled, secrets bool) error {
	var list struct {
		Items []struct {
			Name   string `json:"name"`
			Fields []struct {
				Name   string   `json:"name"`
				Values []string `json:"values"`
			} `json:"fields"`
		} `json:"items"`
	}
	if err := pb.Do(ctx, http.MethodGet, "/api/collections?fields=name,fields&perPage=1000&skipTotal=1", nil, &list); err != nil {
		return classify(err)
	}
	var have []string
	for _, it := range list.Items {
		have = append(have, it.Name)
		if it.Name != schema.DashSumItems {
			continue
		}
		// the summaries' dimensions are a select: a schema from before a
		// dimension was added would refuse every batch that counts it
		for _, f := range it.Fields {
			if f.Name != "dimension" {
				continue
			}
			for _, d := range schema.Dimensions {
				if !slices.Contains(f.Values, d) {
					return fmt.Errorf("%w: %s.dimension lacks %q (an older schema); run `skopos schema apply`",
						ErrSchemaMissing, schema.DashSumItems, d)
				}
			}
		}
	}
	for _, name := range schema.All() {
		if slices.Contains(schema.Analysis, name) || slices.Contains(schema.Server, name) {
			continue // read by the stats API, never written by the SDK
		}
		if name == schema.Spools && !spooled {
			continue // only the spool's writer needs it
		}
		if name == schema.Secrets && !secrets {
			continue // compatible ids and an explicit salt need no stored one
		}
		if !slices.Contains(have, name) {
			return fmt.Errorf("%w: collection %q not found; run `skopos schema apply`", ErrSchemaMissing, name)
		}
	}
	return nil
}

// classify maps a PocketBase error onto the Init sentinels.
func classify(err error) error {
	switch {
	case errors.Is(err, pbrest.ErrUnauthorized), errors.Is(err, pbrest.ErrBadRequest), errors.Is(err, pbrest.ErrForbidden):
		return fmt.Errorf("%w: %w", ErrAuthFailed, err)
	case pbrest.IsTransient(err):
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
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
