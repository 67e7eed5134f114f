package clientip

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func mustNew(t testing.TB, trusted []string) *Resolver {
	t.Helper()
	rv, err := New(trusted)
	if err != nil {
		t.Fatalf("New(%q): %v", trusted, err)
	}
	return rv
}

// addr parses want strings; "" means the zero Addr.
func addr(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	return netip.MustParseAddr(s)
}

func TestParseIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"1.2.3.4", "1.2.3.4"},
		{"1.2.3.4:5678", "1.2.3.4"},
		{"  1.2.3.4  ", "1.2.3.4"},
		{"\t1.2.3.4:80 ", "1.2.3.4"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{" [2001:DB8::1]:443 ", "2001:db8::1"},
		{"::1", "::1"},
		{"[::1]:80", "::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"[fe80::1%eth0]:8080", "fe80::1"},
		{"fe80::1%25eth0", "fe80::1"},
		{"::ffff:1.2.3.4", "1.2.3.4"},
		{"[::ffff:1.2.3.4]:80", "1.2.3.4"},
		{"::ffff:0102:0304", "1.2.3.4"},
		{"[1.2.3.4]:80", "1.2.3.4"},
		{"0.0.0.0", "0.0.0.0"},

		// invalid
		{"", ""},
		{"   ", ""},
		{"unknown", ""},
		{"_hidden", ""},
		{"example.com", ""},
		{"example.com:80", ""},
		{"1.2.3", ""},
		{"1.2.3.4.5", ""},
		{"256.1.1.1", ""},
		{"01.2.3.4", ""}, // octal-looking forms are rejected
		{"1.2.3.4:", ""},
		{"1.2.3.4:http", ""},
		{"1.2.3.4:123456", ""},
		{"1.2.3.4:80:90", ""},
		{"1.2.3.4%eth0", ""}, // zones are IPv6-only
		{"fe80::1%", ""},
		{"[2001:db8::1", ""},
		{"[2001:db8::1]443", ""},
		{"[2001:db8::1]:", ""},
		{"[2001:db8::1]:x", ""},
		{"[]", ""},
		{"[]:80", ""},
		{"2001:db8::1:443:", ""},
		{"1.2.3.4 5.6.7.8", ""},
		{"1.2.3.4, 5.6.7.8", ""},
		{"\"1.2.3.4\"", ""},
		{"@", ""},
		{"1.2.3.4" + strings.Repeat(" ", 200) + "x", ""},
		{strings.Repeat("1", 10000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got := ParseIP(tt.in)
			if want := addr(tt.want); got != want {
				t.Errorf("ParseIP(%q) = %v, want %v", tt.in, got, want)
			}
			if got.Zone() != "" || got.Is4In6() {
				t.Errorf("ParseIP(%q) = %v: zone or mapped form kept", tt.in, got)
			}
		})
	}
}

func TestParseIPNoAlloc(t *testing.T) {
	for _, s := range []string{"1.2.3.4:5678", "[2001:db8::1]:443", "fe80::1%eth0", "garbage", "unknown", "<script>", "evil.example"} {
		if n := testing.AllocsPerRun(100, func() { ParseIP(s) }); n != 0 {
			t.Errorf("ParseIP(%q): %v allocs, want 0", s, n)
		}
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, in := range [][]string{nil, {}} {
		rv := mustNew(t, in)
		if got, want := len(rv.Prefixes()), len(DefaultTrusted); got != want {
			t.Errorf("New(%q): %d prefixes, want %d (defaults)", in, got, want)
		}
	}

	rv := mustNew(t, []string{" 203.0.113.0/24 ", "192.0.2.7", "2001:db8::/32", "::ffff:198.51.100.0/120", "::ffff:198.51.100.200", "fe80::9%eth0", "10.1.2.3/8"})
	want := []string{"203.0.113.0/24", "192.0.2.7/32", "2001:db8::/32", "198.51.100.0/24", "198.51.100.200/32", "fe80::9/128", "10.0.0.0/8"}
	got := rv.Prefixes()
	if len(got) != len(want) {
		t.Fatalf("Prefixes() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("Prefixes()[%d] = %v, want %v", i, got[i], want[i])
		}
	}

	for _, bad := range []string{"", "10.0.0.0/33", "10.0.0.0/", "not-an-ip", "1.2.3.4:80", "[::1]", "::ffff:0.0.0.0/90", "fe80::/10%eth0"} {
		_, err := New([]string{"10.0.0.0/8", bad})
		if err == nil {
			t.Errorf("New(%q): no error", bad)
			continue
		}
		if !strings.Contains(err.Error(), "\""+bad+"\"") {
			t.Errorf("New(%q): error %q does not name the entry", bad, err)
		}
	}
}

func TestTrusted(t *testing.T) {
	t.Parallel()
	rv := mustNew(t, privateProxies)
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		{"169.254.1.1", true},
		{"fe80::1", true},
		{"10.255.0.1", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"172.32.0.1", false},
		{"192.168.1.1", true},
		{"fd12:3456::1", true},
		{"fc00::1", true},
		{"8.8.8.8", false},
		{"2001:db8::1", false},
		{"::ffff:10.0.0.1", true}, // mapped form checked as IPv4
		{"::2", false},
		{"", false},
	}
	for _, tt := range tests {
		a := addr(tt.ip)
		if got := rv.Trusted(a); got != tt.want {
			t.Errorf("Trusted(%v) = %v, want %v", a, got, tt.want)
		}
	}
}

