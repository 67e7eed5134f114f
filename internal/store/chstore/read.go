package chstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
)

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

// PageViews reads the page views among ids: from the store's own state,
// else from ClickHouse with their latest engagement.
func (s *Store) PageViews(ctx context.Context, ids []string) (map[string]store.PageView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	found, err := s.pageViewsLocked(ctx, ids)
	out := make(map[string]store.PageView, len(found))
	for id, pv := range found {
		out[id] = store.PageView{Session: pv.session, EngagedMs: pv.engagedMs, ScrollDepth: pv.scrollDepth}
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
				engagedMs: r.EngagedMs, scrollDepth: r.ScrollDepth}
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
