package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// rowsPerChunk bounds the rowids one transaction of the evaluation
// covers, so that a backlog is worked through in short transactions that
// leave the writer room.
const rowsPerChunk = 2000

// source is a table whose new rows trigger rules, read by the rowid
// cursor named state. SQLite's rowids grow with each insert and the
// writer is the only one, so the rows above a cursor are exactly those
// stored since; retention deletes old rows only, never the newest.
type source struct {
	table, state string
	types        []string
	// scan matches the rows (lo, hi] against the active rules of types.
	scan func(n *Notifier, ctx context.Context, db dbx.Builder, rules []rule, lo, hi int64, ss *sites) (bool, error)
	// chState and chScan are state and scan with a ClickHouse events
	// store, where the cursor is a created time (evaluate_clickhouse.go)
	chState string
	chScan  func(n *Notifier, ctx context.Context, db dbx.Builder, rules []rule, lo, hi int64, ss *sites) (bool, error)
}

var sources = []source{
	{schema.Events, "notify.cursor.events", []string{"custom_event"}, (*Notifier).scanEvents,
		"notify.chcursor.events", (*Notifier).chScanEvents},
	{schema.Sessions, "notify.cursor.sessions", []string{"new_session", "new_visitor"}, (*Notifier).scanSessions,
		"notify.chcursor.sessions", (*Notifier).chScanSessions},
}

// stateOf is the name of src's cursor: the rowid one, or the created
// time one with ClickHouse (a separate name, so that a switch of store
// starts afresh rather than reading a rowid as a time).
func (n *Notifier) stateOf(src source) string {
	if n.opts.ClickHouse != nil {
		return src.chState
	}
	return src.state
}

// Evaluate evaluates the rules once: the rows stored since the last
// evaluation, then the periodic rules as of the clock. The loop calls
// it every minute; tests call it with a moved clock.
func (n *Notifier) Evaluate(ctx context.Context) error {
	if err := n.evaluate(ctx, true); err != nil {
		return err
	}
	return n.evaluatePeriodic(ctx)
}

// evaluateNew evaluates the event rules on the rows stored since the
// cursors. On the first start it sets the cursors to the newest rows
// (a new server does not notify its whole history).
func (n *Notifier) evaluateNew(ctx context.Context) error { return n.evaluate(ctx, false) }

// evaluate is evaluateNew; on a wake-up (not always) a source without an
// active rule whose cursor is set is left alone: its cursor is moved by the next minute's
// evaluation instead of by a write transaction after every commit of the
// writer (a rule created in that minute may see the minute's rows).
func (n *Notifier) evaluate(ctx context.Context, always bool) error {
	n.evalMu.Lock()
	defer n.evalMu.Unlock()
	added := false
	for _, src := range sources {
		if !always {
			rules, err := activeRules(ctx, n.app.DB(), src.types...)
			if err != nil {
				return fmt.Errorf("notify: %s: %w", src.table, err)
			}
			if _, set, err := readState(ctx, n.app.DB(), n.stateOf(src)); err == nil && set && len(rules) == 0 {
				continue // the first start still sets the cursor at once
			}
		}
		for {
			more, a, err := n.evaluateChunk(ctx, src)
			added = added || a
			if err != nil {
				return fmt.Errorf("notify: %s: %w", src.table, err)
			}
			if !more {
				break
			}
		}
	}
	if added {
		n.wakeSender()
	}
	return nil
}

