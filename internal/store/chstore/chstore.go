// Package chstore is the ClickHouse events store: a store.Store that
// keeps events, sessions, JS errors and page views' engagement in
// ClickHouse and everything else (websites, visitors, summaries, the
// intake log's position) in PocketBase, through a local store.
//
// The pipeline's writes stay one transaction: the rows meant for
// ClickHouse are written, encoded, into an outbox collection
// (skopos_ch_outbox) in the same PocketBase transaction as the
// summaries, and a shipper sends the outbox to ClickHouse in order and
// deletes what it sent. ClickHouse therefore receives every committed
// row and no row of a chunk that did not commit; after a crash between
// an insert and its deletion, the record's batch column shows the rows
// already there (events and JS errors are immutable rows; sessions and
// engagement are versioned rows, which a second copy does not change).
//
// One writer owns the sessions (the ingest route's, `skopos serve`):
// a session's update is written as its whole next version, from the
// state this store keeps of the sessions it wrote or read. Creates are
// not checked for uniqueness in ClickHouse; the pipeline's replay checks
// (Existing) read it after shipping.
package chstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Logger receives the shipper's failures; default slog.Default().
	Logger *slog.Logger
	// CacheSize bounds the sessions and the page views whose state the
	// store keeps for their next write (each); default 100 000.
	CacheSize int
}

// Store is the ClickHouse events store (see the package comment).
type Store struct {
	local store.Store
	app   core.App
	ch    *clickhouse.Client
	log   *slog.Logger

	mu        sync.Mutex // guards the fields below
	sessions  *lru[*sessionState]
	latest    *lru[string] // visitor record id → its highest-seq session id
	pageViews *lru[pageView]
	lastID    uint64 // the last outbox record id, as a number
	lastVer   uint64 // the last version written

	// pending are the ids of the events and sessions this process put in
	// the outbox and has not shipped yet, by outbox record: Existing
	// answers them without shipping first (drained records of an earlier
	// process are shipped once, by the first Existing: drained)
	pendMu  sync.Mutex
	pending map[string][]string // outbox record id → its rows' ids
	pendIDs map[string]int      // row id → how many pending records hold it
	drained bool

	shipMu sync.Mutex // one shipper at a time
	// unsure is set when the oldest outbox record may already be in
	// ClickHouse: at start (a crash may have come between an insert and
	// its deletion) and after an insert whose outcome is unknown
	unsure bool
	wake   chan struct{}
}

// New returns a Store writing through local (a localstore on app) and to
// ch, whose database must hold clickhouse.Schema's tables.
func New(app core.App, local store.Store, ch *clickhouse.Client, opts Options) *Store {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 100_000
	}
	return &Store{
		local: local, app: app, ch: ch, log: opts.Logger,
		sessions:  newLRU[*sessionState](opts.CacheSize),
		latest:    newLRU[string](opts.CacheSize),
		pageViews: newLRU[pageView](opts.CacheSize),
		unsure:    true,
		wake:      make(chan struct{}, 1),
		pending:   map[string][]string{},
		pendIDs:   map[string]int{},
	}
}

// sessionState is a session's latest row as written to ClickHouse.
type sessionState struct {
	row map[string]any
}

// pageView is what an engagement row needs of its page view.
type pageView struct {
	website, session      string
	timestamp             time.Time
	engagedMs, scrollDept int
}

// ch tables
const (
	tEvents     = "events"
	tSessions   = "sessions"
	tJSErrors   = "js_errors"
	tEngagement = "engagement"
)

