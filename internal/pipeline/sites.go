package pipeline

import (
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/store"
)

// Site is a website as the intake sees it: its settings and its
// normalized domain.
type Site struct {
	store.Website
	// Host is the normalized domain; empty when the configured domain is
	// unusable, in which case every event for the site is refused (counted
	// as "domain"): an unusable domain never fails open.
	Host string

	blocked []netip.Prefix // ipBlacklist, parsed once
}

// Sites holds the websites the pipeline serves, safe for concurrent use.
// It is updated when settings change (realtime, record hooks).
type Sites struct {
	mu         sync.RWMutex
	byTracking map[string]*Site
	byID       map[string]*Site
	byHost     map[string]*Site
	misses     map[string]time.Time // trackingId → when a lookup found nothing
}

// NewSites returns an empty registry.
func NewSites() *Sites {
	return &Sites{
		byTracking: map[string]*Site{}, byID: map[string]*Site{},
		byHost: map[string]*Site{}, misses: map[string]time.Time{},
	}
}

// Put adds or replaces a website. It returns the site and, when the
// configured domain is unusable, the error (the site is kept, refusing
// events, so that the problem is visible instead of silently open).
func (s *Sites) Put(w store.Website) (*Site, error) {
	host, err := domain.Normalize(w.Domain)
	site := &Site{Website: w, Host: host, blocked: parseBlacklist(w.IPBlacklist)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.byID[w.ID]; old != nil {
		s.removeLocked(old)
	}
	s.byTracking[w.TrackingID] = site
	s.byID[w.ID] = site
	delete(s.misses, w.TrackingID)
	if host != "" {
		// two sites on one domain: the older keeps it (first registered)
		if _, taken := s.byHost[host]; !taken {
			s.byHost[host] = site
		}
	}
	return site, err
}

// Remove forgets a website (deleted): its events are dropped from then on.
func (s *Sites) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.byID[id]; old != nil {
		s.removeLocked(old)
	}
}

func (s *Sites) removeLocked(old *Site) {
	delete(s.byID, old.ID)
	if s.byTracking[old.TrackingID] == old {
		delete(s.byTracking, old.TrackingID)
	}
	if old.Host != "" && s.byHost[old.Host] == old {
		delete(s.byHost, old.Host)
		for _, other := range s.byID { // hand the domain to another site on it
			if other.Host == old.Host {
				s.byHost[old.Host] = other
				break
			}
		}
	}
}

// ByTrackingID returns the site with that trackingId, or nil.
func (s *Sites) ByTrackingID(id string) *Site {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byTracking[id]
}

// IDs lists the record ids of every site held.
func (s *Sites) IDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.byID))
	for id := range s.byID {
		out = append(out, id)
	}
	return out
}

// ByID returns the site with that record id, or nil.
func (s *Sites) ByID(id string) *Site {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID[id]
}

// ByHost returns the site whose domain is host or its nearest parent
// (www.-insensitive; the longest match wins), or nil.
func (s *Sites) ByHost(host string) *Site {
	h := strings.TrimPrefix(host, "www.")
	s.mu.RLock()
	defer s.mu.RUnlock()
	for {
		if site := s.byHost[h]; site != nil {
			return site
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return nil
		}
		h = h[i+1:]
	}
}

// missTTL is how long an unknown trackingId is remembered as unknown.
const missTTL = 5 * time.Second

// recentMiss reports whether trackingId was looked up and not found in
// the last missTTL; markMiss records such a lookup.
func (s *Sites) recentMiss(trackingID string, now time.Time) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.misses[trackingID]
	return ok && now.Sub(t) < missTTL
}

func (s *Sites) markMiss(trackingID string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.misses) > 10000 { // bounded: forget old misses wholesale
		clear(s.misses)
	}
	s.misses[trackingID] = now
}

// parseBlacklist reads exact IPs and CIDRs; unparseable entries are
// ignored (they can match nothing).
func parseBlacklist(entries []string) []netip.Prefix {
	var out []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if p, err := netip.ParsePrefix(e); err == nil {
			out = append(out, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked())
		} else if a, err := netip.ParseAddr(e); err == nil {
			a = a.Unmap().WithZone("")
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// unmapBits is how many prefix bits an IPv4-mapped IPv6 prefix loses when
// written as IPv4 (::ffff:10.0.0.0/104 is 10.0.0.0/8).
func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}
