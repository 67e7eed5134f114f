package spool_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/testclock"
	"github.com/skopos-go/skopos/internal/testwait"
)

func open(t *testing.T, dir string, opts spool.Options) *spool.Log {
	t.Helper()
	l, err := spool.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func appendN(t *testing.T, l *spool.Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := l.Append(context.Background(), []byte(fmt.Sprintf("record %d", i))); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// readN reads n records (with a generous timeout) and returns their data.
func readN(t *testing.T, r *spool.Reader, n int) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	var out []string
	for range n {
		rec, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d records: %v", len(out), err)
		}
		out = append(out, string(rec.Data))
	}
	return out
}

func TestConcurrentAppendsShareFsyncsAndAreReadInOrder(t *testing.T) {
	t.Parallel()
	var syncs atomic.Int64
	l := open(t, t.TempDir(), spool.Options{SegmentBytes: 4096, OnSync: func(time.Duration) { syncs.Add(1) }})
	const writers, per = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if err := l.Append(context.Background(), []byte(fmt.Sprintf("%02d-%04d", w, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	r := l.NewReader()
	defer r.Close()
	got := readN(t, r, writers*per)
	wg.Wait()
	last := map[string]string{}
	for _, g := range got { // each writer's records arrive in its own order
		w := g[:2]
		if g <= last[w] {
			t.Fatalf("record %s after %s", g, last[w])
		}
		last[w] = g
	}
	if n := syncs.Load(); n == 0 || n >= writers*per {
		t.Errorf("fsyncs = %d for %d appends; want group commit (fewer fsyncs than appends)", n, writers*per)
	}
	if st := l.Stats(); st.Appended != writers*per || st.Segments < 2 {
		t.Errorf("stats = %+v; want %d appended over several segments", st, writers*per)
	}
}

func TestRestartResumesAfterTheCheckpointAndDeletesFinishedSegments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := spool.Open(dir, spool.Options{SegmentBytes: 200})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 20)
	r := l.NewReader()
	got := readN(t, r, 12)
	rec12 := got[11]
	l.Checkpoint(12) // sequence numbers start at 1: records 0..11 are done
	r.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	segsBefore, _ := filepath.Glob(filepath.Join(dir, "*.seg"))

	l2 := open(t, dir, spool.Options{SegmentBytes: 200})
	r2 := l2.NewReader()
	defer r2.Close()
	appendN(t, l2, 20, 2)
	got2 := readN(t, r2, 10)
	if got2[0] != "record 12" || got2[9] != "record 21" || rec12 != "record 11" {
		t.Errorf("after restart read %q … %q; want record 12 … record 21", got2[0], got2[9])
	}
	if st := l2.Stats(); st.Pending != 10 || st.Oldest.IsZero() {
		t.Errorf("stats = %+v; want 10 pending with an oldest time", st)
	}
	l2.Checkpoint(22)
	testwait.Until(t, "finished segments to be deleted", func() bool {
		segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
		return len(segs) == 1 && len(segsBefore) >= 2
	})
	if st := l2.Stats(); st.Pending != 0 || !st.Oldest.IsZero() {
		t.Errorf("stats after the last checkpoint = %+v; want nothing pending", st)
	}
}

// TestTornTailIsTruncated cuts the last segment inside a record, and
// corrupts a byte of another copy, as a crash mid-write or a bad disk
// would: every record before the damage is read, the damaged one and what
// follows it in that segment are gone, and appending goes on.
func TestTornTailIsTruncated(t *testing.T) {
	t.Parallel()
	for _, damage := range []string{"cut mid-record", "flipped byte"} {
		t.Run(damage, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			l, err := spool.Open(dir, spool.Options{})
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, l, 0, 10)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			sort.Strings(segs)
			var seg string
			for _, s := range segs {
				if st, _ := os.Stat(s); st.Size() > 0 {
					seg = s
				}
			}
			data, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			per := len(data) / 10 // every record has the same size here
			switch damage {
			case "cut mid-record":
				data = data[:7*per+per/2]
			case "flipped byte":
				data[7*per+per-1] ^= 0xff
			}
			if err := os.WriteFile(seg, data, 0o600); err != nil {
				t.Fatal(err)
			}

			l2 := open(t, dir, spool.Options{})
			if st, _ := os.Stat(seg); st.Size() != int64(7*per) {
				t.Errorf("segment size after open = %d, want %d (torn record truncated)", st.Size(), 7*per)
			}
			appendN(t, l2, 100, 1)
			r := l2.NewReader()
			defer r.Close()
			got := readN(t, r, 8)
			if got[6] != "record 6" || got[7] != "record 100" {
				t.Errorf("read %q; want records 0-6 then record 100", got)
			}
		})
	}
}

