package skopos_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/skopos-go/skopos/internal/browsertest"
)

func TestCollectorExportsTheClientsCounters(t *testing.T) {
	t.Parallel()
	_, site, c := startClient(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Collector())

	r := httptest.NewRequest(http.MethodPost, "/", nil)
	browsertest.Headers(r.Header, "")
	_ = c.TrackAPIEvent(r, []byte(`{"type":"pageView","url":"https://example.com/"}`))
	_ = c.TrackAPIEvent(r, []byte(`{"type":"x"}`))
	if err := c.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "site" && l.GetValue() != site.GetString("trackingId") {
					t.Errorf("%s labelled site=%s", name, l.GetValue())
				}
				if l.GetName() == "reason" {
					name += "{" + l.GetValue() + "}"
				}
			}
			switch {
			case m.Counter != nil:
				got[name] = m.Counter.GetValue()
			case m.Gauge != nil:
				got[name] = m.Gauge.GetValue()
			case m.Histogram != nil:
				got[name] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	for name, want := range map[string]float64{
		"skopos_events_received_total": 2, "skopos_events_stored_total": 1,
		"skopos_events_rejected_total{invalid}": 1, "skopos_queue_depth": 0,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], want, got)
		}
	}
	if got["skopos_flush_duration_seconds"] < 1 {
		t.Errorf("no flush observed: %v", got)
	}
}
