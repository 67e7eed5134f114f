// Package domain parses the domain configured on a website and decides
// whether a page host belongs to it.
//
// The Node SDK silently disabled domain enforcement for values such as
// "example.com:8080" (it parsed them as a URL with scheme "example.com:").
// Here every configured value either normalizes to a usable host or is an
// error that callers must surface; nothing fails open.
package domain

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// ErrInvalid is returned (wrapped) for a configured domain that names no usable host.
var ErrInvalid = errors.New("invalid domain")

// ErrPublicSuffix is returned (wrapped) by Registrable for a host nobody
// owns: a public suffix (com, co.uk, github.io) or a name with no
// registrable part.
var ErrPublicSuffix = errors.New("public suffix")

// ErrLocal is returned (wrapped) by Claimable for an IP literal or
// localhost claimed by someone other than an administrator.
var ErrLocal = errors.New("local address")

var profile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false))

// Normalize turns a configured website domain into the canonical host Skopos
// compares against: scheme, userinfo, port, path, query, a trailing dot and
// a leading "www." are removed, letters are lower-cased and international
// names are converted to punycode. IP addresses are kept as they are
// ("127.0.0.1", "::1").
//
//	https://www.Example.com:8080/shop → example.com
func Normalize(configured string) (string, error) {
	s := strings.TrimSpace(configured)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalid)
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "http://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalid, configured, err)
	}
	if u.User != nil {
		return "", fmt.Errorf("%w: %q contains user info", ErrInvalid, configured)
	}
	host, err := Host(u.Hostname())
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrInvalid, configured, err)
	}
	return strings.TrimPrefix(host, "www."), nil
}

// Host canonicalizes a host name as seen in a page URL or Origin header:
// lower case, punycode, no trailing dot. IPs are returned in their
// canonical text form (IPv4-mapped IPv6 unmapped).
func Host(h string) (string, error) {
	h = strings.TrimSuffix(strings.TrimSpace(h), ".")
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "" {
		return "", errors.New("no host")
	}
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap().WithZone("").String(), nil
	}
	ascii, err := profile.ToASCII(strings.ToLower(h))
	if err != nil {
		return "", err
	}
	if len(ascii) > 253 {
		return "", errors.New("host longer than 253 characters")
	}
	for _, label := range strings.Split(ascii, ".") {
		if !validLabel(label) {
			return "", fmt.Errorf("invalid host label %q", label)
		}
	}
	return ascii, nil
}

// Claimable reports whether a website may track host (as Normalize
// returns it): nil for a name someone can own (example.com,
// shop.example.co.uk, me.github.io); an error wrapping ErrPublicSuffix for
// a public suffix of the Public Suffix List, ICANN or private section
// alike (com, co.uk, github.io), and for a single label the list does not
// know (example, intranet), which the list's default rule makes a suffix
// too: a website on such a host would be the longest match of every page
// under it. IP literals, localhost and names under .localhost are hosts no
// registry hands out, which only the server's operator can vouch for:
// nil when admin is set, else an error wrapping ErrLocal.
func Claimable(host string, admin bool) error {
	if _, err := netip.ParseAddr(host); err == nil || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		if admin {
			return nil
		}
		return fmt.Errorf("%w: %s is a local address, which only a website an administrator adds can track", ErrLocal, host)
	}
	if _, err := publicsuffix.EffectiveTLDPlusOne(host); err != nil {
		return fmt.Errorf("%w: %s is a public suffix, under which anyone can register names", ErrPublicSuffix, host)
	}
	return nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Match reports whether host (as canonicalized by Host) is site (as returned
// by Normalize) or one of its subdomains, ignoring a leading "www." on host.
// "evil-example.com" does not match "example.com".
func Match(site, host string) bool {
	host = strings.TrimPrefix(host, "www.")
	return host == site || strings.HasSuffix(host, "."+site)
}

// ReferrerKey is the key a referrer is counted under in breakdowns: its
// host without a leading "www.", or "Direct" when there is none.
func ReferrerKey(ref string) string {
	if ref == "" {
		return "Direct"
	}
	host := ref
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexAny(host, "/?#"); i >= 0 {
		host = host[:i]
	}
	if host = strings.TrimPrefix(host, "www."); host == "" {
		return "Direct"
	}
	return host
}
