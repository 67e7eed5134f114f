// Package clientip determines the IP address of the visitor behind an HTTP
// request, believing forwarding headers only when they come from a proxy you
// trust.
//
// # Trust model
//
// Every request has a peer: the address of the machine that opened the TCP
// connection (http.Request.RemoteAddr). Nobody can fake it, but when Skopos
// runs behind a reverse proxy or load balancer the peer is the proxy, not the
// visitor. Proxies report the visitor in the X-Forwarded-For header, each one
// appending the address it received the request from:
//
//	X-Forwarded-For: <whatever the client sent>, <client>, <proxy 1>, ...
//
// Everything to the left of what your own proxies appended was written by the
// client and can be anything. The old Node SDK took the left-most entry and so
// let every visitor choose their own IP, and so their visitor id, and
// escape the IP blacklist. This package
// instead works as follows:
//
//  1. The peer is parsed from RemoteAddr. If it is not a valid IP (for example
//     a Unix socket), there is no client IP.
//  2. If the peer is not a trusted proxy, the peer is the client. Headers are
//     ignored completely, so a forged X-Forwarded-For changes nothing.
//  3. If the peer is trusted, X-Forwarded-For is read right to left (several
//     headers count as one list, in order), skipping addresses of trusted
//     proxies. The first address that is not trusted is the client.
//  4. If every address is trusted (a visitor inside your private network),
//     the left-most one is the client.
//  5. If the walk meets an entry that is not an IP address ("unknown",
//     garbage, an obfuscated name), nothing to its left can be believed: the
//     client is the last trusted address walked past, or the peer when the
//     very first entry is unusable. Empty entries (", ,") are skipped.
//  6. At most [MaxHops] entries are examined, so a huge header costs bounded
//     work; when all of them are trusted the last one examined is the client.
//  7. Without X-Forwarded-For entries, a valid X-Real-IP header is used; else
//     the peer.
//
// Addresses are parsed with net/netip: ports, brackets and IPv6 zones are
// dropped and IPv4-mapped IPv6 addresses (::ffff:1.2.3.4) are unmapped, so the
// same visitor always yields the same address.
//
// # Choosing trusted proxies
//
// By default ([DefaultTrusted]) only loopback is trusted, which fits a
// proxy on the same host. A proxy elsewhere (another machine of your
// network, a load balancer, a CDN) must be listed with its address or range
// (SKOPOS_TRUSTED_PROXIES="127.0.0.1/8,::1,10.0.0.0/24" for `skopos serve`,
// TrustedProxies in the options). List the proxy's own range, not a whole
// private network: every machine inside a trusted range can claim any
// address by sending its own X-Forwarded-For, and so rotate its address
// past the per-address rate limits. Your proxy must append to (or replace) X-Forwarded-For; a proxy
// that only sets X-Real-IP and forwards the client's X-Forwarded-For
// untouched lets clients choose their address. The RFC 7239 Forwarded header
// is deliberately not read: each extra header believed is one more that a
// proxy might pass through from the client unchanged.
//
// The zero Resolver (and a nil *Resolver) trusts no proxy: it always returns
// the peer.
package clientip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// MaxHops is the maximum number of X-Forwarded-For entries examined per
// request, counted from the right. Real proxy chains are a few hops long; the
// bound keeps the work per request constant whatever a client sends.
const MaxHops = 32

// maxAddrLen bounds the length of a single address string accepted by
// ParseIP (after trimming spaces). The longest textual IPv6 address with
// brackets and port is 55 bytes; the rest leaves room for a zone.
const maxAddrLen = 128

// DefaultTrusted lists the proxy ranges trusted when New gets no list:
// loopback only. Trusting every private range by default let any machine
// of the network rotate its forwarded address past the per-address limits.
var DefaultTrusted = []string{
	"127.0.0.0/8",
	"::1/128",
}

// Resolver finds the client IP of a request. Safe for concurrent use;
// immutable after New. The zero value trusts no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// New parses CIDRs or single IPs ("10.0.0.0/8", "192.168.1.7", "::1",
// "fd00::/8"); nil/empty → DefaultTrusted. An invalid entry is an error
// naming it.
//
// Surrounding spaces are ignored. IPv4-mapped forms ("::ffff:10.0.0.0/104",
// "::ffff:10.1.2.3") are converted to IPv4, host bits of a prefix are
// cleared, and a zone on a single IPv6 address is dropped. Trusting
// "0.0.0.0/0" or "::/0" makes every address a proxy, so the left-most
// X-Forwarded-For entry wins; that is the behaviour this package exists to
// avoid, so only do it when no client can reach Skopos except through your
// proxies.
func New(trusted []string) (*Resolver, error) {
	if len(trusted) == 0 {
		trusted = DefaultTrusted
	}
	rv := &Resolver{trusted: make([]netip.Prefix, 0, len(trusted))}
	for _, s := range trusted {
		p, err := parseTrusted(s)
		if err != nil {
			return nil, fmt.Errorf("clientip: invalid trusted proxy %q: %w", s, err)
		}
		rv.trusted = append(rv.trusted, p)
	}
	return rv, nil
}

