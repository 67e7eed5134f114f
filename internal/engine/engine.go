// Package engine assembles a running ingestion pipeline from settings: the
// GeoIP database, the metrics collector, the pipeline itself and its
// browser endpoint. The SDK (package skopos) and the embedded server
// (package plugin) both build theirs here, so the two cannot drift apart,
// and Close releases everything New opened.
package engine

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

// Config configures an Engine. Store and Sites are required; zero values
// elsewhere take the documented defaults.
type Config struct {
	// Pipeline holds the pipeline's tuning (batching, queue, salt,
	// logger, clock) and its Store and Sites. Its IPs, Geo and OnFlush
	// fields are set by New from the fields below. Its clock (Now) also
	// stamps the intake log's records.
	Pipeline pipeline.Config

	// IPs resolves the client IP behind trusted proxies. Default: only
	// loopback addresses are trusted proxies. It is
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
	// spool.SyncAlways.
	SpoolSync spool.Sync

	// Pick chooses the website of a browser event from its page host;
	// nil means the event's website is unknown (every browser event is
	// refused as unknown_site).
	Pick func(host string) *pipeline.Site
}

// Engine is a running pipeline with what it needs. Its methods are safe
// for concurrent use.
type Engine struct {
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
	ErrGeoIP = errors.New("engine: GeoIP database")
	// ErrSpool wraps a failure to open the intake log in Config.SpoolDir.
	ErrSpool = errors.New("engine: intake log")
)

// New opens the GeoIP database, starts the pipeline's worker and returns
// the running Engine. Stop it with Close.
func New(cfg Config) (*Engine, error) {
	e := &Engine{ips: cfg.IPs, pick: cfg.Pick, log: cfg.Pipeline.Logger}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.ips == nil {
		ips, err := clientip.New(nil)
		if err != nil {
			return nil, err
		}
		e.ips = ips
	}
	if e.pick == nil {
		e.pick = func(string) *pipeline.Site { return nil }
	}
	e.geo = cfg.GeoDB
	if cfg.GeoIPDatabase != "" {
		_ = cfg.GeoDB.Close()
		db, err := geo.Open(cfg.GeoIPDatabase)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrGeoIP, err)
		}
		e.geo = db
	}
	// the collector reads the pipeline's counters when scraped, which is
	// only possible after New below has returned
	e.metrics = metrics.New(func() pipeline.Stats { return e.pipe.Stats() }, cfg.MetricLabels)
	if cfg.SpoolDir != "" {
		log, err := spool.Open(cfg.SpoolDir, spool.Options{MaxBytes: cfg.SpoolMaxBytes, Sync: cfg.SpoolSync,
			OnSync: e.metrics.ObserveSync, Logger: cfg.Pipeline.Logger, Now: cfg.Pipeline.Now})
		if err != nil {
			_ = e.geo.Close()
			return nil, fmt.Errorf("%w: %w", ErrSpool, err)
		}
		e.spool = log
		e.metrics.WithSpool(log.Stats)
	}
	pc := cfg.Pipeline
	pc.IPs, pc.Geo, pc.OnFlush, pc.Spool = e.ips, e.geo, e.metrics.ObserveFlush, e.spool
	pipe, err := pipeline.New(pc)
	if err != nil {
		e.release()
		return nil, err
	}
	e.pipe = pipe
	return e, nil
}

// Pipeline returns the running pipeline (intake, Flush, Stats).
func (e *Engine) Pipeline() *pipeline.Pipeline { return e.pipe }

// Metrics returns the Prometheus collector of the pipeline's counters.
func (e *Engine) Metrics() *metrics.Collector { return e.metrics }

// IPs returns the client-IP resolver the pipeline uses, so that other
// handlers of the same server (rate limits) see the same client address.
func (e *Engine) IPs() *clientip.Resolver { return e.ips }

// Handler returns the browser endpoint, routing events with Config.Pick.
func (e *Engine) Handler() http.Handler { return pipeline.Handler(e.pipe, e.pick) }

// Close stops the pipeline (see pipeline.Pipeline.Close: it writes what it
// holds until ctx is done, and always stops its worker) and then closes
// the GeoIP database. Later calls return the first call's result.
func (e *Engine) Close(ctx context.Context) error {
	err := e.pipe.Close(ctx)
	// the pipeline's goroutines have stopped once Close returns, whatever
	// the deadline did, so nothing uses these any more
	e.release()
	return err
}

func (e *Engine) release() {
	e.closeOnce.Do(func() {
		_ = e.geo.Close()
		if e.spool != nil {
			if err := e.spool.Close(); err != nil {
				e.log.Error("skopos: closing the intake log", "error", err)
			}
		}
	})
}

// SpoolStats returns the intake log's counters; ok is false without one.
func (e *Engine) SpoolStats() (st spool.Stats, ok bool) {
	if e.spool == nil {
		return st, false
	}
	return e.spool.Stats(), true
}
