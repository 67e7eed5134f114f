// Package spool is the intake log: an append-only log on disk between the
// intake and the writer, so that an event is acknowledged only once it is
// durable and a crash or a store outage loses nothing that was
// acknowledged. It follows the design of Kafka's log, Vector's disk buffers
// and Fluent Bit's filesystem buffering:
//
//   - records are appended to segment files, each framed with its length,
//     a CRC-32C, a sequence number and its append time;
//   - many concurrent Appends share one write and one fsync (group commit:
//     by default an fsync starts as soon as a record waits, and the
//     records appended while it runs share the next one, so a batch grows
//     with the load; SyncBatch waits SyncInterval or SyncEvery records
//     instead);
//   - one Reader consumes the records in order, only those already durable;
//   - the consumer calls Checkpoint after its store committed them, and
//     segments wholly before the checkpoint are deleted;
//   - on Open, a torn tail (a record cut by a crash) is truncated away.
//
// The log is bounded by bytes (MaxBytes), not by memory: over the budget
// Append fails with ErrFull.
//
// Exactly-once storage is the consumer's part: the checkpoint file is only
// a hint of where to resume (it is written after the store committed, so a
// crash in between replays records the store already has); the consumer
// must recognise those, for instance by storing the last sequence number
// in the same transaction as the data.
package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// Sync says when an appended record counts as durable.
type Sync int

const (
	// SyncAlways (the default) starts an fsync as soon as a record is
	// appended; the records appended while it runs share the next one,
	// so one client waits one fsync and many clients share each fsync
	// (adaptive group commit). Append returns after the fsync that covers
	// its record: nothing acknowledged is lost, even on power loss.
	// Measured against SyncBatch on one disk (BENCHMARKS.md): about twice
	// the acknowledged events a second from 32 clients, a tenth of the
	// latency for one client, at the cost of more, smaller fsyncs.
	SyncAlways Sync = iota
	// SyncBatch fsyncs every SyncInterval (10 ms) or SyncEvery (1000)
	// records, whichever comes first: the same guarantee as SyncAlways
	// with fewer fsyncs, for disks where an fsync is dear (network block
	// storage), paid for with up to SyncInterval of latency on every
	// event, which also caps a client's rate.
	SyncBatch
	// SyncOff writes records to the operating system at once (records
	// arriving during a write share the next one), without fsync: there
	// is no fsync to share, so waiting for company would only add latency
	// and, measured, CPU per record (30–40 µs per request through HTTP
	// instead of 55–70). A crash of the process loses nothing acknowledged, a crash of
	// the machine (power loss, kernel panic) loses what the OS had not yet
	// written to disk, typically up to 30 seconds.
	SyncOff
)

// ParseSync reads "always", "batch" or "off"; "" is SyncAlways.
func ParseSync(s string) (Sync, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "always":
		return SyncAlways, nil
	case "batch":
		return SyncBatch, nil
	case "off":
		return SyncOff, nil
	}
	return 0, fmt.Errorf("spool: sync policy %q: want always, batch or off", s)
}

func (s Sync) String() string {
	switch s {
	case SyncBatch:
		return "batch"
	case SyncOff:
		return "off"
	}
	return "always"
}

// Options configures a Log. The zero value of each field is its default.
type Options struct {
	// MaxBytes bounds the bytes of all segments; default 1 GiB.
	MaxBytes int64
	// Sync is the durability policy; default SyncAlways.
	Sync Sync
	// SyncInterval is the longest a record waits for its write under
	// SyncBatch; default 10 ms.
	SyncInterval time.Duration
	// SyncEvery starts a write once this many records wait; default 1000.
	SyncEvery int
	// SegmentBytes is the size at which a new segment file is started;
	// default 16 MiB.
	SegmentBytes int64
	// OnSync, when set, is called with the duration of every fsync.
	OnSync func(time.Duration)
	// Logger receives errors; default slog.Default().
	Logger *slog.Logger
	// Now stamps appended records (Record.Time, Stats.Oldest); default
	// time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = 10 * time.Millisecond
	}
	if o.SyncEvery <= 0 {
		o.SyncEvery = 1000
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

var (
	// ErrFull is returned by Append when the log holds MaxBytes.
	ErrFull = errors.New("spool: full")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("spool: closed")
)

// Stats is a snapshot of a Log.
type Stats struct {
	Bytes        int64     // bytes in the segment files
	Appended     uint64    // records appended since Open
	Checkpointed uint64    // records checkpointed since Open
	Pending      uint64    // records appended (now or before Open) and not checkpointed
	Oldest       time.Time // append time of the oldest pending record; zero when none
	Segments     int
}

// Log is an intake log in one directory. Append is safe for concurrent
// use; there is one Reader.
type Log struct {
	dir  string
	opts Options
	id   string

	mu        sync.Mutex
	segs      []*segment // in order; the last one is written to
	f         *os.File   // the last segment
	cur       *batch     // records waiting for the next write
	spare     []byte     // the buffer of the last batch written, for the next
	nextSeq   uint64
	durable   uint64        // last durable sequence number
	newData   chan struct{} // closed when durable advances
	bytes     int64
	ckpt      uint64 // every seq <= ckpt is done
	savedCkpt uint64
	starts    []mark // first seq and time of the batches not yet checkpointed
	appended  uint64
	ckpted    uint64
	closed    bool

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

type mark struct {
	seq uint64
	t   time.Time
}

// Open opens (or creates) the log in dir, truncating a torn tail, and
// starts its writer goroutine. Close it with Close.
func Open(dir string, opts Options) (*Log, error) {
	opts.defaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	l := &Log{dir: dir, opts: opts, newData: make(chan struct{}), kick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	var err error
	if l.id, err = loadID(dir); err != nil {
		return nil, err
	}
	if l.ckpt, err = loadCheckpoint(dir); err != nil {
		return nil, err
	}
	l.savedCkpt = l.ckpt
	if err := l.scan(); err != nil {
		return nil, err
	}
	l.nextSeq = max(l.nextSeq, l.ckpt+1)
	l.durable = l.nextSeq - 1
	l.removeDone()
	// a fresh segment on every open: nothing is ever appended after a
	// tail that a crash may have cut
	if err := l.rotate(); err != nil {
		return nil, err
	}
	l.cur = l.newBatch()
	go l.run()
	return l, nil
}

// ID is the log's stable identity, generated when its directory was first
// used: a consumer keys its committed position with it.
func (l *Log) ID() string { return l.id }

// Stats returns a snapshot of the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Stats{Bytes: l.bytes, Appended: l.appended, Checkpointed: l.ckpted, Segments: len(l.segs)}
	if last := l.nextSeq - 1; last > l.ckpt {
		st.Pending = last - l.ckpt
	}
	if len(l.starts) > 0 {
		st.Oldest = l.starts[0].t
	} else if l.cur.n > 0 {
		st.Oldest = l.cur.t
	}
	return st
}

// Close writes what is waiting, saves the checkpoint and stops the writer
// goroutine. Appends after Close fail with ErrClosed; a Reader's Next
// returns ErrClosed once it has read every durable record.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.newData)
	l.newData = make(chan struct{})
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// Durable returns the sequence number of the last durable record: every
// Append that has returned nil is covered.
func (l *Log) Durable() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durable
}