func parseTrusted(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if a := p.Addr(); a.Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix shorter than /96")
			}
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.WithZone("").Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Prefixes returns a copy of the trusted ranges, normalized as New stored
// them (for logging the effective configuration).
func (rv *Resolver) Prefixes() []netip.Prefix {
	if rv == nil {
		return nil
	}
	return append([]netip.Prefix(nil), rv.trusted...)
}

// Trusted reports whether ip belongs to a trusted proxy range. An invalid
// address is never trusted; an IPv4-mapped address is checked as IPv4.
func (rv *Resolver) Trusted(ip netip.Addr) bool {
	if rv == nil || !ip.IsValid() {
		return false
	}
	ip = ip.WithZone("").Unmap()
	for _, p := range rv.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// IP returns the client address of r, or the zero netip.Addr
// (IsValid()==false) when none can be determined. It reads r.RemoteAddr, all
// X-Forwarded-For headers and the last X-Real-IP header; see the package
// documentation for the rules.
func (rv *Resolver) IP(r *http.Request) netip.Addr {
	// Direct map access: the server stores header keys canonicalized, and
	// this avoids canonicalizing the constant key on every request.
	var realIP string
	if v := r.Header["X-Real-Ip"]; len(v) > 0 {
		// The last value: a proxy that adds rather than sets the header puts
		// its own value after any the client sent.
		realIP = v[len(v)-1]
	}
	return rv.FromParts(r.RemoteAddr, r.Header["X-Forwarded-For"], realIP)
}

// FromParts is the same with explicit inputs (remoteAddr as in
// http.Request.RemoteAddr, the X-Forwarded-For header values in order,
// X-Real-IP value) — for tests and non-HTTP callers.
func (rv *Resolver) FromParts(remoteAddr string, xff []string, xRealIP string) netip.Addr {
	peer := ParseIP(remoteAddr)
	if !peer.IsValid() || !rv.Trusted(peer) {
		return peer
	}
	if client, seen := rv.walk(xff); seen {
		if client.IsValid() {
			return client
		}
		return peer
	}
	if a := ParseIP(xRealIP); a.IsValid() {
		return a
	}
	return peer
}

// walk reads the X-Forwarded-For values right to left. seen reports whether
// any non-empty entry was found. client is the first untrusted address, or
// else the last trusted address walked past before the list ended, hit an
// invalid entry or reached MaxHops; it is the zero Addr when the right-most
// non-empty entry is invalid.
func (rv *Resolver) walk(xff []string) (client netip.Addr, seen bool) {
	var last netip.Addr
	n := 0
	for i := len(xff) - 1; i >= 0; i-- {
		rest := xff[i]
		for more := true; more; {
			if n == MaxHops {
				return last, seen
			}
			n++
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, more = rest, false
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			seen = true
			a := ParseIP(entry)
			if !a.IsValid() {
				return last, true
			}
			if !rv.Trusted(a) {
				return a, true
			}
			last = a
		}
	}
	return last, seen
}

// ParseIP parses one address as found in headers or RemoteAddr: strips a port
// ("1.2.3.4:5678", "[2001:db8::1]:443"), brackets, a zone, surrounding spaces;
// unmaps IPv4-mapped IPv6 (::ffff:1.2.3.4 → 1.2.3.4). Invalid → zero Addr.
//
// IPv4 must be in dotted-decimal form without leading zeros (as
// netip.ParseAddr requires); a port must be decimal; strings longer than 128
// bytes are invalid. It does not allocate, except for the error netip
// builds internally for text made of address characters that is still not an
// address ("1.2.3", "1::2::3").
func ParseIP(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxAddrLen {
		return netip.Addr{}
	}
	host := s
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}
		}
		host = s[1:end]
		if tail := s[end+1:]; tail != "" && (tail[0] != ':' || !isPort(tail[1:])) {
			return netip.Addr{}
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// Exactly one colon: host:port (an IPv6 address has at least two).
		if !isPort(s[i+1:]) {
			return netip.Addr{}
		}
		host = s[:i]
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		// Zones exist only on IPv6 addresses and must not be empty.
		if i == len(host)-1 || strings.IndexByte(host[:i], ':') < 0 {
			return netip.Addr{}
		}
		host = host[:i]
	}
	if !addrChars(host) {
		// Cheap rejection of names and junk: netip.ParseAddr would allocate
		// an error for them.
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// isPort reports whether s is a decimal port number (1 to 5 digits).
func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// addrChars reports whether s is non-empty and made only of characters that
// can occur in an IP address without zone: hex digits, '.' and ':'.
func addrChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
