package spool

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type segment struct {
	base    uint64 // sequence number the segment starts at (its name)
	path    string
	last    uint64 // last sequence number in it; 0 = none yet
	size    int64  // bytes written
	durable int64  // bytes a Reader may read
}

func loadID(dir string) (string, error) {
	p := filepath.Join(dir, "id")
	b, err := os.ReadFile(p)
	if err == nil && len(strings.TrimSpace(string(b))) == 15 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("spool: %w", err)
	}
	id := newID()
	if err := writeFileSync(p, []byte(id+"\n")); err != nil {
		return "", err
	}
	return id, nil
}

// writeFileSync replaces path atomically and durably.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}

// scan reads every segment, validating each record, and truncates a
// segment at its first invalid record (a torn write).
func (l *Log) scan() error {
	names, err := filepath.Glob(filepath.Join(l.dir, "*.seg"))
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".seg"), 10, 64)
		if err != nil {
			continue
		}
		s := &segment{base: base, path: name}
		data, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		var off int64
		for {
			rec, n, ok := decode(data[off:])
			if !ok {
				break
			}
			if rec.Seq > l.ckpt && len(l.starts) == 0 {
				l.starts = append(l.starts, mark{rec.Seq, rec.Time})
			}
			s.last = rec.Seq
			off += int64(n)
		}
		if off < int64(len(data)) {
			l.opts.Logger.Warn("skopos: spool: truncating a torn or corrupt tail", "segment", name,
				"valid_bytes", off, "dropped_bytes", int64(len(data))-off)
			if err := os.Truncate(name, off); err != nil {
				return fmt.Errorf("spool: truncate torn tail: %w", err)
			}
		}
		s.size, s.durable = off, off
		l.bytes += off
		if s.last >= l.nextSeq {
			l.nextSeq = s.last + 1
		}
		l.segs = append(l.segs, s)
	}
	return nil
}

// rotate starts a new segment named by the next sequence number. Called
// with mu held, or before the writer goroutine runs.
func (l *Log) rotate() error {
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	s := &segment{base: l.nextSeq, path: filepath.Join(l.dir, fmt.Sprintf("%020d.seg", l.nextSeq))}
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Size() > 0 { // reopened after a crash before any append
		s.size, s.durable = st.Size(), st.Size()
	}
	// the segment's directory entry must survive a crash too
	if d, err := os.Open(l.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	if n := len(l.segs); n > 0 && l.segs[n-1].path == s.path {
		l.segs = l.segs[:n-1]
	}
	l.segs = append(l.segs, s)
	l.f = f
	return nil
}

// removeDone deletes the segments whose every record is checkpointed,
// except the one being written. Called with mu held (or before run).
func (l *Log) removeDone() {
	kept := l.segs[:0]
	for i, s := range l.segs {
		last := i == len(l.segs)-1
		if !last && s.last <= l.savedCkpt && (s.last > 0 || s.size == 0) {
			if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				l.opts.Logger.Error("skopos: spool: cannot delete a finished segment", "segment", s.path, "error", err)
				kept = append(kept, s)
				continue
			}
			l.bytes -= s.size
			continue
		}
		kept = append(kept, s)
	}
	l.segs = kept
}

// newID returns 15 random characters of [a-z0-9], a PocketBase record id.
func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
