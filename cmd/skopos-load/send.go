package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sendStats is what sending measured.
type sendStats struct {
	accepted, rejected, errors int64
	start                      time.Time     // first request
	elapsed                    time.Duration // start until the last answer
	latencies                  []time.Duration
	rejects                    map[int]int64 // rejected answers by HTTP status
	firstErr                   error         // the first transport error
}

// counters are shared with the progress display.
type counters struct {
	accepted, rejected, errors atomic.Int64
}

func (c *counters) sent() int64 { return c.accepted.Load() + c.rejected.Load() }

// newHTTPClient returns a client tuned for many small requests to one host:
// idle connections kept for every worker, no proxy from the environment, no
// redirects followed (only -url is ever contacted), no transparent
// decompression (the Accept-Encoding header is the browser's).
func newHTTPClient(cfg config) *http.Client {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: (&net.Dialer{
			Timeout:   cfg.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          cfg.Concurrency * 2,
		MaxIdleConnsPerHost:   cfg.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		DisableCompression:    true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// send runs cfg.Concurrency workers until cfg.Events events are sent (or
// cfg.Duration has elapsed, or ctx is done).
func send(ctx context.Context, cfg config, prog *progress) sendStats {
	client := newHTTPClient(cfg)
	defer client.CloseIdleConnections()
	t := &traffic{
		visitors: makeVisitors(cfg.Visitors, cfg.Seed),
		origin:   cfg.Scheme + "://" + cfg.Domain,
		seed:     cfg.Seed,
	}

	urls := strings.Split(cfg.URL, ",")
	var (
		next     atomic.Int64
		c        counters
		mu       sync.Mutex
		all      []time.Duration
		rejects  = map[int]int64{}
		firstErr error
		wg       sync.WaitGroup
		deadline time.Time
	)
	start := time.Now()
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	prog.start(&c, start)
	for range cfg.Concurrency {
		wg.Go(func() {
			var lat []time.Duration
			local := map[int]int64{}
			var localErr error
			if cfg.Duration == 0 {
				lat = make([]time.Duration, 0, cfg.Events/cfg.Concurrency+1)
			}
			for ctx.Err() == nil {
				j := int(next.Add(1) - 1)
				if cfg.Duration == 0 && j >= cfg.Events {
					break
				}
				if cfg.Duration > 0 && !time.Now().Before(deadline) {
					break
				}
				// several endpoints: a visitor's n-th request goes to the
				// n-th, round-robin (a balancer without stickiness)
				endpoint := urls[j/len(t.visitors)%len(urls)]
				d, status, err := post(ctx, client, endpoint, t, j)
				switch {
				case err != nil:
					c.errors.Add(1)
					c.rejected.Add(1)
					if localErr == nil {
						localErr = err
					}
				case status >= 200 && status < 300:
					c.accepted.Add(1)
				default:
					c.rejected.Add(1)
					local[status]++
				}
				if err == nil {
					lat = append(lat, d)
				}
			}
			mu.Lock()
			all = append(all, lat...)
			for k, n := range local {
				rejects[k] += n
			}
			if firstErr == nil {
				firstErr = localErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return sendStats{
		accepted:  c.accepted.Load(),
		rejected:  c.rejected.Load(),
		errors:    c.errors.Load(),
		start:     start,
		elapsed:   time.Since(start),
		latencies: all,
		rejects:   rejects,
		firstErr:  firstErr,
	}
}

// describeRejects summarizes why requests were rejected, e.g.
// "503 ×8000, transport errors ×3 (first: ...)"; "" when none were.
func (st sendStats) describeRejects() string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(st.rejects)) {
		parts = append(parts, fmt.Sprintf("%d %s ×%d", code, http.StatusText(code), st.rejects[code]))
	}
	if st.errors > 0 {
		parts = append(parts, fmt.Sprintf("transport errors ×%d (first: %v)", st.errors, st.firstErr))
	}
	return strings.Join(parts, ", ")
}

// post sends event j and returns its latency (until the body was read) and
// status.
func post(ctx context.Context, client *http.Client, endpoint string, t *traffic, j int) (time.Duration, int, error) {
	v, page, body := t.event(j)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	setHeaders(req.Header, v, t.origin, page)
	begin := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // drain so the connection is reused
	resp.Body.Close()
	return time.Since(begin), resp.StatusCode, nil
}

// percentile is the nearest-rank p-th percentile of ds (sorted in place);
// 0 for no samples.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !slices.IsSorted(ds) {
		slices.Sort(ds)
	}
	rank := int(math.Ceil(p / 100 * float64(len(ds))))
	return ds[min(max(rank, 1), len(ds))-1]
}

func round(x float64, decimals int) float64 {
	f := math.Pow(10, float64(decimals))
	return math.Round(x*f) / f
}