// Apply writes ops in one PocketBase transaction: the ops of other
// collections as they are, the rows for ClickHouse into the outbox.
func (s *Store) Apply(ctx context.Context, ops []store.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		local    []store.Op
		localIdx []int // index in ops of each of local's ops
		rows     = map[string][]map[string]any{}
		stagedS  = map[string]*sessionState{}
		stagedL  = map[string]string{}
		stagedPV = map[string]pageView{}
		written  = map[string][]string{} // outbox record → the event and session ids in it
		now      = time.Now().UTC()
	)
	for i, op := range ops {
		var err error
		switch op.Collection {
		case schema.Events:
			err = s.eventOp(ctx, op, now, rows, stagedPV)
		case schema.Sessions:
			err = s.sessionOp(ctx, op, now, rows, stagedS, stagedL)
		case schema.JSErrors:
			err = jsErrorOp(op, now, rows)
		default:
			local, localIdx = append(local, op), append(localIdx, i)
			continue
		}
		if err != nil {
			var oe *store.OpError
			if errors.As(err, &oe) {
				oe.Index = i
				return oe
			}
			return err
		}
	}
	for _, table := range []string{tEvents, tSessions, tJSErrors, tEngagement} {
		rs := rows[table]
		if len(rs) == 0 {
			continue
		}
		id := s.nextID()
		if table == tEvents || table == tJSErrors {
			for _, r := range rs {
				r["batch"] = id
			}
		}
		body, err := clickhouse.EncodeRows(rs)
		if err != nil {
			return &store.OpError{Index: -1, Permanent: true, Err: fmt.Errorf("chstore: %s rows: %w", table, err)}
		}
		if len(body) > schema.MaxOutboxRows {
			return &store.OpError{Index: -1, Permanent: true, Timeout: true,
				Err: fmt.Errorf("chstore: %d bytes of %s rows: more than an outbox record holds", len(body), table)}
		}
		local = append(local, store.Op{Action: store.Create, Collection: schema.Outbox, ID: id,
			Data: map[string]any{"table": table, "rowCount": len(rs), "rows": string(body)}})
		localIdx = append(localIdx, -1)
		if table == tEvents || table == tSessions {
			ids := make([]string, len(rs))
			for i, r := range rs {
				ids[i], _ = r["id"].(string)
			}
			written[id] = ids
		}
	}
	if err := s.local.Apply(ctx, local); err != nil {
		var oe *store.OpError
		if errors.As(err, &oe) && oe.Index >= 0 && oe.Index < len(localIdx) {
			mapped := *oe
			mapped.Index = localIdx[oe.Index]
			return &mapped
		}
		return err
	}
	for id, st := range stagedS {
		s.sessions.put(id, st)
	}
	for v, id := range stagedL {
		s.latest.put(v, id)
	}
	for id, pv := range stagedPV {
		s.pageViews.put(id, pv)
	}
	s.pendMu.Lock()
	for rec, ids := range written {
		s.pending[rec] = ids
		for _, id := range ids {
			s.pendIDs[id]++
		}
	}
	s.pendMu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// nextID returns an outbox record id greater than every earlier one (15
// base-36 digits of a nanosecond clock that never goes back): the
// shipper sends records in id order.
func (s *Store) nextID() string {
	n := max(uint64(time.Now().UnixNano()), s.lastID+1)
	s.lastID = n
	id := strconv.FormatUint(n, 36)
	for len(id) < 15 {
		id = "0" + id
	}
	return id
}

// nextVersion returns a version greater than every earlier one, and than
// the versions of earlier processes (a nanosecond clock).
func (s *Store) nextVersion() uint64 {
	s.lastVer = max(uint64(time.Now().UnixNano()), s.lastVer+1)
	return s.lastVer
}

