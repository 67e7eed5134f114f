package safefetch

import "net/netip"

// A refusedRange is a block of addresses no fetch may reach, with the
// word that tells the operator why.
type refusedRange struct {
	prefix netip.Prefix
	reason string
}

// refusedV4 lists the IPv4 blocks that are not globally reachable
// (the IANA special-purpose registry): nothing a public website resolves
// to, everything a request forged against the server's own network would.
var refusedV4 = []refusedRange{
	{netip.MustParsePrefix("0.0.0.0/32"), "unspecified"},
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "cgnat"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "reserved"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "reserved"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
}

// refusedV6 lists the IPv6 blocks refused inside global unicast
// (2000::/3) or named more precisely than "reserved"; every address
// outside 2000::/3 is refused anyway, as no public host lives there.
var refusedV6 = []refusedRange{
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	// Teredo, ORCHID and the other IETF protocol assignments: tunnels
	// and identifiers, not websites.
	{netip.MustParsePrefix("2001::/23"), "reserved"},
}

// Prefixes whose addresses carry an IPv4 address the network translates
// to: they are as safe as the IPv4 address inside.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052, bits 96-127
	sixTo4 = netip.MustParsePrefix("2002::/16")    // RFC 3056, bits 16-47
	global = netip.MustParsePrefix("2000::/3")
)

// Forbidden says whether a fetch may not connect to addr, and why: one
// word such as "loopback", "private", "link-local", "multicast",
// "unspecified", "cgnat", "documentation", "benchmarking", "broadcast" or
// "reserved". An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as
// the IPv4 address it maps, and a NAT64 or 6to4 address as the IPv4
// address it carries ("loopback via nat64"). The zero Addr is forbidden
// ("invalid").
func Forbidden(addr netip.Addr) (reason string, forbidden bool) {
	if !addr.IsValid() {
		return "invalid", true
	}
	// A zone never matches a prefix, which would let fe80::1%eth0 through.
	addr = addr.WithZone("").Unmap()
	if addr.Is4() {
		return lookup(refusedV4, addr)
	}
	if nat64.Contains(addr) {
		b := addr.As16()
		return via(netip.AddrFrom4([4]byte(b[12:16])), "nat64")
	}
	if sixTo4.Contains(addr) {
		b := addr.As16()
		return via(netip.AddrFrom4([4]byte(b[2:6])), "6to4")
	}
	if reason, ok := lookup(refusedV6, addr); ok {
		return reason, true
	}
	if !global.Contains(addr) {
		return "reserved", true
	}
	return "", false
}

func via(v4 netip.Addr, tunnel string) (string, bool) {
	if reason, ok := lookup(refusedV4, v4); ok {
		return reason + " via " + tunnel, true
	}
	return "", false
}

func lookup(ranges []refusedRange, addr netip.Addr) (string, bool) {
	for _, r := range ranges {
		if r.prefix.Contains(addr) {
			return r.reason, true
		}
	}
	return "", false
}