func TestAppendBeyondTheBudgetIsRefusedUntilCheckpointed(t *testing.T) {
	t.Parallel()
	rec := []byte("0123456789012345678901234567890123456789") // 40 B + 24 B header
	const size = 64
	l := open(t, t.TempDir(), spool.Options{MaxBytes: 10 * size, SegmentBytes: 2 * size})
	for i := range 10 { // exactly the budget
		if err := l.Append(context.Background(), rec); err != nil {
			t.Fatalf("Append %d within the budget: %v", i, err)
		}
	}
	if err := l.Append(context.Background(), rec); !errors.Is(err, spool.ErrFull) {
		t.Fatalf("Append over the budget = %v, want ErrFull", err)
	}
	r := l.NewReader()
	defer r.Close()
	readN(t, r, 4)
	l.Checkpoint(4) // two whole segments done
	testwait.Until(t, "space to be freed", func() bool { return l.Append(context.Background(), rec) == nil })
	if st := l.Stats(); st.Bytes > 10*size {
		t.Errorf("bytes = %d over the budget %d", st.Bytes, 10*size)
	}
}

func TestSyncPolicies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want spool.Sync
		err  bool
	}{{"", spool.SyncAlways, false}, {"batch", spool.SyncBatch, false}, {"always", spool.SyncAlways, false},
		{"OFF", spool.SyncOff, false}, {"sometimes", 0, true}} {
		got, err := spool.ParseSync(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseSync(%q) = %v, %v", tc.in, got, err)
		}
	}
	// the default, whether unset in a config string or in Options
	if zero := (spool.Options{}).Sync; zero != spool.SyncAlways || zero.String() != "always" {
		t.Errorf("zero Options.Sync = %v, want always", zero)
	}
	for _, p := range []spool.Sync{spool.SyncBatch, spool.SyncAlways, spool.SyncOff} {
		t.Run(p.String(), func(t *testing.T) {
			t.Parallel()
			var syncs atomic.Int64
			dir := t.TempDir()
			l, err := spool.Open(dir, spool.Options{Sync: p, OnSync: func(time.Duration) { syncs.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, l, 0, 3)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if (syncs.Load() == 0) != (p == spool.SyncOff) {
				t.Errorf("fsyncs = %d with policy %s", syncs.Load(), p)
			}
			l2 := open(t, dir, spool.Options{})
			r := l2.NewReader()
			defer r.Close()
			if got := readN(t, r, 3); got[2] != "record 2" {
				t.Errorf("read %q", got)
			}
		})
	}
}

// TestAppendBatchIsOneWriteAllOrNothing: a batch is read back in order,
// and a batch that does not fit the budget appends none of its records.
func TestAppendBatchIsOneWriteAllOrNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l, err := spool.Open(dir, spool.Options{MaxBytes: 4096, Sync: spool.SyncOff})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	batch := [][]byte{[]byte("a"), []byte("bb"), []byte("ccc")}
	if err := l.AppendBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	big := make([][]byte, 100)
	for i := range big {
		big[i] = make([]byte, 100) // 100 × (header + 100) > 4096
	}
	if err := l.AppendBatch(ctx, big); !errors.Is(err, spool.ErrFull) {
		t.Fatalf("oversized batch: %v, want ErrFull", err)
	}
	if err := l.AppendBatch(ctx, [][]byte{[]byte("d")}); err != nil {
		t.Fatal(err)
	}
	r := l.NewReader()
	defer r.Close()
	for _, want := range []string{"a", "bb", "ccc", "d"} {
		rctx, cancel := context.WithTimeout(ctx, testwait.Timeout())
		rec, err := r.Next(rctx)
		cancel()
		if err != nil || string(rec.Data) != want {
			t.Fatalf("read %q, %v; want %q", rec.Data, err, want)
		}
	}
}

func TestRecordsAreStampedWithTheInjectedClock(t *testing.T) {
	t.Parallel()
	clk := testclock.New(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))
	l := open(t, t.TempDir(), spool.Options{Now: clk.Now})
	appendN(t, l, 0, 1)
	clk.Add(time.Minute)
	appendN(t, l, 1, 1)
	if got := l.Stats().Oldest; !got.Equal(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("Stats().Oldest = %v, want the clock's time at the first append", got)
	}
	r := l.NewReader()
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, want := range []time.Time{time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2024, 3, 1, 12, 1, 0, 0, time.UTC)} {
		rec, err := r.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Time.Equal(want) {
			t.Errorf("record %d: Time = %v, want %v", i, rec.Time, want)
		}
	}
}
