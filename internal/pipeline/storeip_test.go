package pipeline_test

import (
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/pipeline"
)

// TestStoreRawIPIsDecidedWhenTheEventIsAccepted: events accepted while
// storeRawIp was off keep no IP even when the setting is switched on
// before they are written, and the other way round.
func TestStoreRawIPIsDecidedWhenTheEventIsAccepted(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, "local", func(t *testing.T, e *env) {
		in := e.start(t, pipeline.Config{Batch: true, BatchInterval: time.Hour, MaxBatchSize: 1000})
		set := func(on bool) {
			w := e.site
			w.StoreRawIP = on
			site, err := in.sites.Put(w)
			if err != nil {
				t.Fatal(err)
			}
			in.site = site // what the intake picks from now on
		}
		page := `{"type":"pageView","url":"https://example.com/"}`
		in.browse(t, "203.0.113.1", chromeUA, page) // off
		set(true)
		in.browse(t, "203.0.113.2", chromeUA, page) // on
		set(false)
		in.browse(t, "203.0.113.3", chromeUA, page) // off again
		set(true)                                   // at write time: must not matter
		flush(t, in.p)
		var ips []string
		if err := e.app().DB().NewQuery("SELECT ipAddress FROM sessions WHERE ipAddress != '' ORDER BY ipAddress").Column(&ips); err != nil {
			t.Fatal(err)
		}
		if len(ips) != 1 || ips[0] != "203.0.113.2" {
			t.Fatalf("sessions with an IP: %v; want only 203.0.113.2 (accepted while storeRawIp was on)", ips)
		}
	})
}
