package spool

import (
	"encoding/binary"
	"hash/crc32"
	"time"
)

// Record framing: length of the payload, CRC-32C of everything after the
// CRC, sequence number, append time (Unix nanoseconds), payload.
const headerSize = 4 + 4 + 8 + 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaxRecord is the largest payload Append accepts.
const MaxRecord = 1 << 20

// Record is one appended payload.
type Record struct {
	Seq  uint64
	Time time.Time // when it was appended
	Data []byte
}

// decode reads one record from b; ok is false for a short or corrupt one.
func decode(b []byte) (Record, int, bool) {
	if len(b) < headerSize {
		return Record{}, 0, false
	}
	n := int(binary.LittleEndian.Uint32(b[0:4]))
	if n > MaxRecord || len(b) < headerSize+n {
		return Record{}, 0, false
	}
	if crc32.Checksum(b[8:headerSize+n], castagnoli) != binary.LittleEndian.Uint32(b[4:8]) {
		return Record{}, 0, false
	}
	seq := binary.LittleEndian.Uint64(b[8:16])
	if seq == 0 {
		return Record{}, 0, false
	}
	return Record{
		Seq:  seq,
		Time: time.Unix(0, int64(binary.LittleEndian.Uint64(b[16:24]))),
		Data: b[headerSize : headerSize+n],
	}, headerSize + n, true
}

func encode(buf []byte, seq uint64, t time.Time, data []byte) []byte {
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(data)))
	binary.LittleEndian.PutUint64(h[8:16], seq)
	binary.LittleEndian.PutUint64(h[16:24], uint64(t.UnixNano()))
	crc := crc32.Update(crc32.Checksum(h[8:], castagnoli), castagnoli, data)
	binary.LittleEndian.PutUint32(h[4:8], crc)
	return append(append(buf, h[:]...), data...)
}
