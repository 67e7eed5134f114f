// Package live pushes a website's events to open Server-Sent Events
// streams as the writer stores them (the stats API's /api/skopos/live and
// the dashboard's live page), and the active-visitor counts of several
// websites, recounted when their events arrive (ServeActive: the
// dashboard's "active now" counters).
//
// A Hub belongs to one server (one plugin instance): the writer hands it
// every stored batch (Publish, which never blocks), one goroutine of the
// hub adds the sessions' country, device, browser and referrer and fans
// the events out to the subscribers of their website, each with a bounded
// buffer. A subscriber that does not keep up loses events, and its stream
// says how many; it never slows the writer or the other subscribers.
package live

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// Event is one stored event as a live stream sends it (a "data:" line of
// JSON).
type Event struct {
	Time      time.Time `json:"time"`
	Type      string    `json:"type"` // "pageView", "custom" or "server"
	Path      string    `json:"path"`
	EventName string    `json:"eventName,omitempty"`
	Country   string    `json:"country"`
	Device    string    `json:"device"`
	Browser   string    `json:"browser"`
	Referrer  string    `json:"referrer"`
	// Visitor is a short hash of the visitor record: stable within the
	// stream, not the stored id.
	Visitor string `json:"visitor"`
	Session string `json:"session"`
	// WebsiteID is the website's record id: a subscriber of several
	// websites (SubscribeMany) tells them apart by it. Not sent.
	WebsiteID string `json:"-"`
}

// Stored is what the writer reports of a stored event (see Hub.Publish).
type Stored struct {
	WebsiteID string
	SessionID string
	Type      string
	Path      string
	Name      string
	Time      time.Time
}

// pbLayout is how PocketBase stores dates.
const pbLayout = "2006-01-02 15:04:05.000Z"

// Defaults of a Hub.
const (
	// SubscriberBuffer is how many events wait for one slow stream before
	// it loses the next ones.
	SubscriberBuffer = 256
	// queueBatches bounds the batches waiting for the hub's goroutine.
	queueBatches = 1024
	// Heartbeat is how often an idle stream sends a comment, so that
	// proxies keep it open.
	Heartbeat = 15 * time.Second
	// Recount is how often an active-visitors stream (ServeActive) reads
	// the counts of all its websites: visitors leave the 5-minute window
	// without an event saying so.
	Recount = 30 * time.Second
	// ActiveEvery is how often at most an active-visitors stream reads the
	// counts of the websites that had events: a burst of events costs one
	// query per website and second, not one per event.
	ActiveEvery = time.Second
	// MaxActiveSites bounds the websites of one active-visitors stream:
	// each is one query per Recount (and per ActiveEvery while it has
	// events), and all their ids are in the stream's URL.
	MaxActiveSites = 100
)

// Hub fans stored events out to the subscribers of their website.
type Hub struct {
	db        func() dbx.Builder
	ch        *clickhouse.Client
	buffer    int
	heartbeat time.Duration
	recount   time.Duration
	log       *slog.Logger

	maxStreams, maxCallerStreams int

	mu      sync.Mutex
	subs    map[string]map[*Sub]struct{} // by websites record id
	streams streamCount
	closed  bool

	in   chan []Stored
	done chan struct{}
	wg   sync.WaitGroup
}

// Options tune a Hub; zero values are the defaults above.
type Options struct {
	Buffer    int           // per-subscriber buffer (SubscriberBuffer)
	Heartbeat time.Duration // idle comment interval (Heartbeat)
	Recount   time.Duration // active-visitors recount interval (Recount)
	// MaxStreams and MaxCallerStreams bound the open streams (Admit):
	// in all and per caller. Defaults MaxStreams and MaxCallerStreams.
	MaxStreams, MaxCallerStreams int
	// Logger gets the errors of active-visitors streams' queries (the
	// app's logger). Nil: slog.Default().
	Logger *slog.Logger
	// ClickHouse, when set, is the events store the writer writes
	// sessions and events to (issue 31): every read of the hub and its
	// streams (session details, snapshots, active-visitor counts) goes
	// there, and the databases handed to Serve and ServeActive are not
	// read. Nil reads them (SQLite).
	ClickHouse *clickhouse.Client
}

