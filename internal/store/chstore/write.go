package chstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/schema"
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
			pv.scrollDepth = int(v)
		}
		staged[op.ID] = pv
		rows[tEngagement] = append(rows[tEngagement], map[string]any{
			"website": pv.website, "event": op.ID, "session": pv.session, "timestamp": pv.timestamp,
			"engagedMs": pv.engagedMs, "scrollDepth": pv.scrollDepth, "version": s.nextVersion(),
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