type req struct {
	remote string
	xff    []string // each element one X-Forwarded-For header; nil = none
	realIP []string // X-Real-IP headers
}

func (q req) build() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = q.remote
	for _, v := range q.xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	for _, v := range q.realIP {
		r.Header.Add("X-Real-IP", v)
	}
	return r
}

// privateProxies is the default trusted list before it became loopback
// only: the walk's cases below need trusted hops at private addresses.
var privateProxies = []string{"127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10",
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}

// TestDefaultTrustsLoopbackOnly: without a list only a proxy on the same
// host is believed; a machine of the private network is a client like any
// other, whatever X-Forwarded-For it sends.
func TestDefaultTrustsLoopbackOnly(t *testing.T) {
	t.Parallel()
	rv := mustNew(t, nil)
	for remote, want := range map[string]string{
		"127.0.0.1:1": "198.51.100.7", "[::1]:1": "198.51.100.7",
		"10.0.0.1:1": "10.0.0.1", "192.168.1.1:1": "192.168.1.1", "172.16.0.1:1": "172.16.0.1",
		"[fd00::1]:1": "fd00::1", "169.254.1.1:1": "169.254.1.1", "[fe80::1]:1": "fe80::1",
	} {
		if got := rv.FromParts(remote, []string{"198.51.100.7"}, ""); got != addr(want) {
			t.Errorf("peer %s: client %v, want %s", remote, got, want)
		}
	}
}

