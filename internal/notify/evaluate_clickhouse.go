package notify

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/schema"
)

// With a ClickHouse events store (Options.ClickHouse) the new events and
// sessions are read there, and ClickHouse has no rowid: the cursor is the
// rows' created time (ms), which chstore stamps when it writes a row to
// its outbox and no later version of a session changes. Rows reach
// ClickHouse later than they are stamped, and not in stamp order across
// a failed shipment, so:
//   - the cursor never passes the oldest record still in the outbox
//     (whose id is its write time, in nanoseconds, base 36): the rows of a
//     shipment that failed for an hour are read when it succeeds;
//   - each scan starts chLookback before the cursor, for the rows stamped
//     just before a scan that became visible just after it (stamped,
//     then committed to the outbox and shipped, within that time); a row
//     read twice triggers once, by the deliveries' unique key (rule,
//     event key, channel), as after a crash in SQLite;
//   - the first start sets a floor that no scan goes below (a new server
//     does not notify its history, not even the last minute's).
//
// A chunk covers at most chChunk of created times, in one transaction.

const (
	chLookback = time.Minute
	chChunk    = time.Hour
)

// chBound is the created time up to which the rows are in ClickHouse:
// now, or the oldest outbox record's write time.
func (n *Notifier) chBound(ctx context.Context) (int64, error) {
	bound := time.Now().UnixMilli()
	var oldest sql.NullString
	err := n.app.DB().NewQuery("SELECT MIN(id) FROM " + schema.Outbox).WithContext(ctx).Row(&oldest)
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	if ns, err := strconv.ParseUint(oldest.String, 36, 64); oldest.Valid && err == nil {
		bound = min(bound, int64(ns/uint64(time.Millisecond)))
	}
	return bound, nil
}

// chEvaluateChunk is evaluateChunk over ClickHouse: the rows created in
// (cursor - chLookback, hi], no lower than the floor. The state is
// "<cursor> <floor>".
func (n *Notifier) chEvaluateChunk(ctx context.Context, src source) (more, added bool, err error) {
	now := n.opts.Now()
	bound, err := n.chBound(ctx)
	if err != nil {
		return false, false, err
	}
	err = n.app.RunInTransaction(func(tx core.App) error {
		db := tx.DB()
		v, ok, err := readState(ctx, db, src.chState)
		if err != nil {
			return err
		}
		var cur, floor int64
		if _, err := fmt.Sscan(v, &cur, &floor); !ok || err != nil { // first start
			return writeState(ctx, db, src.chState, fmt.Sprint(bound, bound), now)
		}
		if bound <= cur {
			return nil
		}
		hi := bound
		if hi-cur > chChunk.Milliseconds() {
			hi, more = cur+chChunk.Milliseconds(), true
		}
		rules, err := activeRules(ctx, db, src.types...)
		if err != nil {
			return err
		}
		if len(rules) > 0 {
			lo := max(cur-chLookback.Milliseconds(), floor)
			if added, err = src.chScan(n, ctx, db, rules, lo, hi, newSites(ctx, db)); err != nil {
				return err
			}
		}
		return writeState(ctx, db, src.chState, fmt.Sprint(hi, floor), now)
	})
	return more, added, err
}

// chMs is a millisecond time as PocketBase stores dates.
func chMs(ms int64) string { return time.UnixMilli(ms).UTC().Format(dbLayout) }

