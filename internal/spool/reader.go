package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Reader reads a Log's durable records in order, from the first record
// after the checkpoint the Log was opened with.
type Reader struct {
	l       *Log
	from    uint64
	segBase uint64
	started bool
	f       *os.File
	off     int64  // file offset of buf[0]
	buf     []byte // read, not yet decoded
}

// NewReader returns the Log's reader. A Log has one consumer: call it once.
func (l *Log) NewReader() *Reader {
	l.mu.Lock()
	defer l.mu.Unlock()
	return &Reader{l: l, from: l.ckpt + 1}
}

// readChunk bounds one read from a segment file.
const readChunk = 256 << 10

// Next returns the next durable record, waiting for one until ctx is
// done. After Close it returns ErrClosed once every durable record is read.
func (r *Reader) Next(ctx context.Context) (Record, error) {
	for {
		if rec, n, ok := decode(r.buf); ok {
			r.buf = r.buf[n:]
			r.off += int64(n)
			if rec.Seq < r.from {
				continue
			}
			rec.Data = append([]byte(nil), rec.Data...)
			return rec, nil
		}
		l := r.l
		l.mu.Lock()
		seg, next := r.segment()
		var durable int64
		if seg != nil {
			durable = seg.durable
		}
		wait, closed := l.newData, l.closed
		l.mu.Unlock()
		switch {
		case seg != nil && r.off+int64(len(r.buf)) < durable:
			if err := r.read(seg, durable); err != nil {
				return Record{}, err
			}
			continue
		case next != nil:
			r.open(next)
			continue
		case closed:
			return Record{}, ErrClosed
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
}

// segment returns the segment being read (nil if it is gone) and the one
// after it, if any. Called with l.mu held.
func (r *Reader) segment() (cur, next *segment) {
	for _, s := range r.l.segs {
		switch {
		case !r.started:
			return nil, s
		case s.base == r.segBase:
			cur = s
		case s.base > r.segBase:
			// a segment is done for the reader once it has read all of it
			if cur == nil || r.off+int64(len(r.buf)) >= cur.durable {
				return cur, s
			}
			return cur, nil
		}
	}
	return cur, nil
}

func (r *Reader) open(s *segment) {
	if r.f != nil {
		_ = r.f.Close()
	}
	r.f, r.buf, r.off, r.segBase, r.started = nil, nil, 0, s.base, true
	f, err := os.Open(s.path)
	if err == nil {
		r.f = f
	}
}

func (r *Reader) read(s *segment, durable int64) error {
	if r.f == nil {
		f, err := os.Open(s.path)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		r.f = f
	}
	at := r.off + int64(len(r.buf))
	n := min(durable-at, readChunk)
	if len(r.buf) > 0 && cap(r.buf)-len(r.buf) < int(n) {
		r.buf = append(make([]byte, 0, len(r.buf)+int(n)), r.buf...)
	}
	start := len(r.buf)
	r.buf = append(r.buf, make([]byte, n)...)
	got, err := r.f.ReadAt(r.buf[start:], at)
	r.buf = r.buf[:start+got]
	if err != nil && got == 0 {
		return fmt.Errorf("spool: read %s: %w", s.path, err)
	}
	if len(r.buf) > 0 && start == len(r.buf) {
		return fmt.Errorf("spool: no progress reading %s", s.path)
	}
	if _, _, ok := decode(r.buf); !ok && int64(len(r.buf)) >= durable-r.off {
		// durable bytes that do not decode: corruption on disk; skip
		// the rest of the segment rather than stop the consumer
		r.l.opts.Logger.Error("skopos: spool: unreadable record; skipping the rest of the segment", "segment", s.path, "offset", r.off)
		r.off, r.buf = durable, nil
	}
	return nil
}

// Close releases the reader's file.
func (r *Reader) Close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}

// Checkpoint records that every record up to seq is committed by the
// consumer. The checkpoint file and the deletion of finished segments
// follow within SyncInterval.
func (l *Log) Checkpoint(seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq <= l.ckpt {
		return
	}
	if seq > l.durable {
		seq = l.durable
	}
	l.ckpted += seq - l.ckpt
	l.ckpt = seq
	for len(l.starts) > 1 && l.starts[1].seq <= seq+1 {
		l.starts = l.starts[1:]
	}
	if len(l.starts) == 1 && seq >= l.durable {
		l.starts = l.starts[:0]
	}
}

func (l *Log) saveCheckpoint() {
	l.mu.Lock()
	ckpt := l.ckpt
	if ckpt == l.savedCkpt {
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	// not fsynced on purpose: a checkpoint that goes back after a power
	// loss only replays records the consumer recognises as committed
	tmp := filepath.Join(l.dir, "checkpoint.tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(ckpt, 10)+"\n"), 0o600); err != nil {
		l.opts.Logger.Error("skopos: spool: cannot write the checkpoint", "error", err)
		return
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, "checkpoint")); err != nil {
		l.opts.Logger.Error("skopos: spool: cannot write the checkpoint", "error", err)
		return
	}
	l.mu.Lock()
	l.savedCkpt = ckpt
	l.removeDone()
	l.mu.Unlock()
}

func loadCheckpoint(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("spool: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		// a checkpoint is only a hint; the consumer skips what it has
		return 0, nil
	}
	return n, nil
}
