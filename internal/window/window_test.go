package window

import (
	"fmt"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testclock"
)

func TestLimiter(t *testing.T) {
	t.Parallel()
	c := testclock.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	l := New[string](c.Now, 3, time.Minute)
	for i := range 3 {
		if l.Blocked("a") {
			t.Fatalf("blocked after %d attempts, max 3", i)
		}
		l.Add("a")
		c.Add(time.Second)
	}
	if !l.Blocked("a") {
		t.Fatal("not blocked after 3 attempts")
	}
	if l.Blocked("b") {
		t.Fatal("another key blocked")
	}
	// the first attempt leaves the window 60 s after it was made
	c.Add(56*time.Second + 999*time.Millisecond)
	if !l.Blocked("a") {
		t.Fatal("unblocked before the first attempt left the window")
	}
	c.Add(time.Millisecond)
	if l.Blocked("a") {
		t.Fatal("still blocked after the first attempt left the window")
	}
}

func TestAllowCountsOnlyAllowed(t *testing.T) {
	t.Parallel()
	c := testclock.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	l := New[int](c.Now, 2, time.Minute)
	got := []bool{l.Allow(1), l.Allow(1), l.Allow(1), l.Allow(1)}
	if fmt.Sprint(got) != "[true true false false]" {
		t.Fatalf("Allow = %v", got)
	}
	c.Add(time.Minute + time.Nanosecond)
	// refusals did not extend the block
	if !l.Allow(1) {
		t.Fatal("refused after the allowed attempts left the window")
	}
}

func TestSweepBoundsMemory(t *testing.T) {
	t.Parallel()
	c := testclock.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	l := New[int](c.Now, 1, time.Minute)
	for i := range maxKeys {
		l.Add(i)
	}
	c.Add(2 * time.Minute)
	l.Add(-1)
	if n := len(l.attempts); n != 1 {
		t.Fatalf("%d keys kept, want 1 (the others expired)", n)
	}
}
