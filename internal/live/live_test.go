package live

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/testwait"
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
		case <-time.After(testwait.Timeout()):
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
	case <-time.After(testwait.Timeout()):
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

// The stream over real HTTP: the snapshot first, a subscriber that lost
// events is told how many before the ones it kept, and an idle stream
// gets heartbeat comments.
func TestStreamTellsDropsAndSendsHeartbeats(t *testing.T) {
	t.Parallel()
	h := NewHub(func() dbx.Builder { return nil }, Options{Buffer: 4, Heartbeat: 100 * time.Millisecond})
	defer h.Close()
	sub := h.Subscribe("site1")
	for i := range 10 {
		h.Publish([]Stored{{WebsiteID: "site1", Type: "pageView", Path: fmt.Sprintf("/p%d", i), Time: time.Now()}})
	}
	// the hub's goroutine delivers them
	testwait.Until(t, "4 events buffered and 6 dropped", func() bool {
		return len(sub.C) >= 4 && sub.dropped.Load() >= 6
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer sub.Close()
		h.stream(w, r, sub, Snapshot{ActiveVisitors: 3})
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var got []string
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			got = append(got, l)
			if l == ": heartbeat" {
				break
			}
		}
	}
	want := []string{
		"event: snapshot", `data: {"activeVisitors":3,"pages":null,"referrers":null,"visitors":null,"recent":null}`,
		": dropped 6 events", "event: dropped", `data: {"dropped":6}`,
	}
	if len(got) < len(want)+5 {
		t.Fatalf("stream %q", got)
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("line %d: %q, want %q", i, got[i], w)
		}
	}
	for i := range 4 { // the four it kept, in order
		if l := got[len(want)+i]; !strings.HasPrefix(l, "data: ") || !strings.Contains(l, fmt.Sprintf(`"path":"/p%d"`, i)) {
			t.Errorf("event %d: %q", i, l)
		}
	}
	if last := got[len(got)-1]; last != ": heartbeat" {
		t.Errorf("no heartbeat: %q", got)
	}
}
