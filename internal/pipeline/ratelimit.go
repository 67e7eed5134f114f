package pipeline

import (
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the per-client limit on browser events: a real browser
// sends a few events a minute (a page view, some clicks), so 20 per
// second with bursts of 100 leaves room for a whole office behind one
// address and still stops one client from filling the queue for everyone.
const (
	DefaultRateLimit = 20
	DefaultRateBurst = 100
)

// maxLimiters bounds the per-address limiters kept: beyond it, the idle
// ones (full buckets) are dropped.
const maxLimiters = 100_000

// ipLimiter is a token bucket per client address.
type ipLimiter struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[netip.Addr]*rate.Limiter
}

func newIPLimiter(perSecond float64, burst int) *ipLimiter {
	return &ipLimiter{limit: rate.Limit(perSecond), burst: burst, m: map[netip.Addr]*rate.Limiter{}}
}

// allow takes a token of ip's bucket.
func (l *ipLimiter) allow(ip netip.Addr, now time.Time) bool {
	l.mu.Lock()
	lim := l.m[ip]
	if lim == nil {
		if len(l.m) >= maxLimiters {
			for k, v := range l.m {
				if v.TokensAt(now) >= float64(l.burst) {
					delete(l.m, k)
				}
			}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[ip] = lim
	}
	l.mu.Unlock()
	return lim.AllowN(now, 1)
}