// evaluateChunk evaluates up to rowsPerChunk rowids past src's cursor
// and moves the cursor, in one transaction: the deliveries and the
// cursor are committed together, and if they were not, the outbox's
// unique key keeps a second evaluation from adding a delivery twice.
func (n *Notifier) evaluateChunk(ctx context.Context, src source) (more, added bool, err error) {
	if n.opts.ClickHouse != nil {
		return n.chEvaluateChunk(ctx, src)
	}
	now := n.opts.Now()
	err = n.app.RunInTransaction(func(tx core.App) error {
		db := tx.DB()
		var hi sql.NullInt64
		if err := db.NewQuery("SELECT MAX(rowid) FROM " + src.table).WithContext(ctx).Row(&hi); err != nil {
			return err
		}
		v, ok, err := readState(ctx, db, src.state)
		if err != nil {
			return err
		}
		lo, _ := strconv.ParseInt(v, 10, 64)
		switch {
		case !ok || hi.Int64 < lo: // first start, or a table emptied
			return writeState(ctx, db, src.state, strconv.FormatInt(hi.Int64, 10), now)
		case hi.Int64 == lo:
			return nil
		case hi.Int64-lo > rowsPerChunk:
			hi.Int64, more = lo+rowsPerChunk, true
		}
		rules, err := activeRules(ctx, db, src.types...)
		if err != nil {
			return err
		}
		if len(rules) > 0 {
			if added, err = src.scan(n, ctx, db, rules, lo, hi.Int64, newSites(ctx, db)); err != nil {
				return err
			}
		}
		return writeState(ctx, db, src.state, strconv.FormatInt(hi.Int64, 10), now)
	})
	return more, added, err
}

// scanEvents triggers the custom_event rules on the custom events of
// rowids (lo, hi] whose name is a rule's.
func (n *Notifier) scanEvents(ctx context.Context, db dbx.Builder, rules []rule, lo, hi int64, ss *sites) (bool, error) {
	var names []any
	for _, name := range eventNames(rules) {
		names = append(names, name)
	}
	if len(names) == 0 {
		return false, nil
	}
	var rows []eventRow
	err := db.Select("e.id", "e.website", "e.session", "e.path", "e.eventName", "e.eventData", "e.timestamp",
		"s.browser", "s.os", "s.device", "s.country").
		From(schema.Events+" e").LeftJoin(schema.Sessions+" s", dbx.NewExp("s.id = e.session")).
		Where(dbx.NewExp("e.rowid > {:lo} AND e.rowid <= {:hi}", dbx.Params{"lo": lo, "hi": hi})).
		AndWhere(dbx.HashExp{"e.type": "custom"}).AndWhere(dbx.In("e.eventName", names...)).
		OrderBy("e.rowid").WithContext(ctx).All(&rows)
	if err != nil {
		return false, err
	}
	return n.fireEvents(ctx, db, rules, rows, ss)
}

// eventNames are the custom event names of the rules.
func eventNames(rules []rule) []string {
	var names []string
	for _, r := range rules {
		if r.CustomEventName != "" {
			names = append(names, r.CustomEventName)
		}
	}
	return names
}

// eventRow is a new custom event with its session's device and place.
type eventRow struct {
	ID        string         `db:"id"`
	Website   string         `db:"website"`
	Session   string         `db:"session"`
	Path      string         `db:"path"`
	EventName string         `db:"eventName"`
	EventData sql.NullString `db:"eventData"`
	Timestamp string         `db:"timestamp"`
	Browser   sql.NullString `db:"browser"`
	OS        sql.NullString `db:"os"`
	Device    sql.NullString `db:"device"`
	Country   sql.NullString `db:"country"`
}

// fireEvents triggers the custom_event rules on the new events rows.
func (n *Notifier) fireEvents(ctx context.Context, db dbx.Builder, rules []rule, rows []eventRow, ss *sites) (bool, error) {
	added := false
	for _, e := range rows {
		st, err := ss.get(e.Website)
		if err != nil {
			return added, err
		}
		var props any
		_ = json.Unmarshal([]byte(e.EventData.String), &props)
		at := parseTime(e.Timestamp, n.opts.Now())
		for _, r := range rules {
			if r.CustomEventName != e.EventName || !r.watches(st) {
				continue
			}
			data := map[string]any{"eventName": e.EventName, "path": e.Path, "properties": props,
				"eventId": e.ID, "sessionId": e.Session, "browser": e.Browser.String, "os": e.OS.String,
				"device": e.Device.String, "country": e.Country.String}
			p := newPayload(r, "custom_event", st, at, fmt.Sprintf("Skopos: %q on %s", e.EventName, siteName(st)), data)
			a, err := trigger(ctx, db, r, e.ID, p, n.opts.Now())
			if err != nil {
				return added, err
			}
			added = added || a
		}
	}
	return added, nil
}