// NewHub starts a hub reading sessions through db (the app's DB, read
// when a batch arrives). Close stops it.
func NewHub(db func() dbx.Builder, opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = SubscriberBuffer
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = Heartbeat
	}
	if opts.Recount <= 0 {
		opts.Recount = Recount
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = MaxStreams
	}
	if opts.MaxCallerStreams <= 0 {
		opts.MaxCallerStreams = MaxCallerStreams
	}
	h := &Hub{db: db, ch: opts.ClickHouse, buffer: opts.Buffer, heartbeat: opts.Heartbeat, recount: opts.Recount, log: opts.Logger,
		maxStreams: opts.MaxStreams, maxCallerStreams: opts.MaxCallerStreams,
		subs: map[string]map[*Sub]struct{}{}, in: make(chan []Stored, queueBatches), done: make(chan struct{})}
	h.wg.Add(1)
	go h.run()
	return h
}

// Sub is one subscriber: C carries its websites' events.
type Sub struct {
	C     <-chan Event
	c     chan Event
	sites []string // distinct
	// countsOnly subscribers (ServeActive) need to know which site an
	// event is of, not its session's details
	countsOnly bool
	dropped    atomic.Int64
	hub        *Hub
}

// Dropped returns and resets how many events the subscriber lost since
// the last call because its buffer was full.
func (s *Sub) Dropped() int64 { return s.dropped.Swap(0) }

// Done is closed when the hub closes.
func (s *Sub) Done() <-chan struct{} { return s.hub.done }

// Close unsubscribes.
func (s *Sub) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, site := range s.sites {
		if m := h.subs[site]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.subs, site)
			}
		}
	}
}

// Subscribe adds a subscriber to the events of a website (its record id).
func (h *Hub) Subscribe(websiteID string) *Sub {
	return h.SubscribeMany([]string{websiteID})
}

// SubscribeMany adds one subscriber to the events of several websites
// (record ids; repeats count once), with one buffer for all: a page
// showing many websites holds one subscription, not one per website.
// Event.WebsiteID says whose an event is.
func (h *Hub) SubscribeMany(websiteIDs []string) *Sub {
	return h.subscribe(websiteIDs, false)
}

func (h *Hub) subscribe(websiteIDs []string, countsOnly bool) *Sub {
	c := make(chan Event, h.buffer)
	s := &Sub{C: c, c: c, sites: distinct(websiteIDs), countsOnly: countsOnly, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, site := range s.sites {
		if h.subs[site] == nil {
			h.subs[site] = map[*Sub]struct{}{}
		}
		h.subs[site][s] = struct{}{}
	}
	return s
}

// distinct is ids without repeats, in their first order.
func distinct(ids []string) []string {
	out := make([]string, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Watched reports whether the website has a subscriber, so that the
// writer's callback builds nothing for the others.
func (h *Hub) Watched(websiteID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[websiteID]) > 0
}

// Publish hands stored events to the hub. It never blocks: when the
// hub's queue is full, the subscribers of those websites are told they
// lost them.
func (h *Hub) Publish(evs []Stored) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return
	}
	select {
	case h.in <- evs:
	default:
		h.mu.Lock()
		for _, e := range evs {
			for s := range h.subs[e.WebsiteID] {
				s.dropped.Add(1)
			}
		}
		h.mu.Unlock()
	}
}

// Close ends every stream and stops the hub. Publish after Close does
// nothing.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.done)
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *Hub) run() {
	defer h.wg.Done()
	for {
		select {
		case <-h.done:
			return
		case evs := <-h.in:
			h.deliver(evs)
		}
	}
}

// sessionInfo is what a live event takes from its session.
type sessionInfo struct {
	ID       string `db:"id"`
	Visitor  string `db:"visitor"`
	Country  string `db:"country"`
	Device   string `db:"device"`
	Browser  string `db:"browser"`
	Referrer string `db:"referrer"`
}