func TestIPWalk(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("6.6.6.6, ", 1200) + "10.0.0.2" // ~10 KB
	bigTrusted := strings.Repeat("10.9.9.9, ", 1000) + "10.0.0.2"
	tests := []struct {
		name string
		req  req
		want string
	}{
		// The security property: an untrusted peer's headers never matter.
		{"untrusted peer, spoofed XFF", req{"203.0.113.9:5000", []string{"1.1.1.1"}, nil}, "203.0.113.9"},
		{"untrusted peer, spoofed trusted XFF", req{"203.0.113.9:5000", []string{"127.0.0.1"}, nil}, "203.0.113.9"},
		{"untrusted peer, spoofed chain", req{"203.0.113.9:5000", []string{"1.1.1.1, 10.0.0.1"}, nil}, "203.0.113.9"},
		{"untrusted peer, several XFF headers", req{"203.0.113.9:5000", []string{"1.1.1.1", "2.2.2.2"}, nil}, "203.0.113.9"},
		{"untrusted peer, spoofed X-Real-IP", req{"203.0.113.9:5000", nil, []string{"1.1.1.1"}}, "203.0.113.9"},
		{"untrusted peer, both headers", req{"203.0.113.9:5000", []string{"::1"}, []string{"10.0.0.1"}}, "203.0.113.9"},
		{"untrusted peer, garbage XFF", req{"203.0.113.9:5000", []string{"<script>"}, nil}, "203.0.113.9"},
		{"untrusted IPv6 peer, spoofed XFF", req{"[2001:db8::9]:443", []string{"1.1.1.1"}, nil}, "2001:db8::9"},
		{"untrusted mapped peer, spoofed XFF", req{"[::ffff:203.0.113.9]:80", []string{"1.1.1.1"}, nil}, "203.0.113.9"},
		{"untrusted peer, no headers", req{"198.51.100.1:1234", nil, nil}, "198.51.100.1"},

		// Trusted peer: right-to-left walk.
		{"loopback peer, client + trusted proxy", req{"127.0.0.1:1234", []string{"198.51.100.7, 10.0.0.5"}, nil}, "198.51.100.7"},
		{"private peer, client + trusted proxy", req{"10.1.2.3:1234", []string{"198.51.100.7, 192.168.0.5"}, nil}, "198.51.100.7"},
		{"::1 peer, client + trusted proxy", req{"[::1]:1234", []string{"198.51.100.7, fd00::5"}, nil}, "198.51.100.7"},
		{"trusted peer, single entry", req{"127.0.0.1:1", []string{"198.51.100.7"}, nil}, "198.51.100.7"},
		{"trusted peer, spoofed left-most ignored", req{"127.0.0.1:1", []string{"8.8.8.8, 198.51.100.7"}, nil}, "198.51.100.7"},
		{"trusted peer, spoofed trusted left-most ignored", req{"127.0.0.1:1", []string{"10.0.0.1, 198.51.100.7, 10.0.0.5"}, nil}, "198.51.100.7"},
		{"trusted peer, multiple XFF headers", req{"127.0.0.1:1", []string{"8.8.8.8", "198.51.100.7", "10.0.0.5, 10.0.0.6"}, nil}, "198.51.100.7"},
		{"trusted peer, multiple headers, proxy alone", req{"127.0.0.1:1", []string{"198.51.100.7, 8.8.8.8", "10.0.0.5"}, nil}, "8.8.8.8"},
		{"trusted peer, spaces", req{"127.0.0.1:1", []string{"  198.51.100.7 ,\t10.0.0.5  "}, nil}, "198.51.100.7"},
		{"trusted peer, no spaces", req{"127.0.0.1:1", []string{"198.51.100.7,10.0.0.5"}, nil}, "198.51.100.7"},
		{"trusted peer, ports", req{"127.0.0.1:1", []string{"198.51.100.7:5678, 10.0.0.5:80"}, nil}, "198.51.100.7"},
		{"trusted peer, IPv6 bracket+port", req{"127.0.0.1:1", []string{"[2001:db8::7]:443, [fd00::5]:80"}, nil}, "2001:db8::7"},
		{"trusted peer, bare IPv6", req{"[::1]:1", []string{"2001:db8::7, fd00::5"}, nil}, "2001:db8::7"},
		{"trusted peer, zone", req{"[::1]:1", []string{"2001:db8::7, fe80::1%eth0"}, nil}, "2001:db8::7"},
		{"trusted peer, mapped client", req{"127.0.0.1:1", []string{"::ffff:198.51.100.7, 10.0.0.5"}, nil}, "198.51.100.7"},
		{"trusted peer, mapped proxy", req{"127.0.0.1:1", []string{"198.51.100.7, [::ffff:10.0.0.5]:80"}, nil}, "198.51.100.7"},
		{"mapped trusted peer", req{"[::ffff:127.0.0.1]:80", []string{"198.51.100.7"}, nil}, "198.51.100.7"},
		{"mapped trusted peer, mapped client", req{"[::ffff:10.0.0.1]:80", []string{"[::ffff:198.51.100.7]:1"}, nil}, "198.51.100.7"},
		{"trusted peer, all private", req{"127.0.0.1:1", []string{"192.168.1.20, 10.0.0.5"}, nil}, "192.168.1.20"},
		{"trusted peer, all private, header per hop", req{"127.0.0.1:1", []string{"192.168.1.20", "10.0.0.5"}, nil}, "192.168.1.20"},
		{"trusted peer, loopback client", req{"127.0.0.1:1", []string{"127.0.0.1"}, nil}, "127.0.0.1"},

		// Garbage and empties.
		{"garbage right-most", req{"127.0.0.1:1", []string{"198.51.100.7, garbage"}, nil}, "127.0.0.1"},
		{"garbage after trusted hop", req{"127.0.0.1:1", []string{"198.51.100.7, unknown, 10.0.0.5"}, nil}, "10.0.0.5"},
		{"garbage after two trusted hops", req{"127.0.0.1:1", []string{"8.8.8.8, x, 10.0.0.4, 10.0.0.5"}, nil}, "10.0.0.4"},
		{"garbage left of client", req{"127.0.0.1:1", []string{"garbage, 198.51.100.7, 10.0.0.5"}, nil}, "198.51.100.7"},
		{"garbage only, X-Real-IP not consulted", req{"127.0.0.1:1", []string{"<script>"}, []string{"198.51.100.7"}}, "127.0.0.1"},
		{"hostname entry", req{"127.0.0.1:1", []string{"evil.example, 10.0.0.5"}, nil}, "10.0.0.5"},
		{"quoted entry", req{"127.0.0.1:1", []string{`"198.51.100.7"`}, nil}, "127.0.0.1"},
		{"empty entries skipped", req{"127.0.0.1:1", []string{", 198.51.100.7, , 10.0.0.5,"}, nil}, "198.51.100.7"},
		{"empty prior header (joined by a proxy)", req{"127.0.0.1:1", []string{", 10.0.0.9"}, nil}, "10.0.0.9"},
		{"empty XFF header, no X-Real-IP", req{"127.0.0.1:1", []string{""}, nil}, "127.0.0.1"},
		{"blank XFF falls back to X-Real-IP", req{"127.0.0.1:1", []string{" , ,"}, []string{"198.51.100.7"}}, "198.51.100.7"},
		{"10 KB XFF, bounded", req{"127.0.0.1:1", []string{big}, nil}, "6.6.6.6"},
		{"10 KB trusted XFF, capped", req{"127.0.0.1:1", []string{bigTrusted}, nil}, "10.9.9.9"},

		// X-Real-IP fallback.
		{"X-Real-IP", req{"127.0.0.1:1", nil, []string{"198.51.100.7"}}, "198.51.100.7"},
		{"X-Real-IP with port and spaces", req{"127.0.0.1:1", nil, []string{" [2001:db8::7]:443 "}}, "2001:db8::7"},
		{"X-Real-IP private", req{"127.0.0.1:1", nil, []string{"10.0.0.9"}}, "10.0.0.9"},
		{"X-Real-IP mapped", req{"127.0.0.1:1", nil, []string{"::ffff:198.51.100.7"}}, "198.51.100.7"},
		{"X-Real-IP last header wins", req{"127.0.0.1:1", nil, []string{"6.6.6.6", "198.51.100.7"}}, "198.51.100.7"},
		{"X-Real-IP invalid", req{"127.0.0.1:1", nil, []string{"nope"}}, "127.0.0.1"},
		{"XFF beats X-Real-IP", req{"127.0.0.1:1", []string{"198.51.100.7"}, []string{"6.6.6.6"}}, "198.51.100.7"},
		{"trusted peer, no headers", req{"10.0.0.1:1", nil, nil}, "10.0.0.1"},

		// Invalid peer.
		{"invalid RemoteAddr", req{"garbage", []string{"198.51.100.7"}, nil}, ""},
		{"empty RemoteAddr", req{"", []string{"198.51.100.7"}, []string{"198.51.100.7"}}, ""},
		{"unix socket RemoteAddr", req{"@", []string{"198.51.100.7"}, nil}, ""},
		{"RemoteAddr without port", req{"127.0.0.1", []string{"198.51.100.7"}, nil}, "198.51.100.7"},
	}
	rv := mustNew(t, privateProxies)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := addr(tt.want)
			if got := rv.IP(tt.req.build()); got != want {
				t.Errorf("IP(%+v) = %v, want %v", tt.req, got, want)
			}
			realIP := ""
			if n := len(tt.req.realIP); n > 0 {
				realIP = tt.req.realIP[n-1]
			}
			if got := rv.FromParts(tt.req.remote, tt.req.xff, realIP); got != want {
				t.Errorf("FromParts(%+v) = %v, want %v", tt.req, got, want)
			}
		})
	}
}