// eventOp turns an events op into a row: a create into an events row, an
// update (a page view's engagement) into an engagement row.
func (s *Store) eventOp(ctx context.Context, op store.Op, now time.Time, rows map[string][]map[string]any, staged map[string]pageView) error {
	switch op.Action {
	case store.Create:
		row := map[string]any{"id": op.ID, "created": now, "updated": now}
		for k, v := range op.Data {
			row[k] = chValue(v)
		}
		rows[tEvents] = append(rows[tEvents], row)
		if row["type"] == "pageView" {
			ts, _ := op.Data["timestamp"].(time.Time)
			website, _ := op.Data["website"].(string)
			session, _ := op.Data["session"].(string)
			staged[op.ID] = pageView{website: website, session: session, timestamp: ts}
		}
		return nil
	case store.Update:
		pv, ok := staged[op.ID]
		if !ok {
			found, err := s.pageViewsLocked(ctx, []string{op.ID})
			if err != nil {
				return err
			}
			if pv, ok = found[op.ID]; !ok {
				return &store.OpError{Permanent: true, Err: fmt.Errorf("chstore: page view %s: %w", op.ID, store.ErrNotFound)}
			}
		}
		if v, ok := intOf(op.Data["engagedMs"]); ok {
			pv.engagedMs = int(v)
		}
		if v, ok := intOf(op.Data["scrollDepth"]); ok {
			pv.scrollDept = int(v)
		}
		staged[op.ID] = pv
		rows[tEngagement] = append(rows[tEngagement], map[string]any{
			"website": pv.website, "event": op.ID, "session": pv.session, "timestamp": pv.timestamp,
			"engagedMs": pv.engagedMs, "scrollDepth": pv.scrollDept, "version": s.nextVersion(),
		})
		return nil
	}
	return &store.OpError{Permanent: true, Err: fmt.Errorf("chstore: %s of events is not supported", op.Action)}
}

// sessionOp writes a session's next version: a create as it is, an
// update over the session's latest row ("field+" adds).
func (s *Store) sessionOp(ctx context.Context, op store.Op, now time.Time, rows map[string][]map[string]any,
	staged map[string]*sessionState, stagedLatest map[string]string) error {
	var row map[string]any
	switch op.Action {
	case store.Create:
		row = map[string]any{"id": op.ID, "created": now}
	case store.Update:
		prev := staged[op.ID]
		if prev == nil {
			prev, _ = s.sessions.get(op.ID)
		}
		if prev == nil {
			found, err := s.readSessions(ctx, "id = ?", op.ID)
			if err != nil {
				return err
			}
			if len(found) == 0 {
				return &store.OpError{Permanent: true, Err: fmt.Errorf("chstore: session %s: %w", op.ID, store.ErrNotFound)}
			}
			prev = found[0]
		}
		row = make(map[string]any, len(prev.row))
		for k, v := range prev.row {
			row[k] = v
		}
	default:
		return &store.OpError{Permanent: true, Err: fmt.Errorf("chstore: %s of sessions is not supported", op.Action)}
	}
	for k, v := range op.Data {
		if name, ok := cutDelta(k); ok {
			d, _ := intOf(v)
			cur, _ := intOf(row[name])
			if k[len(k)-1] == '-' {
				d = -d
			}
			row[name] = cur + d
			continue
		}
		row[k] = chValue(v)
	}
	row["updated"], row["version"] = now, s.nextVersion()
	rows[tSessions] = append(rows[tSessions], row)
	st := &sessionState{row: row}
	staged[op.ID] = st
	if v, _ := row["visitor"].(string); v != "" {
		stagedLatest[v] = op.ID
	}
	return nil
}

// jsErrorOp turns a group's upsert into a row of this write's count.
func jsErrorOp(op store.Op, now time.Time, rows map[string][]map[string]any) error {
	if op.Action != store.Upsert {
		return &store.OpError{Permanent: true, Err: fmt.Errorf("chstore: %s of js_errors is not supported", op.Action)}
	}
	row := map[string]any{"id": op.ID, "created": now, "updated": now}
	for k, v := range op.Data {
		if name, ok := cutDelta(k); ok {
			row[name], _ = intOf(v)
			continue
		}
		row[k] = chValue(v)
	}
	rows[tJSErrors] = append(rows[tJSErrors], row)
	return nil
}

