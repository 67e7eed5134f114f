package pipeline

import (
	"sync"
	"time"
)

// recentDrops counts, per website and reason, the events the intake
// filtered in the last hour (minute buckets), so that a user can see why
// their test events are missing (curl and headless browsers are bots).
type recentDrops struct {
	mu sync.Mutex
	m  map[string]*dropRing // trackingId → ring
}

type dropRing struct {
	minute [60]int64            // unix minute of each bucket
	counts [60]map[string]int64 // reason → count, in that minute
}

func (d *recentDrops) add(trackingID, reason string, now time.Time) {
	if trackingID == "" {
		return
	}
	m := now.Unix() / 60
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]*dropRing{}
	}
	r := d.m[trackingID]
	if r == nil {
		r = &dropRing{}
		d.m[trackingID] = r
	}
	i := m % 60
	if r.minute[i] != m || r.counts[i] == nil {
		r.minute[i], r.counts[i] = m, map[string]int64{}
	}
	r.counts[i][reason]++
}

// RecentDrops returns, by reason, the events of the website trackingID
// the intake filtered (bot, domain, blacklist, archived, localhost,
// rate_limited...) in the hour before now.
func (p *Pipeline) RecentDrops(trackingID string) map[string]int64 {
	now := p.cfg.Now().Unix() / 60
	out := map[string]int64{}
	p.recent.mu.Lock()
	defer p.recent.mu.Unlock()
	r := p.recent.m[trackingID]
	if r == nil {
		return out
	}
	for i := range r.minute {
		if now-r.minute[i] < 60 && r.counts[i] != nil {
			for reason, n := range r.counts[i] {
				out[reason] += n
			}
		}
	}
	return out
}