func (h *Hub) deliver(evs []Stored) {
	// the session details are read only for the sites a subscriber
	// shows events of (not for the counters' streams)
	details := map[string]bool{}
	h.mu.Lock()
	for _, e := range evs {
		if _, ok := details[e.WebsiteID]; !ok {
			details[e.WebsiteID] = false
			for sub := range h.subs[e.WebsiteID] {
				if !sub.countsOnly {
					details[e.WebsiteID] = true
					break
				}
			}
		}
	}
	h.mu.Unlock()
	var ids, sites []string
	seen := map[string]bool{}
	for _, e := range evs {
		if e.SessionID != "" && details[e.WebsiteID] && !seen[e.SessionID] {
			seen[e.SessionID] = true
			ids = append(ids, e.SessionID)
		}
	}
	for site, ok := range details {
		if ok {
			sites = append(sites, site)
		}
	}
	info := map[string]sessionInfo{}
	if len(ids) > 0 && h.ch != nil {
		ctx, cancel := context.WithTimeout(context.Background(), detailsTimeout)
		// as in SQLite, an event whose session cannot be read goes
		// without its details rather than not at all
		info, _ = chSessionDetails(ctx, h.ch, sites, ids)
		cancel()
	} else if len(ids) > 0 {
		var rows []sessionInfo
		err := h.db().Select("id", "visitor", "country", "device", "browser", "referrer").From(schema.Sessions).
			Where(dbx.In("id", toAny(ids)...)).All(&rows)
		if err == nil {
			for _, r := range rows {
				info[r.ID] = r
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range evs {
		subs := h.subs[e.WebsiteID]
		if len(subs) == 0 {
			continue
		}
		si := info[e.SessionID]
		out := Event{Time: e.Time, Type: e.Type, Path: e.Path, EventName: e.Name, Country: si.Country,
			Device: si.Device, Browser: si.Browser, Referrer: si.Referrer, Visitor: ShortHash(si.Visitor), Session: e.SessionID,
			WebsiteID: e.WebsiteID}
		for s := range subs {
			select {
			case s.c <- out:
			default:
				s.dropped.Add(1)
			}
		}
	}
}

// ShortHash is the first 12 hex digits of id's SHA-256; "" for "".
func ShortHash(id string) string {
	if id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:6])
}

// Count is one key of a snapshot with its distinct visitors.
type Count struct {
	Key      string `json:"key"`
	Visitors int    `json:"visitors"`
}

// Snapshot is a stream's first event ("event: snapshot"): the visitors
// active in the 5 minutes before now (stats.ActiveUsers), the pages they
// are on (their sessions' latest page) and where they came from, in all
// (Pages, Referrers: the top 20) and one by one (Visitors: the latest
// 500), so that a client can move them as their next events arrive; and
// the website's latest stored events (Recent, newest first, at most
// SnapshotRecent), so that a live view does not open empty. An event
// stored while the snapshot is read may be both in Recent and the stream.
type Snapshot struct {
	ActiveVisitors int       `json:"activeVisitors"`
	Pages          []Count   `json:"pages"`
	Referrers      []Count   `json:"referrers"`
	Visitors       []Visitor `json:"visitors"`
	Recent         []Event   `json:"recent"`
}

// SnapshotRecent bounds Snapshot.Recent.
const SnapshotRecent = 20

// Visitor is an active visitor of a snapshot.
type Visitor struct {
	Visitor      string    `json:"visitor"` // as in Event
	Path         string    `json:"path"`
	Referrer     string    `json:"referrer"`
	LastActivity time.Time `json:"lastActivity"`
}

// snapshotVisitors bounds Snapshot.Visitors.
const snapshotVisitors = 500

// TakeSnapshot reads a website's snapshot at now.
func TakeSnapshot(ctx context.Context, db dbx.Builder, websiteID string, now time.Time) (Snapshot, error) {
	var s Snapshot
	n, err := stats.ActiveUsers(ctx, db, websiteID, now)
	if err != nil {
		return s, err
	}
	s.ActiveVisitors = n
	active := dbx.NewExp("lastActivity >= {:since} AND startedAt <= {:now}",
		dbx.Params{"since": now.Add(-5 * time.Minute).UTC().Format(pbLayout), "now": now.UTC().Format(pbLayout)})
	group := func(col string) ([]Count, error) {
		out := []Count{}
		err := db.Select(col+" AS key", "COUNT(DISTINCT visitor) AS visitors").From(schema.Sessions).
			Where(dbx.HashExp{"website": websiteID}).AndWhere(active).
			GroupBy(col).OrderBy("visitors DESC", "key").Limit(20).WithContext(ctx).All(&out)
		return out, err
	}
	if s.Pages, err = group("exitPath"); err != nil {
		return s, err
	}
	if s.Referrers, err = group("referrer"); err != nil {
		return s, err
	}
	// SQLite takes the bare columns from the row of MAX(): each visitor's
	// latest session
	var rows []struct {
		Visitor  string `db:"visitor"`
		Path     string `db:"exitPath"`
		Referrer string `db:"referrer"`
		Last     string `db:"last"`
	}
	err = db.Select("visitor", "exitPath", "referrer", "MAX(lastActivity) AS last").From(schema.Sessions).
		Where(dbx.HashExp{"website": websiteID}).AndWhere(active).
		GroupBy("visitor").OrderBy("last DESC").Limit(snapshotVisitors).WithContext(ctx).All(&rows)
	s.Visitors = make([]Visitor, 0, len(rows))
	for _, r := range rows {
		t, _ := time.Parse(pbLayout, r.Last)
		s.Visitors = append(s.Visitors, Visitor{Visitor: ShortHash(r.Visitor), Path: r.Path, Referrer: r.Referrer, LastActivity: t})
	}
	if err != nil {
		return s, err
	}
	s.Recent, err = recent(ctx, db, websiteID, now)
	return s, err
}

// recent reads the website's latest events stored up to now, newest
// first, with their sessions' details (as deliver sends them).
func recent(ctx context.Context, db dbx.Builder, websiteID string, now time.Time) ([]Event, error) {
	var rows []struct {
		Time      string `db:"timestamp"`
		Type      string `db:"type"`
		Path      string `db:"path"`
		EventName string `db:"eventName"`
		Session   string `db:"session"`
		sessionInfo
	}
	err := db.NewQuery(`SELECT e.timestamp, e.type, e.path, e.eventName, e.session, COALESCE(s.id, '') AS id,
		COALESCE(s.visitor, '') AS visitor, COALESCE(s.country, '') AS country, COALESCE(s.device, '') AS device,
		COALESCE(s.browser, '') AS browser, COALESCE(s.referrer, '') AS referrer
		FROM ` + schema.Events + ` e LEFT JOIN ` + schema.Sessions + ` s ON s.id = e.session
		WHERE e.website = {:w} AND e.timestamp <= {:now}
		ORDER BY e.timestamp DESC LIMIT {:n}`).
		Bind(dbx.Params{"w": websiteID, "now": now.UTC().Format(pbLayout), "n": SnapshotRecent}).WithContext(ctx).All(&rows)
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		t, _ := time.Parse(pbLayout, r.Time)
		out = append(out, Event{Time: t, Type: r.Type, Path: r.Path, EventName: r.EventName, Country: r.Country,
			Device: r.Device, Browser: r.Browser, Referrer: r.Referrer, Visitor: ShortHash(r.Visitor), Session: r.Session})
	}
	return out, err
}

