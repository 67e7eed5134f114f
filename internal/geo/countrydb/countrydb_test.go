package countrydb_test

import (
	"net/netip"
	"testing"

	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/geo/countrydb"
)

// TestBundledDatabaseKnowsCountries: the embedded database opens and
// places well-known public networks; private and documentation ranges
// stay Unknown.
func TestBundledDatabaseKnowsCountries(t *testing.T) {
	t.Parallel()
	db, err := countrydb.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for ip, want := range map[string]string{
		"8.8.8.8":              "US",        // Google public DNS
		"2001:4860:4860::8888": "US",        // the same, IPv6
		"193.0.6.139":          "NL",        // RIPE NCC
		"203.0.113.7":          geo.Unknown, // TEST-NET-3
		"10.1.2.3":             geo.Unknown, // private
		"::ffff:8.8.4.4":       "US",        // IPv4-mapped
	} {
		if got, state := db.Lookup(netip.MustParseAddr(ip)); got != want || state != geo.Unknown {
			t.Errorf("%s: %s/%s, want %s/Unknown", ip, got, state, want)
		}
	}
}
