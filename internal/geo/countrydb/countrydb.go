// Package countrydb is the country database bundled with the Skopos
// server, so that sessions get a country without the operator finding an
// .mmdb file first: ip-location-db's "geo-whois-asn-country" database
// (npm @ip-location-db/geo-whois-asn-country-mmdb, version in SOURCE.md),
// data by the Number Resource Organization (NRO), licensed CC BY 4.0:
// attribution in the README and the dashboard's footer. Country only (no
// state). scripts/update-country-db.sh refreshes it.
//
// Only the server imports it (about 4 MB compressed, 8 MB in memory once
// opened); the SDK takes a database path.
package countrydb

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"

	"github.com/skopos-go/skopos/internal/geo"
)

//go:embed country.mmdb.gz
var compressed []byte

// Attribution is the credit the database's licence requires.
const Attribution = "IP geolocation data by the Number Resource Organization (NRO), CC BY 4.0, via ip-location-db"

// Open opens the bundled database, decompressed into memory on the first
// call. The decompressed bytes are shared, read-only, by every database
// Open returns: a process with several apps (tests start dozens) holds
// and decompresses them once.
func Open() (*geo.DB, error) {
	b, err := decompressed()
	if err != nil {
		return nil, err
	}
	return geo.OpenBytes("bundled country database", b)
}

var decompressed = sync.OnceValues(func() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("countrydb: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("countrydb: %w", err)
	}
	return b, nil
})
