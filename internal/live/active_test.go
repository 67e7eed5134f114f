package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testclock"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/ssetest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// The counts need only sessions rows: a website is its record id there.
const (
	siteA = "activesitea0001"
	siteB = "activesiteb0001"
)

// addSession stores a session of visitor on site, started at start and
// last active at last.
func addSession(t *testing.T, app core.App, site, visitor string, start, last time.Time) {
	t.Helper()
	var seq int // the visitor's next session: (visitor, seq) is unique
	if err := app.DB().NewQuery("SELECT COALESCE(MAX(seq), 0) + 1 FROM " + schema.Sessions + " WHERE visitor = {:v}").
		Bind(dbx.Params{"v": visitor}).Row(&seq); err != nil {
		t.Fatal(err)
	}
	_, err := app.DB().Insert(schema.Sessions, dbx.Params{"id": core.GenerateDefaultRandomId(), "website": site, "visitor": visitor,
		"seq": seq, "startedAt": start.UTC().Format(pbLayout), "lastActivity": last.UTC().Format(pbLayout)}).Execute()
	if err != nil {
		t.Fatal(err)
	}
}

// activeMsg is one "event: active" of a stream.
type activeMsg map[string]int

// openActive serves h.ServeActive over real HTTP and returns its
// messages (ssetest.Open). cancel ends the request (the client goes).
func openActive(t *testing.T, h *Hub, app core.App, ids []string, now func() time.Time) (<-chan ssetest.Msg, context.CancelFunc) {
	t.Helper()
	return openStream(t, func(w http.ResponseWriter, r *http.Request) { h.ServeActive(w, r, app.DB(), ids, now) })
}

// openStream serves serve over real HTTP and returns its messages
// (ssetest.Open). cancel ends the request (the client goes).
func openStream(t *testing.T, serve http.HandlerFunc) (<-chan ssetest.Msg, context.CancelFunc) {
	t.Helper()
	srv := httptest.NewServer(serve)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	status, ch := ssetest.Open(t, nil, req)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	return ch, cancel
}

// next waits for the stream's next message, which must be counts.
func next(t *testing.T, ch <-chan ssetest.Msg) activeMsg {
	t.Helper()
	m := ssetest.Next(t, ch, testwait.Timeout())
	var counts activeMsg
	if err := json.Unmarshal([]byte(m.Data), &counts); m.Event != "active" || err != nil {
		t.Fatalf("message %+v, want active counts", m)
	}
	return counts
}

func testHub(t *testing.T, app core.App, opts Options) *Hub {
	h := NewHub(func() dbx.Builder { return app.DB() }, opts)
	t.Cleanup(h.Close)
	return h
}

// The first message holds every website's count (stats.ActiveUsers at
// the stream's clock); after a website's events arrive, only its changed
// count is sent.
func TestActiveCountsAndChanges(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	at := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	addSession(t, app, siteA, "va1", at.Add(-10*time.Minute), at.Add(-time.Minute))
	addSession(t, app, siteA, "va2", at.Add(-2*time.Minute), at.Add(-30*time.Second))
	addSession(t, app, siteA, "va2", at.Add(-20*time.Minute), at.Add(-15*time.Minute)) // left, and the same visitor
	h := testHub(t, app, Options{})
	ch, _ := openActive(t, h, app, []string{siteA, siteB, siteA}, testclock.New(at).Now)

	if m := next(t, ch); len(m) != 2 || m[siteA] != 2 || m[siteB] != 0 {
		t.Fatalf("first message %v, want %s: 2, %s: 0", m, siteA, siteB)
	}
	addSession(t, app, siteB, "vb1", at.Add(-time.Second), at.Add(-time.Second))
	h.Publish([]Stored{{WebsiteID: siteB, Type: "pageView", Path: "/", Time: at}})
	if m := next(t, ch); len(m) != 1 || m[siteB] != 1 {
		t.Fatalf("after an event of %s: %v, want only %s: 1", siteB, m, siteB)
	}
	// an event that changes no count sends nothing; the next change is
	// the next message
	h.Publish([]Stored{{WebsiteID: siteA, Type: "pageView", Path: "/", Time: at}})
	addSession(t, app, siteA, "va3", at.Add(-time.Second), at.Add(-time.Second))
	h.Publish([]Stored{{WebsiteID: siteA, Type: "pageView", Path: "/", Time: at}})
	if m := next(t, ch); len(m) != 1 || m[siteA] != 3 {
		t.Fatalf("after a new visitor of %s: %v, want only %s: 3", siteA, m, siteA)
	}
}

