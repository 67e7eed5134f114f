package stats

import (
	"errors"
	"sync"
	"sync/atomic"
)

// ErrBusy is returned by Gate.Enter when a website or a shared link has
// as many reports running as it may. The API answers it 503 with
// Retry-After.
var ErrBusy = errors.New("stats: too many reports of this website running at once")

// RetryBusy and RetryBudget are the Retry-After, in seconds, of an
// answer to ErrBusy (the running reports end soon) and to ErrBudget (the
// same report would take as long again: give the server a rest).
const (
	RetryBusy   = 1
	RetryBudget = 30
)

// Default bounds of a Gate: the reports one website, and one shared link
// of it, may have running at once.
const (
	DefaultPerSite = 4
	DefaultPerLink = 2
)

// Gate bounds the reports that run at once per website and per shared
// link, so that one site's readers (or one link's, which anyone may hold)
// cannot take every connection and core. A report over the bound is
// refused at once rather than queued: a queue would hold the request
// (and its client's connection) for as long as the reports ahead of it
// take, up to their budget each. The zero Gate and a nil one bound
// nothing.
type Gate struct {
	perSite, perLink int
	mu               sync.Mutex
	running          map[string]int // by "s:" site id and "l:" link id
	refused          atomic.Int64
}

// NewGate bounds each website to perSite reports at once and each shared
// link to perLink (of its website's); 0 or less: not bounded.
func NewGate(perSite, perLink int) *Gate {
	return &Gate{perSite: perSite, perLink: perLink}
}

// Enter takes a slot for a report of site, through the shared link link
// ("" for its owner, an API key or a superuser). It returns the function
// that gives the slot back, or ErrBusy and takes nothing.
func (g *Gate) Enter(site, link string) (leave func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	keys := []string{"s:" + site}
	limits := []int{g.perSite}
	if link != "" {
		keys, limits = append(keys, "l:"+link), append(limits, g.perLink)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.running == nil {
		g.running = map[string]int{}
	}
	for i, k := range keys {
		if limits[i] > 0 && g.running[k] >= limits[i] {
			g.refused.Add(1)
			return nil, ErrBusy
		}
	}
	for _, k := range keys {
		g.running[k]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			for _, k := range keys {
				if g.running[k]--; g.running[k] <= 0 {
					delete(g.running, k)
				}
			}
		})
	}, nil
}

// Refused counts the reports Enter refused since the Gate was made.
func (g *Gate) Refused() int64 {
	if g == nil {
		return 0
	}
	return g.refused.Load()
}
