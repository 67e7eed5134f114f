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
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/skopos-go/skopos/internal/clientip"
	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/metrics"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/spool"
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
	// GeoDB is an open database used when GeoIPDatabase is empty (the
	// server's bundled one); New takes it over, Close closes it.
	GeoDB *geo.DB

	// MetricLabels are constant labels on every metric (the SDK labels
	// its metrics with its site). Default none.
	MetricLabels prometheus.Labels

	// SpoolDir, when set, is the directory of the intake log: an event is
	// acknowledged once it is durable there, and what is not yet stored
	// survives a crash, a restart or a store outage. Empty keeps events
	// in memory only. New opens the log and Close closes it.
	SpoolDir string
	// SpoolMaxBytes bounds the intake log; default 1 GiB. Over it, events
	// are refused (HTTP 503, counted as spool_full).
	SpoolMaxBytes int64
	// SpoolSync is the intake log's durability policy; default
	// spool.SyncBatch.
	SpoolSync spool.Sync

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
	spool   *spool.Log
	log     *slog.Logger

	closeOnce sync.Once
}

// Errors of New.
var (
	// ErrGeoIP wraps a failure to open Config.GeoIPDatabase.
	ErrGeoIP = errors.New("ingest: GeoIP database")
	// ErrSpool wraps a failure to open the intake log in Config.SpoolDir.
	ErrSpool = errors.New("ingest: intake log")
)

// New opens the GeoIP database, starts the pipeline's worker and returns
// the running Ingest. Stop it with Close.
func New(cfg Config) (*Ingest, error) {
	in := &Ingest{ips: cfg.IPs, pick: cfg.Pick, log: cfg.Pipeline.Logger}
	if in.log == nil {
		in.log = slog.Default()
	}
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
	in.geo = cfg.GeoDB
	if cfg.GeoIPDatabase != "" {
		_ = cfg.GeoDB.Close()
		db, err := geo.Open(cfg.GeoIPDatabase)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGeoIP, err)
		}
		in.geo = db
	}
	// the collector reads the pipeline's counters when scraped, which is
	// only possible after New below has returned
	in.metrics = metrics.New(func() pipeline.Stats { return in.pipe.Stats() }, cfg.MetricLabels)
	if cfg.SpoolDir != "" {
		log, err := spool.Open(cfg.SpoolDir, spool.Options{MaxBytes: cfg.SpoolMaxBytes, Sync: cfg.SpoolSync,
			OnSync: in.metrics.ObserveSync, Logger: cfg.Pipeline.Logger})
		if err != nil {
			_ = in.geo.Close()
			return nil, fmt.Errorf("%w: %w", ErrSpool, err)
		}
		in.spool = log
		in.metrics.WithSpool(log.Stats)
	}
	pc := cfg.Pipeline
	pc.IPs, pc.Geo, pc.OnFlush, pc.Spool = in.ips, in.geo, in.metrics.ObserveFlush, in.spool
	pipe, err := pipeline.New(pc)
	if err != nil {
		in.release()
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
	// the pipeline's goroutines have stopped once Close returns, whatever
	// the deadline did, so nothing uses these any more
	in.release()
	return err
}

func (in *Ingest) release() {
	in.closeOnce.Do(func() {
		_ = in.geo.Close()
		if in.spool != nil {
			if err := in.spool.Close(); err != nil {
				in.log.Error("skopos: closing the intake log", "error", err)
			}
		}
	})
}

// SpoolStats returns the intake log's counters; ok is false without one.
func (in *Ingest) SpoolStats() (st spool.Stats, ok bool) {
	if in.spool == nil {
		return st, false
	}
	return in.spool.Stats(), true
}