// cutDelta reads a "field+" or "field-" key.
func cutDelta(k string) (string, bool) {
	if n := len(k); n > 1 && (k[n-1] == '+' || k[n-1] == '-') {
		return k[:n-1], true
	}
	return k, false
}

// chValue is v as Insert writes it: JSON values (utm, eventData) as
// their text.
func chValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, int64, int32, uint64, float64, time.Time:
		return x
	case json.RawMessage:
		return string(x)
	case []byte:
		return string(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// intOf reads a number of any of the types a row holds.
func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint64:
		return int64(x), true
	case float64:
		return int64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

// The rest of store.Store: PocketBase's, or ClickHouse's after the
// outbox is shipped (so that what committed is there).

// MaxOps leaves room for the outbox records (one per table).
func (s *Store) MaxOps(ctx context.Context) (int, error) {
	n, err := s.local.MaxOps(ctx)
	return n - 4, err
}

// Existing reads events from ClickHouse, the other collections from
// PocketBase.
func (s *Store) Existing(ctx context.Context, collection string, ids []string) (map[string]bool, error) {
	switch collection {
	case schema.Events, schema.Sessions:
	default:
		return s.local.Existing(ctx, collection, ids)
	}
	out, ask, err := s.unshipped(ctx, ids)
	if err != nil {
		return nil, err
	}
	for part := range chunks(ask, 5000) {
		type row struct {
			ID string `json:"id"`
		}
		got, err := clickhouse.Select[row](ctx, s.ch, "SELECT DISTINCT id FROM ? WHERE id IN "+clickhouse.List(part), clickhouse.Ident(collection))
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			out[r.ID] = true
		}
	}
	return out, nil
}

// unshipped splits ids into those of this process's unshipped outbox
// (found: known without shipping, which the pipeline would otherwise do
// before every chunk of page views with ids) and the ones to ask
// ClickHouse about. An earlier process's records are shipped once first.
// A record leaves the pending set only after its INSERT succeeded, so a
// stored id is always in one of the two.
func (s *Store) unshipped(ctx context.Context, ids []string) (found map[string]bool, ask []string, err error) {
	s.pendMu.Lock()
	drained := s.drained
	s.pendMu.Unlock()
	if !drained {
		if err := s.Ship(ctx); err != nil {
			return nil, nil, err
		}
		s.pendMu.Lock()
		s.drained = true
		s.pendMu.Unlock()
	}
	found = map[string]bool{}
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	for _, id := range ids {
		if s.pendIDs[id] > 0 {
			found[id] = true
		} else {
			ask = append(ask, id)
		}
	}
	return found, ask, nil
}

// StoredEvents finds which of keys are stored (store.StoredEvents): per
// website, within a day of the keys' times, so that ClickHouse reads the
// (website, timestamp) range of the key rather than the whole table's
// ids (ClickHouse has no index on them: at 1 M events a whole-table check
// took 46–60 ms per chunk and grows with the table).
func (s *Store) StoredEvents(ctx context.Context, keys []store.EventKey) (map[string]bool, error) {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	out, ask, err := s.unshipped(ctx, ids)
	if err != nil {
		return nil, err
	}
	asked := make(map[string]bool, len(ask))
	for _, id := range ask {
		asked[id] = true
	}
	type span struct {
		ids      []string
		from, to time.Time
	}
	byWebsite := map[string]*span{}
	for _, k := range keys {
		if !asked[k.ID] {
			continue
		}
		sp := byWebsite[k.Website]
		if sp == nil {
			sp = &span{from: k.Time, to: k.Time}
			byWebsite[k.Website] = sp
		}
		sp.ids = append(sp.ids, k.ID)
		if k.Time.Before(sp.from) {
			sp.from = k.Time
		}
		if k.Time.After(sp.to) {
			sp.to = k.Time
		}
	}
	for website, sp := range byWebsite {
		for part := range chunks(sp.ids, 5000) {
			type row struct {
				ID string `json:"id"`
			}
			got, err := clickhouse.Select[row](ctx, s.ch, `SELECT DISTINCT id FROM events
				WHERE website = ? AND timestamp >= ? AND timestamp < ? AND id IN `+clickhouse.List(part),
				website, sp.from.Add(-24*time.Hour), sp.to.Add(24*time.Hour))
			if err != nil {
				return nil, err
			}
			for _, r := range got {
				out[r.ID] = true
			}
		}
	}
	return out, nil
}

