// Package geotest writes real .mmdb databases for tests, with
// github.com/maxmind/mmdbwriter: no test depends on a downloaded database.
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Network is one CIDR and its record.
type Network struct {
	CIDR  string
	Value mmdbtype.Map
}

// Country builds a {"iso_code": code, "names": {"en": name}} record.
func Country(code, name string) mmdbtype.Map {
	return mmdbtype.Map{
		"iso_code": mmdbtype.String(code),
		"names":    mmdbtype.Map{"en": mmdbtype.String(name)},
	}
}

// City is a GeoLite2-City record with a country and, when subdivision is
// not empty, one subdivision.
func City(country, subdivision string) mmdbtype.Map {
	m := mmdbtype.Map{"country": Country(country, country), "registered_country": Country(country, country)}
	if subdivision != "" {
		m["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(subdivision)}}
	}
	return m
}

// Write writes a .mmdb file of the given database type (e.g.
// "GeoLite2-City") holding networks into t.TempDir() and returns its path.
func Write(t testing.TB, dbType string, networks []Network) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		IPVersion:               6,
		RecordSize:              24,
		IncludeReservedNetworks: true, // documentation ranges are reserved
		Languages:               []string{"en"},
	})
	if err != nil {
		t.Fatalf("mmdbwriter.New: %v", err)
	}
	for _, n := range networks {
		_, ipnet, err := net.ParseCIDR(n.CIDR)
		if err != nil {
			t.Fatalf("ParseCIDR(%q): %v", n.CIDR, err)
		}
		if err := tree.Insert(ipnet, n.Value); err != nil {
			t.Fatalf("Insert(%s): %v", n.CIDR, err)
		}
	}
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
