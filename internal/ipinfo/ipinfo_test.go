package ipinfo

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/netip"
	"strings"
	"testing"
)

// TestLookupKnownAddresses: the bundled data names the networks of
// well-known public addresses, in both families and IPv4-mapped; the
// hosting flag is on for a cloud and off for an access provider; private,
// documentation and loopback addresses have no network.
func TestLookupKnownAddresses(t *testing.T) {
	t.Parallel()
	for ip, want := range map[string]Info{
		"8.8.8.8":              {15169, "Google LLC", true},
		"::ffff:8.8.8.8":       {15169, "Google LLC", true},
		"2001:4860:4860::8888": {15169, "Google LLC", true},
		"1.1.1.1":              {13335, "Cloudflare, Inc.", true},
		"2606:4700::1111":      {13335, "Cloudflare, Inc.", true},
		"2a01:4f8::1":          {24940, "Hetzner Online GmbH", true},
		"193.0.6.139":          {3333, "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)", false},
		"2.58.100.1":           {3320, "Deutsche Telekom AG", false},
	} {
		got, ok := Lookup(netip.MustParseAddr(ip))
		if !ok || got != want {
			t.Errorf("%s: %+v %v, want %+v", ip, got, ok, want)
		}
	}
	for _, ip := range []string{"10.1.2.3", "192.168.0.1", "127.0.0.1", "203.0.113.7", "::1", "fd00::1", "2001:db8::1", "0.0.0.0", "255.255.255.255"} {
		if got, ok := Lookup(netip.MustParseAddr(ip)); ok {
			t.Errorf("%s: %+v, want not found", ip, got)
		}
	}
	if got, ok := Lookup(netip.Addr{}); ok {
		t.Errorf("zero Addr: %+v, want not found", got)
	}
}

// TestHostingASNsMatchData: every listed hosting network is in the
// bundled data under its operator's name, so that a refresh that
// reassigns a number fails here rather than flag the wrong network.
func TestHostingASNsMatchData(t *testing.T) {
	t.Parallel()
	tab, err := open()
	if err != nil {
		t.Fatal(err)
	}
	orgs := map[uint32][]string{}
	for _, n := range tab.nets[1:] {
		orgs[n.ASN] = append(orgs[n.ASN], n.Org)
	}
	for asn, op := range hostingASNs {
		if !strings.Contains(strings.ToLower(strings.Join(orgs[asn], "|")), strings.ToLower(op)) {
			t.Errorf("AS%d: data names %q, list says %s", asn, orgs[asn], op)
		}
	}
}

// TestBuildRanges: Build keeps gaps unknown, merges neighbours of one
// network, and resolves overlapping rows (as the published data has) by
// letting the later-starting row win until its end.
func TestBuildRanges(t *testing.T) {
	t.Parallel()
	csv := `10.0.0.0,10.0.0.255,1,"One, Inc."
10.0.1.0,10.0.1.255,1,"One, Inc."
10.0.3.0,10.0.9.255,2,Two
10.0.5.0,10.0.5.255,3,Three
10.0.9.0,10.0.10.255,4,Four
2001:db8::,2001:db8::ffff,5,Five
2001:db8:1::,2001:db8:1::1,6,Six
`
	tab := build(t, strings.NewReader(csv))
	if len(tab.v4) != 7 || len(tab.v6) != 4 {
		t.Errorf("%d IPv4 and %d IPv6 starts, want 7 and 4: %v %v", len(tab.v4), len(tab.v6), tab.v4, tab.v6)
	}
	for ip, want := range map[string]uint32{
		"9.255.255.255": 0, "10.0.0.0": 1, "10.0.1.255": 1, "10.0.2.0": 0, "10.0.3.0": 2, "10.0.4.255": 2,
		"10.0.5.7": 3, "10.0.6.0": 2, "10.0.8.255": 2, "10.0.9.0": 4, "10.0.10.255": 4, "10.0.11.0": 0,
		"2001:db7::": 0, "2001:db8::": 5, "2001:db8::ffff": 5, "2001:db8::1:0": 0, "2001:db8:1::1": 6, "2001:db8:1::2": 0,
	} {
		got, ok := tab.lookup(netip.MustParseAddr(ip))
		if got.ASN != want || ok != (want != 0) {
			t.Errorf("%s: AS%d %v, want AS%d", ip, got.ASN, ok, want)
		}
	}
	if got, _ := tab.lookup(netip.MustParseAddr("10.0.0.1")); got.Org != "One, Inc." {
		t.Errorf("organisation %q", got.Org)
	}
}

// TestDecodeRejectsCorruptTables: a truncated or altered table is an
// error, never a panic or a huge allocation.
func TestDecodeRejectsCorruptTables(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := Build(&buf, strings.NewReader("1.0.0.0,1.0.0.255,13335,Cloudflare\n2001:db8::,2001:db8::1,5,Five\n")); err != nil {
		t.Fatal(err)
	}
	raw := gunzip(t, buf.Bytes())
	if _, err := decode(raw); err != nil {
		t.Fatal(err)
	}
	for i := range len(raw) {
		if _, err := decode(raw[:i]); err == nil {
			t.Errorf("truncated at %d: no error", i)
		}
	}
	big := append([]byte(magic), 0xff, 0xff, 0xff, 0xff, 0x0f)
	if _, err := decode(big); err == nil {
		t.Error("huge count: no error")
	}
	if err := Build(io.Discard, strings.NewReader("1.0.0.9,1.0.0.0,1,X\n")); err == nil {
		t.Error("reversed range: no error")
	}
}

func build(t *testing.T, csvs ...io.Reader) *table {
	t.Helper()
	var buf bytes.Buffer
	if err := Build(&buf, csvs...); err != nil {
		t.Fatal(err)
	}
	tab, err := decode(gunzip(t, buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func BenchmarkLookup(b *testing.B) {
	ips := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2.58.100.1"), netip.MustParseAddr("2a01:4f8::1"), netip.MustParseAddr("10.0.0.1")}
	Lookup(ips[0]) // opens the table outside the timing
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Lookup(ips[i%len(ips)])
	}
}

func BenchmarkOpen(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := load(); err != nil {
			b.Fatal(err)
		}
	}
}
