package window

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	l := New[string](c.now, 3, time.Minute)
	for i := range 3 {
		if l.Blocked("a") {
			t.Fatalf("blocked after %d attempts, max 3", i)
		}
		l.Add("a")
		c.add(time.Second)
	}
	if !l.Blocked("a") {
		t.Fatal("not blocked after 3 attempts")
	}
	if l.Blocked("b") {
		t.Fatal("another key blocked")
	}
	// the first attempt leaves the window 60 s after it was made
	c.add(56*time.Second + 999*time.Millisecond)
	if !l.Blocked("a") {
		t.Fatal("unblocked before the first attempt left the window")
	}
	c.add(time.Millisecond)
	if l.Blocked("a") {
		t.Fatal("still blocked after the first attempt left the window")
	}
}

func TestAllowCountsOnlyAllowed(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	l := New[int](c.now, 2, time.Minute)
	got := []bool{l.Allow(1), l.Allow(1), l.Allow(1), l.Allow(1)}
	if fmt.Sprint(got) != "[true true false false]" {
		t.Fatalf("Allow = %v", got)
	}
	c.add(time.Minute + time.Nanosecond)
	// refusals did not extend the block
	if !l.Allow(1) {
		t.Fatal("refused after the allowed attempts left the window")
	}
}

func TestSweepBoundsMemory(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	l := New[int](c.now, 1, time.Minute)
	for i := range maxKeys {
		l.Add(i)
	}
	c.add(2 * time.Minute)
	l.Add(-1)
	if n := len(l.attempts); n != 1 {
		t.Fatalf("%d keys kept, want 1 (the others expired)", n)
	}
}
