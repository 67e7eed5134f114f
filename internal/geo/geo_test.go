package geo

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/skopos-go/skopos/internal/geo/geotest"
)

var country = geotest.Country

type network = geotest.Network

func writeDB(t testing.TB, dbType string, networks []network) string {
	t.Helper()
	return geotest.Write(t, dbType, networks)
}

// cityNetworks is a small GeoLite2-City-shaped data set.
var cityNetworks = []network{
	{CIDR: "203.0.113.0/24", Value: mmdbtype.Map{
		"country":            country("US", "United States"),
		"registered_country": country("US", "United States"),
		"subdivisions": mmdbtype.Slice{mmdbtype.Map{
			"iso_code": mmdbtype.String("CA"),
			"names":    mmdbtype.Map{"en": mmdbtype.String("California")},
		}},
		"city": mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("San Francisco")}},
	}},
	{CIDR: "198.51.100.0/24", Value: mmdbtype.Map{
		"country":            country("DE", "Germany"),
		"registered_country": country("DE", "Germany"),
	}},
	{CIDR: "2001:db8::/32", Value: mmdbtype.Map{
		"country":            country("FR", "France"),
		"registered_country": country("FR", "France"),
		"subdivisions": mmdbtype.Slice{
			mmdbtype.Map{"iso_code": mmdbtype.String("IDF")},
			mmdbtype.Map{"iso_code": mmdbtype.String("75")},
		},
	}},
	// Satellite/anycast style record: only the registration is known.
	{CIDR: "192.0.2.0/24", Value: mmdbtype.Map{
		"registered_country": country("NL", "Netherlands"),
	}},
	// A record with a subdivision but no country at all.
	{CIDR: "100.64.0.0/24", Value: mmdbtype.Map{
		"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("XX")}},
	}},
	// Private space present in the database must still not be looked up.
	{CIDR: "10.0.0.0/8", Value: mmdbtype.Map{"country": country("US", "United States")}},
}

func openDB(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestLookup(t *testing.T) {
	t.Parallel()
	city := openDB(t, writeDB(t, "GeoLite2-City", cityNetworks))
	countryOnly := openDB(t, writeDB(t, "GeoLite2-Country", []network{
		{CIDR: "203.0.113.0/24", Value: mmdbtype.Map{
			"country":            country("US", "United States"),
			"registered_country": country("US", "United States"),
		}},
	}))
	dbip := openDB(t, writeDB(t, "DBIP-City-Lite", []network{
		{CIDR: "203.0.113.0/24", Value: mmdbtype.Map{
			"country":      country("CA", "Canada"),
			"subdivisions": mmdbtype.Slice{mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Ontario")}}},
		}},
	}))

	tests := []struct {
		name        string
		db          *DB
		ip          string // "" means the zero netip.Addr
		country     string
		state       string
		description string
	}{
		{name: "US-CA hit", db: city, ip: "203.0.113.7", country: "US", state: "US-CA"},
		{name: "first and last address of network", db: city, ip: "203.0.113.255", country: "US", state: "US-CA"},
		{name: "no subdivision", db: city, ip: "198.51.100.42", country: "DE", state: Unknown},
		{name: "IPv6 hit uses first subdivision", db: city, ip: "2001:db8:1::1", country: "FR", state: "FR-IDF"},
		{name: "IPv6 with zone", db: city, ip: "2001:db8::1%eth0", country: "FR", state: "FR-IDF"},
		{name: "IPv4-mapped IPv6", db: city, ip: "::ffff:203.0.113.9", country: "US", state: "US-CA"},
		{name: "registered country fallback", db: city, ip: "192.0.2.1", country: "NL", state: Unknown},
		{name: "subdivision without country", db: city, ip: "100.64.0.1", country: Unknown, state: Unknown},
		{name: "miss IPv4", db: city, ip: "8.8.8.8", country: Unknown, state: Unknown},
		{name: "miss IPv6", db: city, ip: "2606:4700::1111", country: Unknown, state: Unknown},
		{name: "private address", db: city, ip: "10.1.2.3", country: Unknown, state: Unknown},
		{name: "loopback", db: city, ip: "127.0.0.1", country: Unknown, state: Unknown},
		{name: "IPv6 loopback", db: city, ip: "::1", country: Unknown, state: Unknown},
		{name: "unspecified", db: city, ip: "0.0.0.0", country: Unknown, state: Unknown},
		{name: "zero addr", db: city, ip: "", country: Unknown, state: Unknown},
		{name: "nil DB", db: nil, ip: "203.0.113.7", country: Unknown, state: Unknown},
		{name: "country-only database", db: countryOnly, ip: "203.0.113.7", country: "US", state: Unknown},
		{name: "DB-IP subdivision without code", db: dbip, ip: "203.0.113.7", country: "CA", state: Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ip netip.Addr
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			country, state := tt.db.Lookup(ip)
			if country != tt.country || state != tt.state {
				t.Errorf("Lookup(%v) = %q, %q; want %q, %q", ip, country, state, tt.country, tt.state)
			}
		})
	}
}

func TestLookupConcurrent(t *testing.T) {
	t.Parallel()
	db := openDB(t, writeDB(t, "GeoIP2-City", cityNetworks))
	ip := netip.MustParseAddr("203.0.113.7")
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				if c, s := db.Lookup(ip); c != "US" || s != "US-CA" {
					t.Errorf("Lookup = %q, %q", c, s)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("this is not a MaxMind database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
	}{
		{"missing file", filepath.Join(dir, "missing.mmdb")},
		{"not an mmdb file", garbage},
		{"empty file", empty},
		{"directory", dir},
		{"unknown database type", writeDB(t, "Acme-Geo", cityNetworks)},
		{"database without country data", writeDB(t, "GeoLite2-ASN", []network{
			{CIDR: "203.0.113.0/24", Value: mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64496)}},
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := Open(tt.path)
			if err == nil {
				_ = db.Close()
				t.Fatalf("Open(%q) succeeded, want error", tt.path)
			}
			if db != nil {
				t.Errorf("Open(%q) returned non-nil DB with error", tt.path)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Open error %q does not name the path %q", err, tt.path)
			}
			if strings.Count(err.Error(), tt.path) > 1 {
				t.Errorf("Open error %q names the path more than once", err)
			}
		})
	}
}

func TestNilDBClose(t *testing.T) {
	t.Parallel()
	var db *DB
	if err := db.Close(); err != nil {
		t.Errorf("nil DB Close = %v, want nil", err)
	}
}

func BenchmarkLookup(b *testing.B) {
	db := openDB(b, writeDB(b, "GeoLite2-City", cityNetworks))
	ips := []netip.Addr{
		netip.MustParseAddr("203.0.113.7"),
		netip.MustParseAddr("198.51.100.42"),
		netip.MustParseAddr("2001:db8:1::1"),
		netip.MustParseAddr("8.8.8.8"),
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		db.Lookup(ips[i%len(ips)])
		i++
	}
}
