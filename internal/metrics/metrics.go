// Package metrics exposes a pipeline's counters to Prometheus under these
// names (dashboards and alerts depend on them; keep them stable):
//
//	skopos_events_received_total
//	skopos_events_stored_total
//	skopos_events_rejected_total{reason}   refused with an error: invalid, queue_full, closed
//	skopos_events_dropped_total{reason}    accepted or filtered but not stored: bot, domain, ...
//	skopos_queue_depth
//	skopos_flush_duration_seconds           histogram of successful flushes
//	skopos_store_errors_total{kind}         transient, permanent
//	skopos_store_retries_total
//	skopos_store_conflicts_total            rows another writer created first
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/skopos-go/skopos/internal/pipeline"
)

// rejected are the reasons whose events the caller was told about
// (an error, HTTP 400/503); every other reason is a silent drop.
var rejected = map[string]bool{pipeline.ReasonInvalid: true, pipeline.ReasonQueueFull: true, pipeline.ReasonClosed: true}

// Collector is a prometheus.Collector over one pipeline's Stats.
type Collector struct {
	stats func() pipeline.Stats
	flush prometheus.Histogram

	received, stored, rejected, dropped, depth, storeErrs, retries, conflicts *prometheus.Desc
}

// New returns a Collector reading stats; constLabels are added to every
// metric (e.g. {"site": trackingId} when several clients share a registry).
func New(stats func() pipeline.Stats, constLabels prometheus.Labels) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, constLabels)
	}
	return &Collector{
		stats: stats,
		flush: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "skopos_flush_duration_seconds", Help: "Duration of successful flushes to PocketBase.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12), ConstLabels: constLabels,
		}),
		received:  d("skopos_events_received_total", "Events offered to the intake."),
		stored:    d("skopos_events_stored_total", "Events written to PocketBase."),
		rejected:  d("skopos_events_rejected_total", "Events refused with an error to the caller, by reason.", "reason"),
		dropped:   d("skopos_events_dropped_total", "Events filtered or lost without an error to the caller, by reason.", "reason"),
		depth:     d("skopos_queue_depth", "Events accepted and not yet written."),
		storeErrs: d("skopos_store_errors_total", "Failed store writes, by kind.", "kind"),
		retries:   d("skopos_store_retries_total", "Store writes retried after a transient failure."),
		conflicts: d("skopos_store_conflicts_total", "Visitors or sessions another writer created first (resolved)."),
	}
}

// ObserveFlush records one successful flush; pass it as the pipeline's
// Config.OnFlush.
func (c *Collector) ObserveFlush(d time.Duration) { c.flush.Observe(d.Seconds()) }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.received, c.stored, c.rejected, c.dropped, c.depth, c.storeErrs, c.retries, c.conflicts} {
		ch <- d
	}
	c.flush.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.received, s.Received)
	counter(c.stored, s.Stored)
	counter(c.retries, s.Retries)
	counter(c.conflicts, s.Conflicts)
	for reason, n := range s.Dropped {
		if rejected[reason] {
			counter(c.rejected, n, reason)
		} else {
			counter(c.dropped, n, reason)
		}
	}
	for kind, n := range s.StoreErrs {
		counter(c.storeErrs, n, kind)
	}
	ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.QueueDepth))
	c.flush.Collect(ch)
}
