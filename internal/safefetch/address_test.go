package safefetch

import (
	"net/netip"
	"testing"
)

func TestForbiddenRefusesEveryNonGlobalClass(t *testing.T) {
	for _, tc := range []struct {
		addr, reason string
	}{
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"::ffff:169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"fec0::1", "site-local"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"0.1.2.3", "this-network"},
		{"100.64.0.1", "cgnat"},
		{"100.127.255.255", "cgnat"},
		{"192.0.0.8", "reserved"},
		{"192.0.2.1", "documentation"},
		{"198.51.100.7", "documentation"},
		{"203.0.113.9", "documentation"},
		{"2001:db8::1", "documentation"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "broadcast"},
		{"64:ff9b::7f00:1", "loopback via nat64"},
		{"64:ff9b::a9fe:a9fe", "link-local via nat64"},
		{"2002:7f00:1::1", "loopback via 6to4"},
		{"2002:c0a8:101::1", "private via 6to4"},
		{"2001::1", "reserved"},      // Teredo
		{"100::1", "reserved"},       // discard-only
		{"::7f00:1", "reserved"},     // IPv4-compatible, deprecated
		{"64:ff9b:1::1", "reserved"}, // local-use NAT64
	} {
		reason, bad := Forbidden(netip.MustParseAddr(tc.addr))
		if !bad || reason != tc.reason {
			t.Errorf("Forbidden(%s) = %q, %v; want %q, true", tc.addr, reason, bad, tc.reason)
		}
	}
	if reason, bad := Forbidden(netip.Addr{}); !bad || reason != "invalid" {
		t.Errorf("Forbidden(zero Addr) = %q, %v; want invalid", reason, bad)
	}
}

func TestForbiddenAllowsGlobalAddresses(t *testing.T) {
	for _, addr := range []string{
		"8.8.8.8",
		"1.1.1.1",
		"93.184.216.34",
		"172.15.255.255", // just below 172.16/12
		"172.32.0.0",     // just above
		"100.63.255.255", // just below 100.64/10
		"100.128.0.0",    // just above
		"::ffff:8.8.8.8",
		"2606:4700:4700::1111",
		"2a00:1450:4001:80b::200e",
		"64:ff9b::808:808", // NAT64 of 8.8.8.8
		"2002:808:808::1",  // 6to4 of 8.8.8.8
		"2001:200::1",      // just above 2001::/23
	} {
		if reason, bad := Forbidden(netip.MustParseAddr(addr)); bad {
			t.Errorf("Forbidden(%s) = %q, true; want allowed", addr, reason)
		}
	}
}
