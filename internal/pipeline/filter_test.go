package pipeline

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/store"
)

func TestAdmit(t *testing.T) {
	t.Parallel()
	sites := NewSites()
	site, err := sites.Put(store.Website{ID: "w1", TrackingID: "t1", Domain: "example.com",
		IPBlacklist: []string{"203.0.113.7", "198.51.100.0/24", "2001:db8::1", "2001:db8:ff::/48", "::ffff:192.0.2.0/120", "junk"}})
	if err != nil {
		t.Fatal(err)
	}
	local, _ := sites.Put(store.Website{ID: "w2", TrackingID: "t2", Domain: "localhost", DisableLocalhostTracking: true})
	archived, _ := sites.Put(store.Website{ID: "w3", TrackingID: "t3", Domain: "a.example", IsArchived: true})
	tests := []struct {
		site *Site
		ip   string
		want string
	}{
		{site, "203.0.113.7", ReasonBlacklist},
		{site, "203.0.113.8", ""},
		{site, "198.51.100.0", ReasonBlacklist},
		{site, "198.51.100.255", ReasonBlacklist},
		{site, "198.51.101.0", ""},
		{site, "2001:db8::1", ReasonBlacklist},
		{site, "2001:db8::2", ""},
		{site, "2001:db8:ff:1::9", ReasonBlacklist},
		{site, "2001:db8:fe::9", ""},
		{site, "192.0.2.200", ReasonBlacklist}, // IPv4-mapped CIDR in the list
		{site, "127.0.0.1", ""},                // localhost allowed on this site
		{local, "127.0.0.1", ReasonLocalhost},
		{local, "127.8.9.10", ReasonLocalhost},
		{local, "::1", ReasonLocalhost},
		{local, "::ffff:127.0.0.1", ReasonLocalhost},
		{local, "10.0.0.1", ""},
		{archived, "203.0.113.8", ReasonArchived},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip).Unmap() // as clientip delivers it
		if got := admit(tt.site, ip); got != tt.want {
			t.Errorf("admit(%s, %s) = %q, want %q", tt.site.Domain, tt.ip, got, tt.want)
		}
	}
}

// BenchmarkIntake measures the whole per-event filter chain of a browser
// event: decode and validate, website, domain and Origin, client IP,
// website filters, bot score, visitor id. No I/O.
func BenchmarkIntake(b *testing.B) {
	sites := NewSites()
	site, _ := sites.Put(store.Website{ID: "w1", TrackingID: "t1", Domain: "example.com", IPBlacklist: []string{"198.51.100.0/24"}})
	p := &Pipeline{cfg: Config{Store: nil, Sites: sites}}
	if err := p.cfg.defaultsNoStore(); err != nil {
		b.Fatal(err)
	}
	p.bots = newBots(nil)
	body := []byte(`{"type":"pageView","url":"https://www.example.com/pricing?utm_source=news","referrer":"https://news.example.org/item?id=1","screenWidth":1536,"screenHeight":864,"language":"en-GB"}`)
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	r.Header.Set("Origin", "https://www.example.com")
	browsertest.Headers(r.Header, "")
	pick := func(string) *Site { return site }
	b.ReportAllocs()
	for b.Loop() {
		if _, reason, err := p.browserEvent(r, body, pick); err != nil || reason != "" {
			b.Fatal(err, reason)
		}
	}
}
