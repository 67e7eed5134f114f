package skopos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/skopos-go/skopos/internal/botdetect"
	"github.com/skopos-go/skopos/internal/clientip"
	"github.com/skopos-go/skopos/internal/engine"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/reststore"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/internal/wire"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

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
	route, caps, err := connect(ctx, pb, opts)
	if err != nil {
		return nil, err
	}
	visitors, err := checkServer(ctx, pb, opts, route, caps)
	if err != nil {
		return nil, err
	}
	st := reststore.New(pb)
	sites, site, err := loadWebsite(ctx, st, opts.SiteID)
	if err != nil {
		return nil, err
	}
	c := &Client{opts: opts, pb: pb, sites: sites, site: site}
	c.debug.Store(opts.Debug)
	logRoute(opts, route)
	if err := c.startEngine(st, c.forwarder(route, caps), visitors, ips, bots); err != nil {
		return nil, err
	}
	c.startSettingsSync(st)
	c.runVisitors(visitors)
	started = true
	return c, nil
}

// connect signs in as the superuser and picks the route; caps is the
// Skopos server's capabilities on RouteIngest, nil on RouteBatch.
func connect(ctx context.Context, pb *pbrest.Client, opts Options) (route string, caps *wire.Capabilities, err error) {
	if err := pb.Authenticate(ctx); err != nil {
		return "", nil, classify(err)
	}
	return probeRoute(ctx, pb, opts)
}

// checkServer checks that the server holds what the route writes (the
// schema, the batch API) and that this SDK computes visitor ids as the
// Skopos server does, and returns the SDK's visitor id hasher.
func checkServer(ctx context.Context, pb *pbrest.Client, opts Options, route string, caps *wire.Capabilities) (*visitorid.Hasher, error) {
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
	return visitors, nil
}

// loadWebsite reads the website with trackingID, checks its domain and
// records the SDK version on it.
func loadWebsite(ctx context.Context, st *reststore.Store, trackingID string) (*pipeline.Sites, *pipeline.Site, error) {
	website, err := st.WebsiteByTrackingID(ctx, trackingID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: no website with trackingId %q", ErrWebsiteNotFound, trackingID)
	}
	if err != nil {
		return nil, nil, classify(err)
	}
	sites := pipeline.NewSites()
	site, err := sites.Put(website)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: website %q has domain %q: %w", ErrInvalidDomain, trackingID, website.Domain, err)
	}
	if err := st.UpdateWebsite(ctx, website.ID, map[string]any{"sdkVersion": Version}); err != nil {
		return nil, nil, classify(err)
	}
	return sites, site, nil
}

// logRoute says where events go. On the batch route it warns: each
// instance keeps its own sessions, which a deployment of several
// instances behind a load balancer must know about.
func logRoute(opts Options, route string) {
	if route == RouteIngest {
		opts.Logger.Info("skopos: events go to the Skopos server's ingest route; its writer builds sessions", "server", opts.PocketBaseURL)
		return
	}
	opts.Logger.Warn("skopos: events are written through PocketBase's batch API, so each instance of this app sessionizes on its own: "+
		"sessions and their summaries (bounces, durations, exit pages) drift unless each visitor's requests stick to one instance; "+
		"a Skopos server (`skopos serve`, or an app with the plugin) builds sessions in one place on its ingest route and avoids it",
		"server", opts.PocketBaseURL)
}

// forwarder is the pipeline's Forwarder on RouteIngest, nil on RouteBatch.
func (c *Client) forwarder(route string, caps *wire.Capabilities) pipeline.Forwarder {
	if route != RouteIngest {
		return nil
	}
	return &forwarder{pb: c.pb, max: min(caps.Ingest.MaxEvents, 5000)}
}

// startEngine starts the pipeline (and its intake log, GeoIP database and
// metrics) of the Client's website.
func (c *Client) startEngine(st store.Store, fwd pipeline.Forwarder, visitors *visitorid.Hasher, ips *clientip.Resolver, bots *botdetect.Patterns) error {
	opts := c.opts
	policy, _ := spool.ParseSync(opts.SpoolSync) // validated with the options
	in, err := engine.New(engine.Config{
		Pipeline: pipeline.Config{
			Store: st, Sites: c.sites, Forward: fwd, Route: RouteBatch,
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
		SpoolSync:     policy,
		MetricLabels:  prometheus.Labels{"site": opts.SiteID},
		// the browser endpoint of an SDK app serves its one website,
		// whatever the page host says (the domain check still applies)
		Pick: func(string) *pipeline.Site { return c.currentSite() },
	})
	switch {
	case errors.Is(err, engine.ErrGeoIP):
		return fmt.Errorf("%w: GeoIPDatabase: %w", ErrInvalidOption, err)
	case errors.Is(err, engine.ErrSpool):
		return fmt.Errorf("%w: SpoolDir: %w", ErrInvalidOption, err)
	case err != nil:
		return fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	c.in, c.pipe = in, in.Pipeline()
	return nil
}

// runVisitors refreshes the daily visitor salts until Shutdown.
func (c *Client) runVisitors(visitors *visitorid.Hasher) {
	ctx, cancel := context.WithCancel(context.Background())
	c.stopVisitors, c.visitorsDone = cancel, make(chan struct{})
	go func() {
		defer close(c.visitorsDone)
		visitors.Run(ctx)
	}()
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
		if slices.Contains(schema.Analysis, name) || slices.Contains(schema.Server, name) || slices.Contains(schema.Teams, name) {
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