// Serve streams a website's live events to w as Server-Sent Events until
// the client goes, the request's context ends (server shutdown) or the
// hub closes. The caller has checked access. The first event is the
// snapshot ("event: snapshot", TakeSnapshot at now); each stored event is
// one "data:" line of JSON (Event); lost events are announced by a comment
// and an "event: dropped" with {"dropped": n}; idle streams get a comment
// every heartbeat.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, db dbx.Builder, websiteID string, now time.Time) {
	sub := h.Subscribe(websiteID) // before the snapshot: nothing falls between
	defer sub.Close()
	var snap Snapshot
	var err error
	if h.ch != nil {
		snap, err = TakeSnapshotClickHouse(r.Context(), h.ch, websiteID, now)
	} else {
		snap, err = TakeSnapshot(r.Context(), db, websiteID, now)
	}
	if err != nil {
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	h.stream(w, r, sub, snap)
}

// stream is Serve after the snapshot was read: each event is a "data:"
// line, and lost events are announced.
func (h *Hub) stream(w http.ResponseWriter, r *http.Request, sub *Sub, snap any) {
	h.pump(w, r, sub, "snapshot", snap, hooks{
		dropped: func(c *conn, n int64) bool {
			return c.comment("dropped %d events", n) && c.send("dropped", map[string]int64{"dropped": n})
		},
		event: func(c *conn, e Event) bool { return c.send("", e) },
	})
}

