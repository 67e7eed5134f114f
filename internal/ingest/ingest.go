// Package ingest assembles a running ingestion pipeline from settings: the
// GeoIP database, the metrics collector, the pipeline itself and its
// browser endpoint. The SDK (package skopos) and the embedded server
// (package plugin) both build theirs here, so the two cannot drift apart,
// and Close releases everything New opened.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/skopos-go/skopos/internal/clientip"
	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/metrics"
	"github.com/skopos-go/skopos/internal/pipeline"
)

// Config configures an Ingest. Store and Sites are required; zero values
// elsewhere take the documented defaults.
type Config struct {
	// Pipeline holds the pipeline's tuning (batching, queue, salt,
	// logger, clock) and its Store and Sites. Its IPs, Geo and OnFlush
	// fields are set by New from the fields below.
	Pipeline pipeline.Config

	// IPs resolves the client IP behind trusted proxies. Default: only
	// loopback, link-local and private ranges are trusted proxies. It is
	// a parsed value so that a caller validating its configuration early
	// parses the proxy list once and hands the result over.
	IPs *clientip.Resolver

	// GeoIPDatabase is the path of a MaxMind or DB-IP .mmdb file; empty
	// leaves country and state "Unknown". New opens it and Close closes it.
	GeoIPDatabase string

	// MetricLabels are constant labels on every metric (the SDK labels
	// its metrics with its site). Default none.
	MetricLabels prometheus.Labels

	// Pick chooses the website of a browser event from its page host;
	// nil means the event's website is unknown (every browser event is
	// refused as unknown_site).
	Pick func(host string) *pipeline.Site
}

// Ingest is a running pipeline with what it needs. Its methods are safe
// for concurrent use.
type Ingest struct {
	pipe    *pipeline.Pipeline
	metrics *metrics.Collector
	ips     *clientip.Resolver
	geo     *geo.DB
	pick    func(host string) *pipeline.Site

	closeGeo sync.Once
}

// ErrGeoIP wraps a failure to open Config.GeoIPDatabase.
var ErrGeoIP = errors.New("ingest: GeoIP database")

// New opens the GeoIP database, starts the pipeline's worker and returns
// the running Ingest. Stop it with Close.
func New(cfg Config) (*Ingest, error) {
	in := &Ingest{ips: cfg.IPs, pick: cfg.Pick}
	if in.ips == nil {
		ips, err := clientip.New(nil)
		if err != nil {
			return nil, err
		}
		in.ips = ips
	}
	if in.pick == nil {
		in.pick = func(string) *pipeline.Site { return nil }
	}
	if cfg.GeoIPDatabase != "" {
		db, err := geo.Open(cfg.GeoIPDatabase)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGeoIP, err)
		}
		in.geo = db
	}
	// the collector reads the pipeline's counters when scraped, which is
	// only possible after New below has returned
	in.metrics = metrics.New(func() pipeline.Stats { return in.pipe.Stats() }, cfg.MetricLabels)
	pc := cfg.Pipeline
	pc.IPs, pc.Geo, pc.OnFlush = in.ips, in.geo, in.metrics.ObserveFlush
	pipe, err := pipeline.New(pc)
	if err != nil {
		_ = in.geo.Close()
		return nil, err
	}
	in.pipe = pipe
	return in, nil
}

// Pipeline returns the running pipeline (intake, Flush, Stats).
func (in *Ingest) Pipeline() *pipeline.Pipeline { return in.pipe }

// Metrics returns the Prometheus collector of the pipeline's counters.
func (in *Ingest) Metrics() *metrics.Collector { return in.metrics }

// IPs returns the client-IP resolver the pipeline uses, so that other
// handlers of the same server (rate limits) see the same client address.
func (in *Ingest) IPs() *clientip.Resolver { return in.ips }

// Handler returns the browser endpoint, routing events with Config.Pick.
func (in *Ingest) Handler() http.Handler { return pipeline.Handler(in.pipe, in.pick) }

// Close stops the pipeline (see pipeline.Pipeline.Close: it writes what it
// holds until ctx is done, and always stops its worker) and then closes
// the GeoIP database. Later calls return the first call's result.
func (in *Ingest) Close(ctx context.Context) error {
	err := in.pipe.Close(ctx)
	// the pipeline's worker has stopped once Close returns, whatever the
	// deadline did, so nothing reads the database any more
	in.closeGeo.Do(func() { _ = in.geo.Close() })
	return err
}
