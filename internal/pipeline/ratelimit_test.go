package pipeline_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testclock"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pipeline"
)

// TestBrowserEventsAreLimitedPerClientAddress: a client gets its burst
// and then its rate, both sides of the boundary; others are unaffected;
// the Handler answers 429 with Retry-After; refusals are counted.
func TestBrowserEventsAreLimitedPerClientAddress(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, "local", func(t *testing.T, e *env) {
		clk := testclock.New(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
		in := e.start(t, pipeline.Config{Now: clk.Now, RateLimit: 2, RateBurst: 5, Batch: true, BatchInterval: time.Hour})
		h := pipeline.Handler(in.p, func(string) *pipeline.Site { return in.site })
		send := func(ip string) int {
			r := httptest.NewRequest(http.MethodPost, "/api/event", strings.NewReader(`{"type":"pageView","url":"https://example.com/"}`))
			r.RemoteAddr = ip + ":1"
			browsertest.Headers(r.Header, chromeUA)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			return w.Code
		}
		for i := range 5 { // the burst
			if code := send("203.0.113.1"); code != http.StatusNoContent {
				t.Fatalf("event %d of the burst: %d", i+1, code)
			}
		}
		if code := send("203.0.113.1"); code != http.StatusTooManyRequests {
			t.Fatalf("6th event at once: %d, want 429", code)
		}
		if code := send("203.0.113.2"); code != http.StatusNoContent {
			t.Fatalf("another address: %d, want 204", code)
		}
		clk.Set(clk.Now().Add(time.Second)) // 2 tokens back
		for i := range 2 {
			if code := send("203.0.113.1"); code != http.StatusNoContent {
				t.Fatalf("after a second, event %d: %d", i+1, code)
			}
		}
		if code := send("203.0.113.1"); code != http.StatusTooManyRequests {
			t.Fatalf("3rd event in that second: %d, want 429", code)
		}
		if st := in.p.Stats(); st.Dropped[pipeline.ReasonRateLimited] != 2 || st.Accepted != 8 {
			t.Errorf("stats: rate_limited %d, accepted %d; want 2, 8", st.Dropped[pipeline.ReasonRateLimited], st.Accepted)
		}
		// TrackBrowser itself says why
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		r.RemoteAddr = "203.0.113.1:1"
		browsertest.Headers(r.Header, chromeUA)
		err := in.p.TrackBrowser(r, []byte(`{"type":"pageView","url":"https://example.com/"}`), func(string) *pipeline.Site { return in.site })
		if !errors.Is(err, pipeline.ErrRateLimited) {
			t.Errorf("TrackBrowser over the budget: %v, want ErrRateLimited", err)
		}
	})
}

// TestRecentDropsCountTheLastHourPerWebsite: filtered events are counted
// per website and reason for an hour, then forgotten.
func TestRecentDropsCountTheLastHourPerWebsite(t *testing.T) {
	t.Parallel()
	forEachStoreKind(t, "local", func(t *testing.T, e *env) {
		clk := testclock.New(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC))
		in := e.start(t, pipeline.Config{Now: clk.Now, Batch: true, BatchInterval: time.Hour})
		in.browse(t, "203.0.113.1", "curl/8.5.0", `{"type":"pageView","url":"https://example.com/"}`)
		in.browse(t, "203.0.113.1", "curl/8.5.0", `{"type":"pageView","url":"https://example.com/"}`)
		clk.Set(clk.Now().Add(30 * time.Minute))
		in.browse(t, "203.0.113.1", chromeUA, `{"type":"pageView","url":"https://elsewhere.example/"}`)
		in.browse(t, "203.0.113.1", chromeUA, `{"type":"pageView","url":"https://example.com/"}`) // stored: not counted
		got := in.p.RecentDrops(in.site.TrackingID)
		if got[pipeline.ReasonBot] != 2 || got[pipeline.ReasonDomain] != 1 || len(got) != 2 {
			t.Fatalf("after 30 minutes: %v; want bot 2, domain 1", got)
		}
		clk.Set(clk.Now().Add(31 * time.Minute)) // the bot drops are over an hour old
		if got := in.p.RecentDrops(in.site.TrackingID); got[pipeline.ReasonBot] != 0 || got[pipeline.ReasonDomain] != 1 {
			t.Fatalf("after 61 minutes: %v; want only domain 1", got)
		}
		if got := in.p.RecentDrops("someone-else"); len(got) != 0 {
			t.Fatalf("another website: %v", got)
		}
	})
}