// conn is an open Server-Sent Events response.
type conn struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// openSSE answers 200 with an event stream.
func openSSE(w http.ResponseWriter) *conn {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's write timeout would cut the stream
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	return &conn{w: w, rc: rc}
}

// send writes one message: v as JSON, with an event type unless event
// is "". False when the client is gone.
func (c *conn) send(event string, v any) bool {
	b, _ := json.Marshal(v)
	if event != "" {
		if _, err := fmt.Fprintf(c.w, "event: %s\n", event); err != nil {
			return false
		}
	}
	_, err := fmt.Fprintf(c.w, "data: %s\n\n", b)
	return err == nil
}

// comment writes a comment line (clients ignore it).
func (c *conn) comment(format string, args ...any) bool {
	_, err := fmt.Fprintf(c.w, ": "+format+"\n", args...)
	return err == nil
}

func (c *conn) flush() bool { return c.rc.Flush() == nil }

// hooks are what a stream does besides the plumbing pump shares (the
// first message, heartbeats, flushing, the end). Each returns false when
// the stream must end (the client is gone).
type hooks struct {
	// dropped: the subscriber lost n events since the last call; checked
	// before each event and each heartbeat.
	dropped func(c *conn, n int64) bool
	// event handles one event of the subscription; pump flushes after
	// the ones already waiting were handled.
	event func(c *conn, e Event) bool
	// batch, if set, runs after the waiting events were handled.
	batch func(c *conn) bool
	// wake, if set, is the stream's own timer; onWake runs when it fires.
	wake   <-chan time.Time
	onWake func(c *conn) bool
}

// pump answers with an event stream: first (the event type) with v, then
// whatever hk makes of the subscription's events and its timer, and a
// comment every heartbeat, until the client goes, the request's context
// ends (server shutdown) or the hub closes. There is no write deadline:
// the server's write timeout would cut the stream.
func (h *Hub) pump(w http.ResponseWriter, r *http.Request, sub *Sub, first string, v any, hk hooks) {
	c := openSSE(w)
	if !c.send(first, v) || !c.flush() {
		return
	}
	tick := time.NewTicker(h.heartbeat)
	defer tick.Stop()
	dropped := func() bool {
		if n := sub.Dropped(); n > 0 {
			return hk.dropped(c, n)
		}
		return true
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.Done():
			return
		case <-tick.C:
			if !dropped() || !c.comment("heartbeat\n") || !c.flush() {
				return
			}
		case <-hk.wake:
			if !hk.onWake(c) || !c.flush() {
				return
			}
		case e := <-sub.C:
			if !dropped() || !hk.event(c, e) {
				return
			}
			// handle what is already waiting, then flush once
			for more := true; more; {
				select {
				case e := <-sub.C:
					if !hk.event(c, e) {
						return
					}
				default:
					more = false
				}
			}
			if hk.batch != nil && !hk.batch(c) {
				return
			}
			if !c.flush() {
				return
			}
		}
	}
}
