// Package geo turns a visitor's IP address into a country and a state (region)
// using a local IP geolocation database in the MaxMind DB (.mmdb) format.
//
// Lookups happen entirely on your server: no IP address is ever sent to a
// third party, and only the resulting codes are stored, never the address.
//
// # Getting a database
//
// Any of these free databases works; download the .mmdb file and point
// Skopos at it:
//
//   - DB-IP "IP to City Lite" or "IP to Country Lite"
//     (https://db-ip.com/db/lite.php). No account needed. Licensed under
//     CC BY 4.0, so you must credit DB-IP (for example "IP geolocation by
//     DB-IP" with a link to https://db-ip.com) wherever the data is shown.
//   - MaxMind GeoLite2 City or GeoLite2 Country
//     (https://dev.maxmind.com/geoip/geolite2-free-geolocation-data). Requires
//     a free MaxMind account and accepting the GeoLite2 license; MaxMind's
//     geoipupdate tool can keep the file current.
//   - The commercial MaxMind GeoIP2 City or Country databases.
//
// A City database gives both the country and the state; a Country database
// gives only the country, and every state is reported as [Unknown]. The
// databases are updated regularly (monthly or weekly); replace the file and
// restart Skopos to pick up a new one.
//
// # Codes
//
// Countries are ISO 3166-1 alpha-2 codes ("US", "DE") and states are ISO
// 3166-2 subdivision codes including the country prefix ("US-CA", "DE-BY").
// Anything that cannot be determined is [Unknown].
package geo

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"

	"github.com/oschwald/geoip2-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2"
)

// Unknown is the country or state reported when it cannot be determined.
const Unknown = "Unknown"

// DB looks up client IPs in an .mmdb database. Safe for concurrent use.
//
// A nil *DB is valid: its Lookup reports [Unknown] for everything, so callers
// can hold a nil DB when no database is configured.
type DB struct {
	r   *geoip2.Reader
	raw *maxminddb.Reader // a country-code database (ip-location-db's format)
}

// Open opens path (a GeoLite2-City/GeoIP2-City, GeoLite2-Country or DB-IP
// city/country lite .mmdb). Errors name the path.
//
// The file is memory-mapped; call [DB.Close] when done with it.
func Open(path string) (*DB, error) {
	r, err := geoip2.Open(path)
	var unsupported geoip2.UnknownDatabaseTypeError
	if errors.As(err, &unsupported) {
		if r != nil {
			_ = r.Close()
		}
		raw, rerr := maxminddb.Open(path)
		if rerr != nil {
			return nil, fmt.Errorf("geo: open %s: %w", path, rerr)
		}
		return countryCodeDB(path, raw)
	}
	if err != nil {
		if r != nil {
			// geoip2 returns an open reader along with an error for
			// databases of an unsupported type.
			_ = r.Close()
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("geo: %w", err) // already names the path
		}
		return nil, fmt.Errorf("geo: open %s: %w", path, err)
	}
	// geoip2 accepts any known MaxMind database type (ASN, ISP, ...); only
	// City, Country and Enterprise ones support City lookups. Probe once
	// so that a wrong file fails here rather than reporting Unknown forever.
	var ime geoip2.InvalidMethodError
	if _, err := r.City(netip.IPv4Unspecified()); errors.As(err, &ime) {
		dbType := r.Metadata().DatabaseType
		_ = r.Close()
		return nil, fmt.Errorf("geo: open %s: %s database has no country data", path, dbType)
	}
	return &DB{r: r}, nil
}

// OpenBytes opens an .mmdb held in memory (name is for errors): a
// MaxMind/DB-IP City or Country database, or a country-code one as the
// ip-location-db project publishes ({"country_code": "US"} per network).
func OpenBytes(name string, b []byte) (*DB, error) {
	r, err := geoip2.OpenBytes(b)
	var unsupported geoip2.UnknownDatabaseTypeError
	if errors.As(err, &unsupported) {
		raw, rerr := maxminddb.OpenBytes(b)
		if rerr != nil {
			return nil, fmt.Errorf("geo: open %s: %w", name, rerr)
		}
		return countryCodeDB(name, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("geo: open %s: %w", name, err)
	}
	return &DB{r: r}, nil
}

// countryCodeDB accepts raw when its records carry a country_code.
func countryCodeDB(name string, raw *maxminddb.Reader) (*DB, error) {
	var rec struct {
		CountryCode string `maxminddb:"country_code"`
	}
	// a network every country database places (Google's public DNS)
	if err := raw.Lookup(netip.MustParseAddr("8.8.8.8")).Decode(&rec); err != nil || rec.CountryCode == "" {
		typ := raw.Metadata.DatabaseType
		_ = raw.Close()
		return nil, fmt.Errorf("geo: open %s: %s database has no country data", name, typ)
	}
	return &DB{raw: raw}, nil
}

// reserved are ranges no visitor comes from (documentation, benchmarking,
// shared address space): country-code databases built from registry data
// file them under the registry's region (MaxMind's have no record).
var reserved = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("2001:db8::/32"),
}

func notRouted(ip netip.Addr) bool {
	for _, p := range reserved {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Close releases the database. Lookup must not be called after Close.
// Closing a nil *DB is a no-op.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	if db.raw != nil {
		return db.raw.Close()
	}
	if db.r == nil {
		return nil
	}
	return db.r.Close()
}

// Lookup returns the ISO 3166-1 alpha-2 country code ("US") and the ISO 3166-2
// subdivision code ("US-CA") of ip.
// Unknown parts (no DB record, private/loopback address, invalid ip,
// country-only database, nil *DB) are "Unknown".
func (db *DB) Lookup(ip netip.Addr) (country, state string) {
	country, state = Unknown, Unknown
	if db == nil || db.r == nil && db.raw == nil {
		return
	}
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() {
		return
	}
	if db.raw != nil { // country only
		if notRouted(ip) {
			return
		}
		var rec struct {
			CountryCode string `maxminddb:"country_code"`
		}
		if err := db.raw.Lookup(ip).Decode(&rec); err == nil && len(rec.CountryCode) == 2 {
			country = rec.CountryCode
		}
		return
	}
	rec, err := db.r.City(ip)
	if err != nil || rec == nil {
		return
	}
	cc := rec.Country.ISOCode
	if cc == "" {
		cc = rec.RegisteredCountry.ISOCode
	}
	if cc == "" {
		return
	}
	country = cc
	if len(rec.Subdivisions) > 0 && rec.Subdivisions[0].ISOCode != "" {
		state = cc + "-" + rec.Subdivisions[0].ISOCode
	}
	return
}
