package live

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/stats"
)

// ServeActive streams the active-visitor counts of websites (record ids;
// the caller has checked access) to w as Server-Sent Events, until the
// client goes, the request's context ends or the hub closes. Each count
// is stats.ActiveUsers at now(), the figure of the stats report's
// activeUsers, so that a counter never disagrees with the report.
//
// The first message is every website's count ("event: active", data
// {"<websiteRecordId>": n, ...}); an EventSource that reconnects gets
// them all again. Then a website's count is read again when its events
// arrive, at most once per ActiveEvery for the whole stream (a burst is
// one query per website), and every website's every Recount (visitors
// leave the 5-minute window without an event); each "event: active"
// holds only the websites whose count changed. Idle streams get a comment
// every heartbeat. Without websites or with more than MaxActiveSites the
// answer is 400.
func (h *Hub) ServeActive(w http.ResponseWriter, r *http.Request, db dbx.Builder, websiteIDs []string, now func() time.Time) {
	ids := distinct(websiteIDs)
	if len(ids) == 0 || len(ids) > MaxActiveSites {
		http.Error(w, fmt.Sprintf(`{"error":"1 to %d websites per stream"}`, MaxActiveSites), http.StatusBadRequest)
		return
	}
	sub := h.subscribe(ids, true) // before the first counts: no event falls between
	defer sub.Close()
	a := &activeStream{h: h, ctx: r.Context(), db: db, now: now, ids: ids,
		counts: make(map[string]int, len(ids)), dirty: map[string]bool{}}
	a.markAll()
	if !a.read() {
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	a.next = a.last.Add(h.recount)
	a.timer = time.NewTimer(h.recount)
	defer a.timer.Stop()
	h.pump(w, r, sub, "active", a.counts, hooks{
		dropped: func(*conn, int64) bool {
			// which websites the lost events were of is unknown: all
			a.markAll()
			a.schedule()
			return true
		},
		event: func(_ *conn, e Event) bool {
			a.dirty[e.WebsiteID] = true
			return true
		},
		batch: func(*conn) bool {
			a.schedule()
			return true
		},
		wake:   a.timer.C,
		onWake: a.wake,
	})
}

// activeStream is the state of one ServeActive stream; only its pump's
// goroutine uses it.
//
// Two times, on purpose: now is the instant the counts are taken at (the
// report's clock, which the caller injects: a test's stands still or
// jumps), while last and next pace the queries in real time, as the timer
// that wakes the stream runs in real time. Pacing by now would stop a
// stream whose clock stands still after its first read, and spin on a
// timer set from a clock far from the real one.
type activeStream struct {
	h   *Hub
	ctx context.Context
	db  dbx.Builder
	now func() time.Time
	ids []string

	counts  map[string]int  // as last sent
	dirty   map[string]bool // websites to read again
	changed map[string]int  // by the last read
	last    time.Time       // of the last read (real time)
	next    time.Time       // of the next recount of all (real time)
	timer   *time.Timer     // fires at the next read or recount
}

func (a *activeStream) markAll() {
	for _, id := range a.ids {
		a.dirty[id] = true
	}
}

// read reads the dirty websites' counts into counts, the ones that
// changed into changed. False on an error (logged unless the client is
// gone).
func (a *activeStream) read() bool {
	a.last = time.Now()
	a.changed = map[string]int{}
	at := a.now()
	for _, id := range a.ids {
		if !a.dirty[id] {
			continue
		}
		var n int
		var err error
		if a.h.ch != nil {
			n, err = stats.ActiveUsersClickHouse(a.ctx, a.h.ch, id, at)
		} else {
			n, err = stats.ActiveUsers(a.ctx, a.db, id, at)
		}
		if err != nil {
			if a.ctx.Err() == nil {
				a.h.log.Error("skopos live: active visitors", "website", id, "error", err)
			}
			return false
		}
		if old, ok := a.counts[id]; !ok || old != n {
			a.counts[id] = n
			a.changed[id] = n
		}
	}
	clear(a.dirty)
	return true
}

// wake runs when the timer fires: the recount of all websites when it is
// due, then the read of the dirty ones once ActiveEvery has passed since
// the last. A failed read ends the stream: the client reconnects and gets
// every count again.
func (a *activeStream) wake(c *conn) bool {
	now := time.Now()
	if !now.Before(a.next) {
		a.markAll()
		a.next = now.Add(a.h.recount)
	}
	if len(a.dirty) > 0 && !now.Before(a.last.Add(ActiveEvery)) {
		if !a.read() {
			return false
		}
		if len(a.changed) > 0 && !c.send("active", a.changed) {
			return false
		}
	}
	a.schedule()
	return true
}

// schedule sets the timer to the next read (dirty websites, ActiveEvery
// after the last read) or recount, whichever comes first; a time passed
// fires at once.
func (a *activeStream) schedule() {
	at := a.next
	if len(a.dirty) > 0 {
		if due := a.last.Add(ActiveEvery); due.Before(at) {
			at = due
		}
	}
	a.timer.Reset(time.Until(at))
}
