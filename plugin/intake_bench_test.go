package plugin_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/plugin"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIntakeHTTP: accepted beacons through the real HTTP stack of an
// in-process PocketBase with the plugin (router, middlewares, validation,
// bot filter, identify, the durable append to the intake log with sync
// off). It reports the process CPU per request, client side included (the
// Go HTTP client on loopback costs roughly a third of it), and the
// writer's work on what was accepted.
func BenchmarkIntakeHTTP(b *testing.B) {
	srv := pbtest.Start(b, pbtest.Options{Plain: true, Setup: func(app core.App) error {
		return plugin.Register(app, nil, plugin.Config{Out: &bytes.Buffer{}, SpoolSync: "off"})
	}})
	srv.AddWebsite(b, "bench.example")
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var n atomic.Int64
	b.SetParallelism(16)
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"type":"pageView","url":"https://bench.example/p/%d","screenWidth":1280,"screenHeight":800,"language":"en-GB"}`, i%50)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+plugin.EventPath, strings.NewReader(body))
			browsertest.Headers(req.Header, "")
			req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			v := i % 10000 // the load tool's 10 000 visitors
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", v/250, v%250+1))
			resp, err := hc.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/req")
}
