// Package window counts attempts per key (a client address, an account)
// in a sliding window, for the rate limits of logins, API keys and shared
// links.
package window

import (
	"sync"
	"time"
)

// maxKeys is when Add sweeps keys whose attempts all left the window, so
// that memory stays bounded under a distributed attack.
const maxKeys = 10000

// Limiter allows Max attempts per key within Window. It is safe for
// concurrent use; its zero value is not usable (see New).
type Limiter[K comparable] struct {
	now    func() time.Time
	max    int
	window time.Duration

	mu       sync.Mutex
	attempts map[K][]time.Time
}

// New returns a limiter of max attempts per key per window, reading the
// time from now (nil: time.Now).
func New[K comparable](now func() time.Time, max int, window time.Duration) *Limiter[K] {
	if now == nil {
		now = time.Now
	}
	return &Limiter[K]{now: now, max: max, window: window, attempts: map[K][]time.Time{}}
}

// Blocked reports whether key used up its attempts in the window.
func (l *Limiter[K]) Blocked(key K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recent(key, l.now())) >= l.max
}

// Add counts an attempt of key.
func (l *Limiter[K]) Add(key K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.attempts[key] = append(l.recent(key, now), now)
	if len(l.attempts) > maxKeys {
		for k := range l.attempts {
			l.recent(k, now)
		}
	}
}

// Allow counts an attempt of key and reports whether it is within the
// limit: Blocked and Add in one step, for limits on every request rather
// than on failures. A refused attempt is not counted, so a client that
// keeps trying is let in again once its earlier attempts leave the window.
func (l *Limiter[K]) Allow(key K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	r := l.recent(key, now)
	if len(r) >= l.max {
		return false
	}
	l.attempts[key] = append(r, now)
	return true
}

// recent drops key's attempts that left the window; l.mu is held.
func (l *Limiter[K]) recent(key K, now time.Time) []time.Time {
	ts := l.attempts[key]
	cut := now.Add(-l.window)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.attempts, key)
		return nil
	}
	l.attempts[key] = ts
	return ts
}