// scanSessions triggers the new_session rules on the sessions of rowids
// (lo, hi], and the new_visitor rules on those of a new visitor (its
// first session: the visitor's row and it are stored together).
func (n *Notifier) scanSessions(ctx context.Context, db dbx.Builder, rules []rule, lo, hi int64, ss *sites) (bool, error) {
	q := db.Select("id", "website", "visitor", "browser", "os", "device", "country", "entryPath", "referrer",
		"isNewVisitor", "startedAt").From(schema.Sessions).
		Where(dbx.NewExp("rowid > {:lo} AND rowid <= {:hi}", dbx.Params{"lo": lo, "hi": hi})).
		OrderBy("rowid").WithContext(ctx)
	if onlyNewVisitors(rules) {
		q.AndWhere(dbx.HashExp{"isNewVisitor": true})
	}
	var rows []sessionRow
	if err := q.All(&rows); err != nil {
		return false, err
	}
	return n.fireSessions(ctx, db, rules, rows, ss)
}

// onlyNewVisitors is whether every rule is a new_visitor one: then only
// the sessions of new visitors are read.
func onlyNewVisitors(rules []rule) bool {
	for _, r := range rules {
		if r.EventType != "new_visitor" {
			return false
		}
	}
	return true
}

// sessionRow is a new session.
type sessionRow struct {
	ID           string `db:"id"`
	Website      string `db:"website"`
	Visitor      string `db:"visitor"`
	Browser      string `db:"browser"`
	OS           string `db:"os"`
	Device       string `db:"device"`
	Country      string `db:"country"`
	EntryPath    string `db:"entryPath"`
	Referrer     string `db:"referrer"`
	IsNewVisitor bool   `db:"isNewVisitor"`
	StartedAt    string `db:"startedAt"`
}

// fireSessions triggers the new_session rules on the new sessions, and
// the new_visitor rules on those of a new visitor.
func (n *Notifier) fireSessions(ctx context.Context, db dbx.Builder, rules []rule, rows []sessionRow, ss *sites) (bool, error) {
	added := false
	for _, s := range rows {
		st, err := ss.get(s.Website)
		if err != nil {
			return added, err
		}
		at := parseTime(s.StartedAt, n.opts.Now())
		for _, r := range rules {
			if !r.watches(st) || (r.EventType == "new_visitor" && !s.IsNewVisitor) {
				continue
			}
			data := map[string]any{"sessionId": s.ID, "visitorId": s.Visitor, "entryPath": s.EntryPath,
				"referrer": s.Referrer, "browser": s.Browser, "os": s.OS, "device": s.Device,
				"country": s.Country, "newVisitor": s.IsNewVisitor}
			key, title := s.ID, "Skopos: new session on "+siteName(st)
			if r.EventType == "new_visitor" {
				key, title = s.Visitor, "Skopos: new visitor on "+siteName(st)
			}
			a, err := trigger(ctx, db, r, key, newPayload(r, r.EventType, st, at, title, data), n.opts.Now())
			if err != nil {
				return added, err
			}
			added = added || a
		}
	}
	return added, nil
}

func parseTime(s string, def time.Time) time.Time {
	if t, err := time.Parse(dbLayout, s); err == nil {
		return t
	}
	return def
}

// siteName is how a message names a website.
func siteName(st *site) string {
	if st == nil {
		return "all sites"
	}
	if st.Name != "" {
		return st.Name
	}
	return st.Domain
}