func TestCustomTrusted(t *testing.T) {
	t.Parallel()
	cdn := mustNew(t, []string{"203.0.113.0/24"})
	def := mustNew(t, nil)
	var none Resolver
	var nilRV *Resolver
	tests := []struct {
		name   string
		rv     *Resolver
		remote string
		xff    string
		want   string
	}{
		{"CDN peer trusted by custom list", cdn, "203.0.113.5:443", "198.51.100.7", "198.51.100.7"},
		{"CDN peer untrusted by default", def, "203.0.113.5:443", "198.51.100.7", "203.0.113.5"},
		{"loopback untrusted by custom list", cdn, "127.0.0.1:1", "198.51.100.7", "127.0.0.1"},
		{"custom list: private hop is the client", cdn, "203.0.113.5:443", "198.51.100.7, 10.0.0.5", "10.0.0.5"},
		{"custom list: CDN hops skipped", cdn, "203.0.113.5:443", "198.51.100.7, 203.0.113.9", "198.51.100.7"},
		{"zero Resolver trusts nobody", &none, "127.0.0.1:1", "198.51.100.7", "127.0.0.1"},
		{"nil Resolver trusts nobody", nilRV, "127.0.0.1:1", "198.51.100.7", "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, want := tt.rv.FromParts(tt.remote, []string{tt.xff}, ""), addr(tt.want); got != want {
				t.Errorf("FromParts(%q, %q) = %v, want %v", tt.remote, tt.xff, got, want)
			}
		})
	}
}