// chScanEvents is scanEvents over ClickHouse: the custom events created
// in (lo, hi] (ms) whose name is a rule's. created is no key column of
// events: PREWHERE reads that one column first.
func (n *Notifier) chScanEvents(ctx context.Context, db dbx.Builder, rules []rule, lo, hi int64, ss *sites) (bool, error) {
	names := eventNames(rules)
	if len(names) == 0 {
		return false, nil
	}
	q, err := clickhouse.Bind(`SELECT id, website, session, path, eventName, eventData, timestamp FROM events
		PREWHERE created > ? AND created <= ? WHERE type = 'custom' AND eventName IN `+clickhouse.List(names)+`
		ORDER BY created, id`, lo, hi)
	if err != nil {
		return false, err
	}
	evs, err := clickhouse.Select[struct {
		ID, Website, Session, Path, EventName, EventData string
		Timestamp                                        int64
	}](ctx, n.opts.ClickHouse, q)
	if err != nil || len(evs) == 0 {
		return false, err
	}
	var sites, sessions []string
	for _, e := range evs {
		sites, sessions = append(sites, e.Website), append(sessions, e.Session)
	}
	found, err := clickhouse.Select[struct{ ID, Browser, OS, Device, Country string }](ctx, n.opts.ClickHouse,
		`SELECT id, browser, os, device, country FROM sessions FINAL WHERE website IN `+clickhouse.List(sites)+
			` AND id IN `+clickhouse.List(sessions))
	if err != nil {
		return false, err
	}
	type place struct{ browser, os, device, country sql.NullString }
	of := make(map[string]place, len(found))
	str := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	for _, s := range found {
		of[s.ID] = place{str(s.Browser), str(s.OS), str(s.Device), str(s.Country)}
	}
	rows := make([]eventRow, len(evs))
	for i, e := range evs {
		p := of[e.Session]
		rows[i] = eventRow{ID: e.ID, Website: e.Website, Session: e.Session, Path: e.Path, EventName: e.EventName,
			EventData: sql.NullString{String: e.EventData, Valid: e.EventData != ""}, Timestamp: chMs(e.Timestamp),
			Browser: p.browser, OS: p.os, Device: p.device, Country: p.country}
	}
	return n.fireEvents(ctx, db, rules, rows, ss)
}

// chScanSessions is scanSessions over ClickHouse: the sessions created
// in (lo, hi] (ms), as their latest version has them.
func (n *Notifier) chScanSessions(ctx context.Context, db dbx.Builder, rules []rule, lo, hi int64, ss *sites) (bool, error) {
	cond := ""
	if onlyNewVisitors(rules) {
		cond = " AND isNewVisitor = 1"
	}
	q, err := clickhouse.Bind(`SELECT id, website, visitor, browser, os, device, country, entryPath, referrer, isNewVisitor, startedAt
		FROM sessions FINAL WHERE created > ? AND created <= ?`+cond+` ORDER BY created, id`, lo, hi)
	if err != nil {
		return false, err
	}
	found, err := clickhouse.Select[struct {
		ID, Website, Visitor, Browser, OS, Device, Country, EntryPath, Referrer string
		IsNewVisitor                                                            int
		StartedAt                                                               int64
	}](ctx, n.opts.ClickHouse, q)
	if err != nil || len(found) == 0 {
		return false, err
	}
	rows := make([]sessionRow, len(found))
	for i, s := range found {
		rows[i] = sessionRow{ID: s.ID, Website: s.Website, Visitor: s.Visitor, Browser: s.Browser, OS: s.OS, Device: s.Device,
			Country: s.Country, EntryPath: s.EntryPath, Referrer: s.Referrer, IsNewVisitor: s.IsNewVisitor != 0,
			StartedAt: chMs(s.StartedAt)}
	}
	return n.fireSessions(ctx, db, rules, rows, ss)
}

// chLastEvent is the time of the site's latest event in ClickHouse ("" for
// none), as trackingStopped reads it from SQLite.
func (n *Notifier) chLastEvent(ctx context.Context, site string) (string, error) {
	rows, err := clickhouse.Select[struct{ T int64 }](ctx, n.opts.ClickHouse,
		`SELECT max(timestamp) AS T FROM events WHERE website = ?`, site)
	if err != nil || len(rows) == 0 || rows[0].T == 0 {
		return "", err
	}
	return chMs(rows[0].T), nil
}