// A burst of events, each changing the count, is read at most once a
// second: far fewer messages than events, and the last one is right.
func TestActiveCoalescesBursts(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	t0 := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	const visitors, events = 40, 400
	// visitor i starts at t0+i s: moving the clock a second on is one
	// more active visitor, without a write
	for i := range visitors {
		at := t0.Add(time.Duration(i) * time.Second)
		addSession(t, app, siteA, fmt.Sprintf("v%d", i), at, at)
	}
	clk := testclock.New(t0.Add(-time.Second))
	h := testHub(t, app, Options{})
	ch, _ := openActive(t, h, app, []string{siteA}, clk.Now)
	if m := next(t, ch); m[siteA] != 0 {
		t.Fatalf("first message %v, want 0", m)
	}
	start := time.Now()
	for i := range events {
		clk.Set(t0.Add(time.Duration(i*visitors/events) * time.Second))
		h.Publish([]Stored{{WebsiteID: siteA, Type: "pageView", Path: "/", Time: t0}})
	}
	msgs := 0
	for m := next(t, ch); ; m = next(t, ch) {
		msgs++
		if m[siteA] == visitors {
			break
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d events, each changing the count, made %d messages in %v", events, msgs, elapsed)
	if limit := int(elapsed/ActiveEvery) + 2; msgs > limit {
		t.Errorf("%d messages in %v: more than one a second", msgs, elapsed)
	}
}

// Visitors leave the 5-minute window without an event: the periodic
// recount sends the drop.
func TestActiveRecountSeesVisitorsLeave(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	at := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	addSession(t, app, siteA, "va1", at.Add(-time.Minute), at.Add(-time.Minute))
	clk := testclock.New(at)
	h := testHub(t, app, Options{Recount: 50 * time.Millisecond})
	ch, _ := openActive(t, h, app, []string{siteA, siteB}, clk.Now)
	if m := next(t, ch); m[siteA] != 1 || m[siteB] != 0 {
		t.Fatalf("first message %v", m)
	}
	clk.Set(at.Add(5 * time.Minute)) // a minute past the window
	if m := next(t, ch); len(m) != 1 || m[siteA] != 0 {
		t.Fatalf("after the visitor left: %v, want only %s: 0", m, siteA)
	}
}

// A stream holds one subscription for all its websites and drops it when
// the client goes; the hub's close ends a stream.
func TestActiveUnsubscribesWhenTheClientGoes(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	h := testHub(t, app, Options{})
	ch, cancel := openActive(t, h, app, []string{siteA, siteB}, time.Now)
	next(t, ch)
	if !h.Watched(siteA) || !h.Watched(siteB) {
		t.Fatal("the stream's websites are not watched")
	}
	cancel()
	testwait.Until(t, "websites unwatched after the client went", func() bool {
		return !h.Watched(siteA) && !h.Watched(siteB)
	})

	ch, _ = openActive(t, h, app, []string{siteA}, time.Now)
	next(t, ch)
	h.Close()
	testwait.Until(t, "stream ended by Close", func() bool {
		select {
		case _, ok := <-ch:
			return !ok
		default:
			return false
		}
	})
}

// No website, or more than MaxActiveSites, is a bad request; nothing is
// subscribed.
func TestActiveBoundsItsWebsites(t *testing.T) {
	t.Parallel()
	h := NewHub(func() dbx.Builder { return nil }, Options{})
	defer h.Close()
	many := make([]string, MaxActiveSites+1)
	for i := range many {
		many[i] = fmt.Sprintf("site%d", i)
	}
	for _, ids := range [][]string{nil, many} {
		w := httptest.NewRecorder()
		h.ServeActive(w, httptest.NewRequest(http.MethodGet, "/", nil), nil, ids, time.Now)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%d websites: status %d, want 400", len(ids), w.Code)
		}
	}
	if h.Watched("site0") {
		t.Error("a refused stream subscribed")
	}
}

// One subscriber of several websites gets the events of each, marked
// with their website; closing it unwatches them all.
func TestSubscribeMany(t *testing.T) {
	t.Parallel()
	h := NewHub(func() dbx.Builder { return nil }, Options{})
	defer h.Close()
	s := h.SubscribeMany([]string{"site1", "site2", "site1"})
	h.Publish([]Stored{{WebsiteID: "site2", Path: "/b"}, {WebsiteID: "site3", Path: "/c"}, {WebsiteID: "site1", Path: "/a"}})
	for _, want := range []Event{{Path: "/b", WebsiteID: "site2"}, {Path: "/a", WebsiteID: "site1"}} {
		select {
		case e := <-s.C:
			if e.Path != want.Path || e.WebsiteID != want.WebsiteID {
				t.Errorf("got %s of %s, want %s of %s", e.Path, e.WebsiteID, want.Path, want.WebsiteID)
			}
		case <-time.After(testwait.Timeout()):
			t.Fatalf("no event %s", want.Path)
		}
	}
	s.Close()
	if h.Watched("site1") || h.Watched("site2") {
		t.Error("closed subscriber still watched")
	}
}

// A counters' stream needs no session details: the hub reads sessions
// only for the sites someone watches events of.
func TestCountersReadNoSessionDetails(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	at := time.Date(2024, 5, 6, 12, 0, 0, 0, time.UTC)
	var reads atomic.Int64
	h := NewHub(func() dbx.Builder { reads.Add(1); return app.DB() }, Options{})
	t.Cleanup(h.Close)
	ch, _ := openActive(t, h, app, []string{siteA}, testclock.New(at).Now)
	next(t, ch)
	addSession(t, app, siteA, "va1", at.Add(-time.Second), at.Add(-time.Second))
	h.Publish([]Stored{{WebsiteID: siteA, SessionID: "someSession0001", Type: "pageView", Path: "/", Time: at}})
	if m := next(t, ch); m[siteA] != 1 {
		t.Fatalf("after the event: %v", m)
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("%d session reads for a counters' stream, want 0", n)
	}
	// an events subscriber of the same site: now they are read
	sub := h.Subscribe(siteA)
	defer sub.Close()
	h.Publish([]Stored{{WebsiteID: siteA, SessionID: "someSession0001", Type: "pageView", Path: "/", Time: at}})
	select {
	case <-sub.C:
	case <-time.After(testwait.Timeout()):
		t.Fatal("no event")
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("%d session reads with an events subscriber, want 1", n)
	}
}
