package plugin_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
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

// BenchmarkIntakeHTTP: the server's CPU per accepted beacon through the
// real HTTP stack of an in-process PocketBase with the plugin (net/http,
// validation, bot filter, identify, the append to the intake log; the
// variants below), and nothing else: the client runs in
// another process (this test binary, re-executed), and the writer is held
// off for the measurement by a transaction that keeps PocketBase's only
// write connection, so that what it would store afterwards is not
// counted (a warm-up first blocks the intake log's reader on a one-event
// read-ahead, so that it does not run in the window either). GC is
// counted: the intake's garbage is its cost.
func BenchmarkIntakeHTTP(b *testing.B) {
	for _, v := range []struct {
		name   string
		sync   string
		router bool // Config.EventsThroughRouter
	}{
		{"direct", "off", false},
		{"through-router", "off", true},
		// fsyncs every 10 ms: at 32 concurrent clients the rate is bound
		// by that wait, and the CPU per request includes idle wake-ups
		{"direct-sync-batch", "batch", false},
	} {
		b.Run(v.name, func(b *testing.B) {
			srv := pbtest.Start(b, pbtest.Options{Plain: true, Setup: func(app core.App) error {
				return plugin.Register(app, nil, plugin.Config{Out: &bytes.Buffer{}, SpoolSync: v.sync, QueueSize: 1,
					TrustedProxies: []string{"127.0.0.1/32"}, EventsThroughRouter: v.router})
			}})
			srv.AddWebsite(b, "bench.example")
			benchIntake(b, srv)
		})
	}
	// the floor: net/http and the kernel's loopback alone, a handler that
	// reads the body and answers 204, loaded by the same client
	b.Run("net-http-floor", func(b *testing.B) {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
		}))
		defer hs.Close()
		measureClient(b, hs.URL+plugin.EventPath)
	})
}

func benchIntake(b *testing.B, srv *pbtest.Server) {
	held, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = srv.App().RunInTransaction(func(core.App) error {
			close(held)
			<-release
			return nil
		})
	})
	<-held
	defer wg.Wait()
	defer close(release)

	url := srv.URL + plugin.EventPath
	// Warm up past what the writer side can take while held: with a
	// read-ahead of one event (QueueSize 1) the intake log's reader blocks
	// after one batch, long before these 5 000 are answered (it decodes
	// faster than HTTP accepts), so neither it nor the writer runs in the
	// window.
	runClient(b, url, 5000)
	measureClient(b, url)
}

// runClient sends n beacons to url from another process.
func runClient(b *testing.B, url string, n int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestIntakeClientProcess$")
	cmd.Env = append(os.Environ(), "SKOPOS_INTAKE_CLIENT="+url, "SKOPOS_INTAKE_REQUESTS="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out := &bytes.Buffer{}
	cmd.Stdout = out
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "accepted "+strconv.Itoa(n)) {
		b.Fatalf("client: %v\n%s", err, out)
	}
}

// measureClient reports this process's CPU, allocations and bytes per
// request while b.N beacons are sent to url.
func measureClient(b *testing.B, url string) {
	n := b.N
	// SKOPOS_INTAKE_CPUPROFILE=file profiles the measured window alone
	// (go test's -cpuprofile would add the writer's catch-up afterwards)
	if f := os.Getenv("SKOPOS_INTAKE_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	cpu := cpuTime()
	runClient(b, url, n)
	used := cpuTime() - cpu
	b.StopTimer()
	pprof.StopCPUProfile()
	runtime.ReadMemStats(&after)
	if f := os.Getenv("SKOPOS_INTAKE_MEMPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		if err := pprof.Lookup("allocs").WriteTo(out, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(used.Microseconds())/float64(n), "cpu-µs/req")
	// allocations are steadier than CPU time on a shared machine
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/req")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "B/req")
}

// TestIntakeClientProcess is BenchmarkIntakeHTTP's client when the
// benchmark re-executes this binary; run on its own it does nothing.
func TestIntakeClientProcess(t *testing.T) {
	url := os.Getenv("SKOPOS_INTAKE_CLIENT")
	if url == "" {
		t.Skip("the client process of BenchmarkIntakeHTTP")
	}
	n, _ := strconv.Atoi(os.Getenv("SKOPOS_INTAKE_REQUESTS"))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	var next, ok atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				body := fmt.Sprintf(`{"type":"pageView","url":"https://bench.example/p/%d","screenWidth":1280,"screenHeight":800,"language":"en-GB"}`, i%50)
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
				browsertest.Headers(req.Header, "")
				req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
				v := i % 10000 // the load tool's 10 000 visitors
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", v/250, v%250+1))
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					t.Errorf("status %d", resp.StatusCode)
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("accepted %d\n", ok.Load())
}
