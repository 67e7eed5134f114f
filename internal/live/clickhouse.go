package live

import (
	"context"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/stats"
)

// The hub's reads from the ClickHouse events store (Options.ClickHouse,
// issue 31), each the twin of its SQLite statement in live.go: the tables
// of clickhouse.Schema, times in Unix milliseconds, sessions read FINAL
// (their latest version) with every condition in WHERE.

// detailsTimeout bounds the read of a batch's session details: the hub's
// one goroutine waits for it, and a ClickHouse that does not answer must
// not stop every stream.
const detailsTimeout = 10 * time.Second

func toAny(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// chSessionDetails reads the details of the sessions ids of the websites
// sites (which the sessions table is ordered by), by id.
func chSessionDetails(ctx context.Context, ch *clickhouse.Client, sites, ids []string) (map[string]sessionInfo, error) {
	rows, err := clickhouse.Select[sessionInfo](ctx, ch, `SELECT id AS ID, visitor AS Visitor, country AS Country, device AS Device,
		browser AS Browser, referrer AS Referrer FROM sessions FINAL WHERE website IN `+clickhouse.List(sites)+
		` AND id IN `+clickhouse.List(ids))
	info := make(map[string]sessionInfo, len(rows))
	for _, r := range rows {
		info[r.ID] = r
	}
	return info, err
}

// TakeSnapshotClickHouse is TakeSnapshot over the sessions and events of
// the ClickHouse events store.
func TakeSnapshotClickHouse(ctx context.Context, ch *clickhouse.Client, websiteID string, now time.Time) (Snapshot, error) {
	var s Snapshot
	n, err := stats.ActiveUsersClickHouse(ctx, ch, websiteID, now)
	if err != nil {
		return s, err
	}
	s.ActiveVisitors = n
	active := func(stmt string) string {
		q, err := clickhouse.Bind(stmt, websiteID, now.Add(-5*time.Minute), now)
		if err != nil {
			panic(err) // a string and two times: always bound
		}
		return q
	}
	group := func(col string) ([]Count, error) {
		out, err := clickhouse.Select[Count](ctx, ch, `SELECT `+col+` AS key, toInt64(uniqExact(visitor)) AS visitors FROM sessions FINAL`+
			active(` WHERE website = ? AND lastActivity >= ? AND startedAt <= ?`)+` GROUP BY key ORDER BY visitors DESC, key LIMIT 20`)
		if out == nil {
			out = []Count{}
		}
		return out, err
	}
	if s.Pages, err = group("exitPath"); err != nil {
		return s, err
	}
	if s.Referrers, err = group("referrer"); err != nil {
		return s, err
	}
	// each visitor's latest session, as SQLite's bare columns of MAX()
	rows, err := clickhouse.Select[struct {
		V, P, R string
		L       int64
	}](ctx, ch, `SELECT visitor AS V, argMax(exitPath, lastActivity) AS P, argMax(referrer, lastActivity) AS R,
		max(lastActivity) AS L FROM sessions FINAL`+active(` WHERE website = ? AND lastActivity >= ? AND startedAt <= ?`)+
		` GROUP BY visitor ORDER BY L DESC LIMIT ?`, snapshotVisitors)
	s.Visitors = make([]Visitor, 0, len(rows))
	for _, r := range rows {
		s.Visitors = append(s.Visitors, Visitor{Visitor: ShortHash(r.V), Path: r.P, Referrer: r.R, LastActivity: time.UnixMilli(r.L).UTC()})
	}
	if err != nil {
		return s, err
	}
	s.Recent, err = chRecent(ctx, ch, websiteID, now)
	return s, err
}

// chRecent is recent from ClickHouse: the events, then their sessions'
// details by id (a join would read every session of the website).
func chRecent(ctx context.Context, ch *clickhouse.Client, websiteID string, now time.Time) ([]Event, error) {
	rows, err := clickhouse.Select[struct {
		Type, Path, EventName, Session string
		T                              int64
	}](ctx, ch, `SELECT timestamp AS T, type AS Type, path AS Path, eventName AS EventName, session AS Session FROM events
		WHERE website = ? AND timestamp <= ? ORDER BY timestamp DESC LIMIT ?`, websiteID, now, SnapshotRecent)
	if err != nil {
		return []Event{}, err
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.Session != "" {
			ids = append(ids, r.Session)
		}
	}
	info, err := chSessionDetails(ctx, ch, []string{websiteID}, ids)
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		si := info[r.Session]
		out = append(out, Event{Time: time.UnixMilli(r.T).UTC(), Type: r.Type, Path: r.Path, EventName: r.EventName, Country: si.Country,
			Device: si.Device, Browser: si.Browser, Referrer: si.Referrer, Visitor: ShortHash(si.Visitor), Session: r.Session})
	}
	return out, err
}
