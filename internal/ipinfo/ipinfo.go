// Package ipinfo tells the network an IP address belongs to (its
// autonomous system and organisation) and whether that network is a
// hosting or cloud provider's, from data bundled with the server: no
// address leaves the machine.
//
// The data is ip-location-db's "asn" database (npm @ip-location-db/asn,
// version in SOURCE.md): RouteViews, the five RIRs (via the NRO) and
// DB-IP's IP to ASN Lite, all CC BY 4.0; Attribution and AttributionURL
// are the credit every page showing a result must carry.
// scripts/update-asn-db.sh refreshes it. The hosting flag comes from the
// short list of cloud and hosting networks in hosting.go.
//
// Only the server imports it (3.2 MB compressed, about 12 MB in
// memory once the first lookup has opened it).
package ipinfo

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"
)

//go:embed asn.bin.gz
var compressed []byte

// Attribution is the credit the data's licences require (DB-IP's asks
// for a link to AttributionURL on every page that shows a result).
const Attribution = "Network data by RouteViews, the NRO and DB-IP (CC BY 4.0), via ip-location-db"

// AttributionURL is the link DB-IP's licence requires next to results.
const AttributionURL = "https://db-ip.com"

// Info is what the bundled data knows of an address's network.
type Info struct {
	ASN     uint32 // autonomous system number
	Org     string // the organisation that holds it
	Hosting bool   // a cloud, hosting or CDN network, not an access provider
}

// open decodes the bundled table once, at the first lookup, so that a
// server that never shows a stored IP never pays its memory.
var open = sync.OnceValues(load)

func load() (*table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("ipinfo: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("ipinfo: %w", err)
	}
	return decode(b)
}

// Lookup returns the network of ip; false when the data has none
// (private, reserved and unannounced addresses) or the bundled data
// cannot be read (a broken build, which the package's tests catch).
func Lookup(ip netip.Addr) (Info, bool) {
	t, err := open()
	if err != nil {
		return Info{}, false
	}
	return t.lookup(ip)
}

// table is the decoded database: for each family, the sorted starts of
// contiguous ranges and, for each, an index into nets (0: no network,
// for the gaps between announced ranges).
type table struct {
	nets  []Info
	v4    []uint32
	v4net []uint32
	v6    []u128
	v6net []uint32
}

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if a.hi != b.hi {
		if a.hi < b.hi {
			return -1
		}
		return 1
	}
	if a.lo != b.lo {
		if a.lo < b.lo {
			return -1
		}
		return 1
	}
	return 0
}

func (t *table) lookup(ip netip.Addr) (Info, bool) {
	ip = ip.Unmap()
	var n uint32
	switch {
	case ip.Is4():
		a := ip.As4()
		i, found := slices.BinarySearch(t.v4, binary.BigEndian.Uint32(a[:]))
		if !found {
			i--
		}
		if i < 0 {
			return Info{}, false
		}
		n = t.v4net[i]
	case ip.Is6():
		a := ip.As16()
		k := u128{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])}
		i, found := slices.BinarySearchFunc(t.v6, k, u128.cmp)
		if !found {
			i--
		}
		if i < 0 {
			return Info{}, false
		}
		n = t.v6net[i]
	default:
		return Info{}, false
	}
	if n == 0 {
		return Info{}, false
	}
	return t.nets[n], true
}

// The table's encoding (see encode): magic, then uvarints: the number of
// networks, each as ASN, organisation length and bytes; the number of
// IPv4 starts, each as the difference from the previous start and a
// network index; the number of IPv6 starts, each as 16 bytes and a
// network index. Deltas keep the gzip'd file small.
const magic = "skopos-asn-1\n"

var errCorrupt = errors.New("ipinfo: corrupt ASN table")

func decode(b []byte) (*table, error) {
	if !bytes.HasPrefix(b, []byte(magic)) {
		return nil, errCorrupt
	}
	r := &reader{b: b[len(magic):]}
	t := &table{}
	nn := r.count()
	t.nets = make([]Info, 1, nn+1)
	for range nn {
		asn := r.uvarint()
		org := string(r.bytes(r.uvarint()))
		t.nets = append(t.nets, Info{ASN: uint32(asn), Org: org, Hosting: hostingASNs[uint32(asn)] != ""})
	}
	n4 := r.count()
	t.v4, t.v4net = make([]uint32, 0, n4), make([]uint32, 0, n4)
	var prev uint64
	for range n4 {
		prev += r.uvarint()
		t.v4 = append(t.v4, uint32(prev))
		t.v4net = append(t.v4net, r.net(len(t.nets)))
	}
	n6 := r.count()
	t.v6, t.v6net = make([]u128, 0, n6), make([]uint32, 0, n6)
	for range n6 {
		a := r.bytes(16)
		if a == nil {
			break
		}
		t.v6 = append(t.v6, u128{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])})
		t.v6net = append(t.v6net, r.net(len(t.nets)))
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, errCorrupt
	}
	return t, nil
}

// reader reads the encoding, remembering the first error so that decode
// checks once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = errCorrupt, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length, bounded by what is left so that a corrupt count
// cannot make decode allocate gigabytes.
func (r *reader) count() int {
	v := r.uvarint()
	if v > uint64(len(r.b)) {
		r.err, r.b = errCorrupt, nil
		return 0
	}
	return int(v)
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.err, r.b = errCorrupt, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) net(nets int) uint32 {
	v := r.uvarint()
	if v >= uint64(nets) {
		r.err, r.b = errCorrupt, nil
		return 0
	}
	return uint32(v)
}
