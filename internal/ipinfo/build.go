package ipinfo

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
)

// Build converts ip-location-db's ASN CSV files (rows of first address,
// last address, ASN, organisation; IPv4 and IPv6 alike) into the
// gzip'd table the package embeds. scripts/update-asn-db.sh runs it
// through cmd/build-asn-db.
//
// Where rows overlap (the published data has a few), the row starting
// later wins from its start on, and the earlier one resumes after it.
func Build(w io.Writer, csvs ...io.Reader) error {
	type row struct {
		first, last netip.Addr
		net         uint32
	}
	var rows []row
	type key struct {
		asn uint32
		org string
	}
	index := map[key]uint32{}
	nets := []key{{}}
	for _, in := range csvs {
		cr := csv.NewReader(bufio.NewReader(in))
		cr.FieldsPerRecord = 4
		cr.ReuseRecord = true
		for {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("ipinfo: %w", err)
			}
			first, err1 := netip.ParseAddr(rec[0])
			last, err2 := netip.ParseAddr(rec[1])
			asn, err3 := strconv.ParseUint(rec[2], 10, 32)
			if err := errors.Join(err1, err2, err3); err != nil {
				return fmt.Errorf("ipinfo: row %q: %w", rec, err)
			}
			if first.Is4() != last.Is4() || last.Less(first) {
				return fmt.Errorf("ipinfo: row %q: not a range", rec)
			}
			k := key{uint32(asn), rec[3]}
			n, ok := index[k]
			if !ok {
				n = uint32(len(nets))
				index[k] = n
				nets = append(nets, k)
			}
			rows = append(rows, row{first, last, n})
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.first.Compare(b.first) })

	type span struct {
		start netip.Addr
		net   uint32
	}
	var v4, v6 []span
	add := func(out *[]span, start netip.Addr, net uint32) {
		s := *out
		for len(s) > 0 && !s[len(s)-1].start.Less(start) {
			s = s[:len(s)-1]
		}
		if len(s) == 0 || s[len(s)-1].net != net {
			s = append(s, span{start, net})
		}
		*out = s
	}
	var end netip.Addr // last address covered so far in the family
	var endNet uint32
	closeFamily := func(out *[]span) {
		if end.IsValid() && end.Next().IsValid() {
			add(out, end.Next(), 0)
		}
		end = netip.Addr{}
	}
	for i, r := range rows {
		out := &v6
		if r.first.Is4() {
			out = &v4
		}
		if i > 0 && rows[i-1].first.Is4() != r.first.Is4() {
			closeFamily(&v4) // IPv4 sorts first
		}
		if end.IsValid() && end.Next().Less(r.first) {
			add(out, end.Next(), 0)
		}
		add(out, r.first, r.net)
		if end.IsValid() && r.last.Less(end) {
			add(out, r.last.Next(), endNet)
		} else {
			end, endNet = r.last, r.net
		}
	}
	if len(rows) > 0 {
		if rows[len(rows)-1].first.Is4() {
			closeFamily(&v4)
		} else {
			closeFamily(&v6)
		}
	}

	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	var buf [binary.MaxVarintLen64]byte
	uv := func(v uint64) { bw.Write(buf[:binary.PutUvarint(buf[:], v)]) }
	bw.WriteString(magic)
	uv(uint64(len(nets) - 1))
	for _, k := range nets[1:] {
		uv(uint64(k.asn))
		uv(uint64(len(k.org)))
		bw.WriteString(k.org)
	}
	uv(uint64(len(v4)))
	var prev uint32
	for _, s := range v4 {
		a := s.start.As4()
		v := binary.BigEndian.Uint32(a[:])
		uv(uint64(v - prev))
		uv(uint64(s.net))
		prev = v
	}
	uv(uint64(len(v6)))
	for _, s := range v6 {
		a := s.start.As16()
		bw.Write(a[:])
		uv(uint64(s.net))
	}
	return cmp.Or(bw.Flush(), zw.Close())
}