// shipped forgets the ids of an outbox record ClickHouse now has.
func (s *Store) shipped(record string) {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	for _, id := range s.pending[record] {
		if s.pendIDs[id]--; s.pendIDs[id] <= 0 {
			delete(s.pendIDs, id)
		}
	}
	delete(s.pending, record)
}

// PageViews reads the page views among ids: from the store's own state,
// else from ClickHouse with their latest engagement.
func (s *Store) PageViews(ctx context.Context, ids []string) (map[string]store.PageView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found, err := s.pageViewsLocked(ctx, ids)
	out := make(map[string]store.PageView, len(found))
	for id, pv := range found {
		out[id] = store.PageView{Session: pv.session, EngagedMs: pv.engagedMs, ScrollDepth: pv.scrollDept}
	}
	return out, err
}

func (s *Store) pageViewsLocked(ctx context.Context, ids []string) (map[string]pageView, error) {
	out := map[string]pageView{}
	var missing []string
	for _, id := range ids {
		if pv, ok := s.pageViews.get(id); ok {
			out[id] = pv
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	if err := s.Ship(ctx); err != nil {
		return out, err
	}
	type row struct {
		ID          string `json:"id"`
		Website     string `json:"website"`
		Session     string `json:"session"`
		Timestamp   int64  `json:"timestamp"`
		EngagedMs   int    `json:"engagedMs"`
		ScrollDepth int    `json:"scrollDepth"`
	}
	for part := range chunks(missing, 5000) {
		got, err := clickhouse.Select[row](ctx, s.ch, `SELECT e.id AS id, e.website AS website, e.session AS session, e.timestamp AS timestamp,
				if(g.event = '', e.engagedMs, g.engagedMs) AS engagedMs, if(g.event = '', e.scrollDepth, g.scrollDepth) AS scrollDepth
			FROM (SELECT id, website, session, timestamp, engagedMs, scrollDepth FROM events WHERE id IN `+clickhouse.List(part)+` AND type = 'pageView') AS e
			ANY LEFT JOIN (SELECT event, engagedMs, scrollDepth FROM engagement FINAL WHERE event IN `+clickhouse.List(part)+`) AS g ON e.id = g.event`)
		if err != nil {
			return out, err
		}
		for _, r := range got {
			pv := pageView{website: r.Website, session: r.Session, timestamp: time.UnixMilli(r.Timestamp).UTC(),
				engagedMs: r.EngagedMs, scrollDept: r.ScrollDepth}
			out[r.ID] = pv
			s.pageViews.put(r.ID, pv)
		}
	}
	return out, nil
}

// LatestSession reads the visitor's highest-seq session.
func (s *Store) LatestSession(ctx context.Context, visitorRecordID string) (store.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.latest.get(visitorRecordID); ok {
		if st, ok := s.sessions.get(id); ok {
			return st.session(), nil
		}
	}
	found, err := s.readSessions(ctx, "visitor = ? ORDER BY seq DESC LIMIT 1", visitorRecordID)
	if err != nil {
		return store.Session{}, err
	}
	if len(found) == 0 {
		return store.Session{}, store.ErrNotFound
	}
	st := found[0]
	id, _ := st.row["id"].(string)
	s.sessions.put(id, st)
	s.latest.put(visitorRecordID, id)
	return st.session(), nil
}

// session is the pipeline's view of a session's row.
func (st *sessionState) session() store.Session {
	str := func(k string) string { v, _ := st.row[k].(string); return v }
	num := func(k string) int { v, _ := intOf(st.row[k]); return int(v) }
	tm := func(k string) time.Time {
		if t, ok := st.row[k].(time.Time); ok {
			return t
		}
		v, _ := intOf(st.row[k])
		return time.UnixMilli(v).UTC()
	}
	return store.Session{ID: str("id"), Seq: num("seq"), StartedAt: tm("startedAt"), LastActivity: tm("lastActivity"),
		EntryPath: str("entryPath"), ExitPath: str("exitPath"), EventCount: num("eventCount"), Engaged: num("isEngaged") != 0}
}

// sessionTimes are the session columns that hold times.
var sessionTimes = []string{"startedAt", "lastActivity", "created", "updated"}

// readSessions reads the latest rows of the sessions where (a condition
// with ? placeholders, bound to args), after shipping the outbox.
func (s *Store) readSessions(ctx context.Context, where string, args ...any) ([]*sessionState, error) {
	if err := s.Ship(ctx); err != nil {
		return nil, err
	}
	got, err := clickhouse.Select[map[string]any](ctx, s.ch, "SELECT * FROM sessions FINAL WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	out := make([]*sessionState, 0, len(got))
	for _, row := range got {
		delete(row, "version")
		for k, v := range row {
			if n, ok := v.(json.Number); ok {
				i, _ := n.Int64()
				row[k] = i
			} else if f, ok := v.(float64); ok {
				row[k] = int64(f)
			}
		}
		for _, k := range sessionTimes {
			if v, ok := intOf(row[k]); ok {
				row[k] = time.UnixMilli(v).UTC()
			}
		}
		out = append(out, &sessionState{row: row})
	}
	return out, nil
}

// PaidOrders reads the website's orders with revenue from ClickHouse.
func (s *Store) PaidOrders(ctx context.Context, websiteID string, orderIDs []string) (map[string]bool, error) {
	if err := s.Ship(ctx); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for part := range chunks(orderIDs, 5000) {
		type row struct {
			OrderID string `json:"orderId"`
		}
		got, err := clickhouse.Select[row](ctx, s.ch, `SELECT DISTINCT orderId FROM events
			WHERE website = ? AND orderId IN `+clickhouse.List(part)+` AND revenueCurrency != ''`, websiteID)
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			out[r.OrderID] = true
		}
	}
	return out, nil
}

// WebsiteByTrackingID reads PocketBase.
func (s *Store) WebsiteByTrackingID(ctx context.Context, trackingID string) (store.Website, error) {
	return s.local.WebsiteByTrackingID(ctx, trackingID)
}

// UpdateWebsite writes PocketBase.
func (s *Store) UpdateWebsite(ctx context.Context, id string, data map[string]any) error {
	return s.local.UpdateWebsite(ctx, id, data)
}

// SpoolPosition reads PocketBase, where the position commits with the
// outbox.
func (s *Store) SpoolPosition(ctx context.Context, id string) (uint64, error) {
	return s.local.SpoolPosition(ctx, id)
}

// DimensionKeys reads the summaries, in PocketBase.
func (s *Store) DimensionKeys(ctx context.Context, websiteID string, day time.Time) (map[string][]string, error) {
	return s.local.DimensionKeys(ctx, websiteID, day)
}

// VisitorRows reads the visitors, in PocketBase.
func (s *Store) VisitorRows(ctx context.Context, keys []store.VisitorKey) (map[store.VisitorKey]string, error) {
	if vr, ok := s.local.(store.VisitorRows); ok {
		return vr.VisitorRows(ctx, keys)
	}
	return map[store.VisitorKey]string{}, nil
}

// chunks yields values n at a time.
func chunks(values []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(values) > 0 {
			k := min(n, len(values))
			if !yield(values[:k]) {
				return
			}
			values = values[k:]
		}
	}
}
