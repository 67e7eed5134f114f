package live

import (
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
)

// A subscriber that reads nothing fills its buffer and then loses events,
// counted; the writer's Publish never waits for it, and another
// subscriber of the same site still gets every event.
func TestSlowSubscriberDoesNotBlockTheWriter(t *testing.T) {
	t.Parallel()
	// the events have no session, so the hub reads no database
	h := NewHub(func() dbx.Builder { return nil }, Options{Buffer: 8})
	defer h.Close()
	slow := h.Subscribe("site1")
	defer slow.Close()
	fast := h.Subscribe("site1")
	defer fast.Close()
	other := h.Subscribe("site2")
	defer other.Close()

	const n = 100
	var publishing time.Duration
	for i := range n {
		start := time.Now()
		h.Publish([]Stored{{WebsiteID: "site1", Type: "pageView", Path: fmt.Sprintf("/p%d", i), Time: time.Now()}})
		publishing += time.Since(start)
		select { // the reading subscriber gets each one while the slow one is full
		case e := <-fast.C:
			if e.Path != fmt.Sprintf("/p%d", i) {
				t.Fatalf("fast subscriber got %s, want /p%d", e.Path, i)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("fast subscriber did not get /p%d", i)
		}
	}
	t.Logf("%d Publish calls took %v in all", n, publishing)
	if d := fast.Dropped(); d != 0 {
		t.Errorf("fast subscriber dropped %d", d)
	}
	// the slow one holds its buffer, and the rest is counted as lost
	if len(slow.C) != 8 {
		t.Errorf("slow subscriber holds %d events, want its buffer of 8", len(slow.C))
	}
	if d := slow.Dropped(); d != n-8 {
		t.Errorf("slow subscriber dropped %d, want %d", d, n-8)
	}
	if len(other.C) != 0 {
		t.Errorf("another site's subscriber got %d events", len(other.C))
	}
}

// Close ends the subscribers' streams and makes Publish a no-op.
func TestCloseEndsSubscribers(t *testing.T) {
	t.Parallel()
	h := NewHub(func() dbx.Builder { return nil }, Options{})
	s := h.Subscribe("site1")
	h.Close()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
	h.Publish([]Stored{{WebsiteID: "site1"}})
	h.Close() // twice is fine
	if h.Watched("site1") != true {
		t.Error("a subscriber that did not close is still listed")
	}
	s.Close()
	if h.Watched("site1") {
		t.Error("closed subscriber still watched")
	}
}
