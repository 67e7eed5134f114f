package spool

import (
	"context"
	"fmt"
	"time"
)

// batch is the group of records one write (and fsync) covers.
type batch struct {
	buf   []byte
	first uint64 // first seq in it
	last  uint64
	n     int
	t     time.Time // append time of its first record
	done  chan struct{}
	err   error
}

// maxSpare bounds the batch buffer kept for reuse.
const maxSpare = 4 << 20

// newBatch starts a batch in the buffer of the last one written (with
// mu held): batches alternate between two buffers instead of growing a
// new one for every write.
func (l *Log) newBatch() *batch {
	b := &batch{done: make(chan struct{}), buf: l.spare}
	l.spare = nil
	return b
}

// AppendBatch adds every record of data to the log, in order, and returns
// once all are durable under the Sync policy: one wait for the lot. It is
// all or nothing against MaxBytes (ErrFull appends none).
func (l *Log) AppendBatch(ctx context.Context, data [][]byte) error {
	var size int64
	for _, d := range data {
		if len(d) > MaxRecord {
			return fmt.Errorf("spool: record of %d bytes exceeds %d", len(d), MaxRecord)
		}
		size += int64(headerSize + len(d))
	}
	if len(data) == 0 {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.bytes+size > l.opts.MaxBytes {
		l.mu.Unlock()
		return ErrFull
	}
	b := l.cur
	now := l.opts.Now()
	if b.n == 0 {
		b.first, b.t = l.nextSeq, now
	}
	for _, d := range data {
		b.buf = encode(b.buf, l.nextSeq, now, d)
		b.last = l.nextSeq
		b.n++
		l.nextSeq++
		l.appended++
	}
	l.bytes += size
	wake := l.opts.Sync != SyncBatch || b.n >= l.opts.SyncEvery
	l.mu.Unlock()
	if wake {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("spool: waiting for the write: %w", ctx.Err())
	}
}

// Append adds data to the log and returns once it is durable under the
// Sync policy (or when ctx is done: the record may then still be written).
// It returns ErrFull when the log holds MaxBytes.
func (l *Log) Append(ctx context.Context, data []byte) error {
	return l.AppendBatch(ctx, [][]byte{data})
}

// run is the writer goroutine: it writes batches, fsyncs them and keeps
// the checkpoint file and the segments in step.
func (l *Log) run() {
	defer close(l.done)
	t := time.NewTicker(l.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-l.kick:
		case <-t.C:
		case <-l.stop:
			l.flush()
			l.saveCheckpoint()
			return
		}
		l.flush()
		l.saveCheckpoint()
	}
}

// flush writes the waiting batch, fsyncs it under SyncBatch and
// SyncAlways, and wakes its Appends and the Reader.
func (l *Log) flush() {
	l.mu.Lock()
	b := l.cur
	if b.n == 0 {
		l.mu.Unlock()
		return
	}
	l.cur = l.newBatch()
	seg, f := l.segs[len(l.segs)-1], l.f
	l.mu.Unlock()

	_, err := f.Write(b.buf)
	if err == nil && l.opts.Sync != SyncOff {
		// the real monotonic clock, not Options.Now: this is how long the
		// disk took (a metric), not a timestamp, and an injected test
		// clock would report a real fsync as taking no time
		start := time.Now()
		err = f.Sync()
		if l.opts.OnSync != nil {
			l.opts.OnSync(time.Since(start))
		}
	}

	l.mu.Lock()
	if err != nil {
		// nothing of the batch counts: cut the file back so that the
		// reader never sees a half-written batch
		_ = f.Truncate(seg.size)
		l.bytes -= int64(len(b.buf))
		l.opts.Logger.Error("skopos: spool: write failed; the batch's requests get an error", "error", err, "records", b.n)
		b.err = fmt.Errorf("spool: write: %w", err)
	} else {
		seg.size += int64(len(b.buf))
		seg.durable = seg.size
		seg.last = b.last
		l.durable = b.last
		l.starts = append(l.starts, mark{b.first, b.t})
		close(l.newData)
		l.newData = make(chan struct{})
		if seg.size >= l.opts.SegmentBytes {
			if rerr := l.rotate(); rerr != nil {
				l.opts.Logger.Error("skopos: spool: cannot start a new segment", "error", rerr)
			}
		}
	}
	if cap(b.buf) <= maxSpare {
		l.spare = b.buf[:0]
	}
	b.buf = nil
	l.mu.Unlock()
	close(b.done)
}
