package pipeline

import (
	"net/http"
	"net/netip"
	"net/url"

	"github.com/skopos-go/skopos/internal/validate"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/schema"
)

// admit applies the website's settings to a client IP; it returns the
// reason to drop the event, or "".
func admit(site *Site, ip netip.Addr) string {
	switch {
	case site.IsArchived:
		return ReasonArchived
	case ip.IsValid() && site.blacklisted(ip):
		return ReasonBlacklist
	case site.DisableLocalhostTracking && ip.IsLoopback():
		return ReasonLocalhost
	}
	return ""
}

// blacklisted matches exact addresses and CIDR ranges of ipBlacklist.
func (s *Site) blacklisted(ip netip.Addr) bool {
	for _, p := range s.blocked {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}

// serverPath is the request path without its query string (query strings
// carry tokens and e-mail addresses, which must not end up in analytics).
func serverPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if p == "" {
		p = "/"
	}
	return validate.Truncate(p, schema.MaxPath)
}

// serverReferrer keeps an http(s) Referer header as origin+path.
func serverReferrer(r *http.Request) string {
	ref := r.Header.Get("Referer")
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return validate.Truncate(u.Scheme+"://"+u.Host+u.EscapedPath(), schema.MaxReferrer)
}

// visitorID is the visitor id of a request received now.
func (p *Pipeline) visitorID(trackingID string, ip netip.Addr, ua string) string {
	if p.cfg.Visitors == nil {
		return visitorid.Hash(trackingID, ipString(ip), ua, nil)
	}
	return p.cfg.Visitors.ID(trackingID, ipString(ip), ua, p.cfg.Now())
}
