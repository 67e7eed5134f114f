package pipeline

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"

	"github.com/skopos-go/skopos/internal/visitorid"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// IDLength is the length of PocketBase record ids.
const IDLength = 15

// NewID returns a random 15-character [a-z0-9] record id.
func NewID() string {
	var out [IDLength]byte
	var buf [32]byte
	n := 0
	for n < IDLength {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand documents it)
		for _, b := range buf {
			if b >= 252 { // 252 = 7*36: reject to keep the alphabet uniform
				continue
			}
			out[n] = idAlphabet[b%36]
			if n++; n == IDLength {
				break
			}
		}
	}
	return string(out[:])
}

// DeriveID returns a 15-character [a-z0-9] id derived from parts, so that
// every instance computes the same record id for the same natural key
// (a visitor of a website, the n-th session of a visitor) and a second
// creation fails on the primary key instead of making a duplicate.
func DeriveID(parts ...string) string {
	h := sha256.New()
	visitorid.WriteFields(h, parts...)
	sum := h.Sum(nil)
	var out [IDLength]byte
	// 15 base-36 digits from the first 10 bytes (80 bits ≥ 36^15 ≈ 2^77.5)
	hi := binary.BigEndian.Uint64(sum[0:8])
	lo := uint64(binary.BigEndian.Uint16(sum[8:10]))
	for i := IDLength - 1; i >= 0; i-- {
		// (hi:lo) / 36 with lo holding 16 bits
		rem := hi % 36
		hi /= 36
		cur := rem<<16 | lo
		out[i] = idAlphabet[cur%36]
		lo = cur / 36
	}
	return string(out[:])
}

// PageViewID is the events row id of the page view the browser named pid.
// An engagement beacon finds its page view by deriving the same id, so
// only the visitor who sent the page view can update it: the id includes
// the visitor hash, which the server derives from the request (address,
// user agent, daily salt) and no client can choose. It needs no column or
// index of its own, and the lookup is by primary key. (A beacon after the
// salt's daily rotation finds nothing and is dropped as an orphan.)
func PageViewID(trackingID, visitor, pid string) string {
	return DeriveID("pageview", trackingID, visitor, pid)
}