// TestBoundedWork checks that the walk stops after MaxHops entries: with a
// trusted chain one longer than the cap, the left-most (untrusted) entry is
// never reached.
func TestBoundedWork(t *testing.T) {
	t.Parallel()
	rv := mustNew(t, privateProxies)
	hops := make([]string, MaxHops)
	for i := range hops {
		hops[i] = netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}).String()
	}
	chain := "198.51.100.7, " + strings.Join(hops, ", ")
	// MaxHops trusted entries: cap reached; the last one examined is 10.0.0.1.
	if got, want := rv.FromParts("127.0.0.1:1", []string{chain}, ""), addr("10.0.0.1"); got != want {
		t.Errorf("cap: got %v, want %v", got, want)
	}
	// One trusted hop fewer: the client is within reach.
	chain = "198.51.100.7, " + strings.Join(hops[1:], ", ")
	if got, want := rv.FromParts("127.0.0.1:1", []string{chain}, ""), addr("198.51.100.7"); got != want {
		t.Errorf("below cap: got %v, want %v", got, want)
	}
	// The cap counts entries across headers too.
	if got, want := rv.FromParts("127.0.0.1:1", append([]string{"198.51.100.7"}, hops...), ""), addr("10.0.0.1"); got != want {
		t.Errorf("cap across headers: got %v, want %v", got, want)
	}
}

func TestIPNoAlloc(t *testing.T) {
	rv := mustNew(t, nil)
	r := req{"127.0.0.1:1234", []string{"198.51.100.7, 10.0.0.5"}, []string{"6.6.6.6"}}.build()
	if n := testing.AllocsPerRun(100, func() { rv.IP(r) }); n != 0 {
		t.Errorf("IP: %v allocs per call, want 0", n)
	}
}

func BenchmarkIP(b *testing.B) {
	rv := mustNew(b, privateProxies) // a walk over two trusted hops
	r := req{"127.0.0.1:54321", []string{"198.51.100.7, 10.0.0.5"}, nil}.build()
	want := addr("198.51.100.7")
	b.ReportAllocs()
	for b.Loop() {
		if rv.IP(r) != want {
			b.Fatal("wrong address")
		}
	}
}

// FuzzFromParts checks the invariants on arbitrary input: no panic, results
// are normalized, and an untrusted peer is returned whatever the headers say.
func FuzzFromParts(f *testing.F) {
	f.Add("127.0.0.1:1", "198.51.100.7, 10.0.0.5", "")
	f.Add("203.0.113.9:5000", "1.1.1.1", "2.2.2.2")
	f.Add("[::ffff:10.0.0.1]:80", "[fe80::1%eth0]:1, garbage", "::1")
	rv, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff, realIP string) {
		got := rv.FromParts(remote, []string{xff}, realIP)
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("not normalized: %v", got)
		}
		peer := ParseIP(remote)
		if !rv.Trusted(peer) && got != peer {
			t.Fatalf("untrusted peer %v, got %v", peer, got)
		}
	})
}
