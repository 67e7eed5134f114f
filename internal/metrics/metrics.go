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
//	skopos_duplicate_orders_total           events stored without revenue: their order was already paid
//
// and, with an intake log:
//
//	skopos_spool_bytes                      bytes of the log's segment files
//	skopos_spool_oldest_unwritten_seconds   age of the oldest record not yet stored (0: none)
//	skopos_spool_appended_total             records appended since start
//	skopos_spool_checkpointed_total         records stored (or dropped) since start
//	skopos_spool_fsync_duration_seconds     histogram of the log's fsyncs
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/spool"
)

// rejected are the reasons whose events the caller was told about
// (an error, HTTP 400/503); every other reason is a silent drop.
var rejected = map[string]bool{pipeline.ReasonInvalid: true, pipeline.ReasonQueueFull: true, pipeline.ReasonClosed: true,
	pipeline.ReasonSpoolFull: true, pipeline.ReasonSpoolError: true}

// Collector is a prometheus.Collector over one pipeline's Stats.
type Collector struct {
	stats func() pipeline.Stats
	flush prometheus.Histogram

	received, stored, rejected, dropped, depth, storeErrs, retries, conflicts, duplicateOrders *prometheus.Desc

	spool                                                 func() spool.Stats // nil: no intake log
	fsync                                                 prometheus.Histogram
	spoolBytes, spoolOldest, spoolAppended, spoolCheckpts *prometheus.Desc
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
		duplicateOrders: d("skopos_duplicate_orders_total",
			"Events stored without their revenue because their order's revenue was already stored."),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "skopos_spool_fsync_duration_seconds", Help: "Duration of the intake log's fsyncs.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12), ConstLabels: constLabels,
		}),
		spoolBytes:    d("skopos_spool_bytes", "Bytes of the intake log's segment files."),
		spoolOldest:   d("skopos_spool_oldest_unwritten_seconds", "Age of the oldest intake log record not yet stored; 0 when none."),
		spoolAppended: d("skopos_spool_appended_total", "Records appended to the intake log since start."),
		spoolCheckpts: d("skopos_spool_checkpointed_total", "Intake log records stored or dropped since start."),
	}
}

// WithSpool adds the intake log's metrics, read from stats when scraped.
func (c *Collector) WithSpool(stats func() spool.Stats) { c.spool = stats }

// ObserveSync records one fsync of the intake log; pass it as the log's
// Options.OnSync.
func (c *Collector) ObserveSync(d time.Duration) { c.fsync.Observe(d.Seconds()) }

// ObserveFlush records one successful flush; pass it as the pipeline's
// Config.OnFlush.
func (c *Collector) ObserveFlush(d time.Duration) { c.flush.Observe(d.Seconds()) }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.received, c.stored, c.rejected, c.dropped, c.depth, c.storeErrs, c.retries, c.conflicts, c.duplicateOrders,
		c.spoolBytes, c.spoolOldest, c.spoolAppended, c.spoolCheckpts} {
		ch <- d
	}
	c.flush.Describe(ch)
	c.fsync.Describe(ch)
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
	counter(c.duplicateOrders, s.DuplicateOrders)
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
	if c.spool == nil {
		return
	}
	sp := c.spool()
	ch <- prometheus.MustNewConstMetric(c.spoolBytes, prometheus.GaugeValue, float64(sp.Bytes))
	age := 0.0
	if !sp.Oldest.IsZero() {
		age = time.Since(sp.Oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(c.spoolOldest, prometheus.GaugeValue, age)
	counter(c.spoolAppended, sp.Appended)
	counter(c.spoolCheckpts, sp.Checkpointed)
	c.fsync.Collect(ch)
}
