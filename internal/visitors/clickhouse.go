package visitors

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/clickhouse"
)

// The ClickHouse events store (issue 31): with a client set, the sessions,
// events and JS errors are read from ClickHouse (the tables of
// clickhouse.Schema as chstore writes them) while the visitors rows stay
// in PocketBase. Sessions are read FROM sessions FINAL (their latest
// version), every condition in WHERE; values are bound by
// clickhouse.Bind.
//
// The list's snapshot is the highest created time (ms) of the site's
// sessions there, where SQLite's is the highest rowid: created is the
// time chstore first wrote the session and no later version changes it,
// so the sessions of the first page keep being read and the ones shipped
// after it left out. (A session queued in the outbox before the snapshot
// and shipped after it is the one it cannot leave out: it may show on a
// later page only.)

// chBind is clickhouse.Bind for this file's statements, whose arguments
// are strings, times and integers: an error is a placeholder miscount, a
// bug.
func chBind(query string, args ...any) string {
	s, err := clickhouse.Bind(query, args...)
	if err != nil {
		panic(err)
	}
	return s
}

// msTime is a stored millisecond time as PocketBase writes dates; 0 (never
// set) is "".
func msTime(ms int64) string {
	if ms == 0 {
		return ""
	}
	return dbTime(time.UnixMilli(ms))
}

func msParse(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// chSnapshot is the highest created time of the site's sessions.
func chSnapshot(ctx context.Context, ch *clickhouse.Client, site string) (int64, error) {
	rows, err := clickhouse.Select[struct{ S int64 }](ctx, ch, `SELECT max(created) AS S FROM sessions WHERE website = ?`, site)
	if err != nil || len(rows) == 0 {
		return 0, wrap("visitors: snapshot", err)
	}
	return rows[0].S, nil
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// chWhere is the condition on the sessions of the cursor's period and
// snapshot.
func chWhere(site string, c cursor) string {
	return chBind(`website = ? AND startedAt >= ? AND startedAt < ? AND created <= ?`,
		site, time.Unix(0, c.From), time.Unix(0, c.To), c.Snapshot)
}

// chAggregate reads the per-visitor figures of the period from ClickHouse
// and returns the statement that gives them to List's SQLite query as its
// aggregate (the JSON list bound as {:agg}): the visitors rows, the
// filters and the keyset order stay the SQLite ones.
func chAggregate(ctx context.Context, ch *clickhouse.Client, site string, c cursor, params dbx.Params) (string, error) {
	rows, err := clickhouse.Select[struct {
		V    string
		N    int64
		F, L int64
	}](ctx, ch, `SELECT visitor AS V, count() AS N, min(startedAt) AS F, max(startedAt) AS L
		FROM sessions FINAL WHERE `+chWhere(site, c)+` GROUP BY visitor`)
	if err != nil {
		return "", fmt.Errorf("visitors: list: %w", err)
	}
	agg := make([][4]any, len(rows))
	for i, r := range rows {
		agg[i] = [4]any{r.V, r.N, msTime(r.F), msTime(r.L)}
	}
	b, _ := json.Marshal(agg)
	params["agg"] = string(b)
	return `SELECT value ->> 0 AS visitor, value ->> 1 AS n, value ->> 2 AS first, value ->> 3 AS last
		FROM json_each({:agg})`, nil
}

// chLatestSessions is latestSessions from ClickHouse.
func chLatestSessions(ctx context.Context, ch *clickhouse.Client, site string, c cursor, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	ids, at := rowIDs(rows)
	latest, err := clickhouse.Select[struct{ V, C, D string }](ctx, ch, `SELECT visitor AS V, country AS C, device AS D
		FROM sessions FINAL WHERE `+chWhere(site, c)+` AND visitor IN `+clickhouse.List(ids)+`
		ORDER BY visitor, startedAt DESC, id DESC LIMIT 1 BY visitor`)
	if err != nil {
		return fmt.Errorf("visitors: latest sessions: %w", err)
	}
	for _, l := range latest {
		if i, ok := at[l.V]; ok {
			rows[i].Country, rows[i].Device = l.C, l.D
		}
	}
	return nil
}

// chDuration is durationExpr over millisecond times: whole seconds,
// half up, never negative.
const chDuration = `if(lastActivity > startedAt, intDiv(lastActivity - startedAt + 500, 1000), 0)`

// chUserSessions is userSessions from ClickHouse.
func chUserSessions(ctx context.Context, ch *clickhouse.Client, site string, ids []string, u *UserView) error {
	mine := chBind(`website = ?`, site) + ` AND visitor IN ` + clickhouse.List(ids)
	tot, err := clickhouse.Select[struct{ N, E, C, D, F, L int64 }](ctx, ch, `SELECT count() AS N, sum(isEngaged) AS E,
			sum(eventCount) AS C, sum(`+chDuration+`) AS D, min(startedAt) AS F, max(lastActivity) AS L
		FROM sessions FINAL WHERE `+mine)
	if err != nil || len(tot) == 0 {
		return wrap("visitors: user totals", err)
	}
	t := tot[0]
	u.Totals.Sessions, u.Totals.EngagedSessions, u.Totals.Events, u.Totals.DurationSeconds = int(t.N), int(t.E), int(t.C), t.D
	if t.N > 0 {
		u.Totals.FirstSeen, u.Totals.LastSeen = msParse(t.F), msParse(t.L)
	}
	rows, err := clickhouse.Select[struct {
		ID, Visitor, Device, Browser, OS, Country, EntryPath, ExitPath string
		StartedAt, LastActivity, Duration                              int64
		EventCount, IsEngaged                                          int
	}](ctx, ch, `SELECT id AS ID, visitor AS Visitor, startedAt AS StartedAt, lastActivity AS LastActivity,
			`+chDuration+` AS Duration, device AS Device, browser AS Browser, os AS OS, country AS Country,
			entryPath AS EntryPath, exitPath AS ExitPath, eventCount AS EventCount, isEngaged AS IsEngaged
		FROM sessions FINAL WHERE `+mine+` ORDER BY startedAt DESC, id DESC LIMIT ?`, MaxUserSessions)
	if err != nil {
		return fmt.Errorf("visitors: user sessions: %w", err)
	}
	for _, r := range rows {
		u.Sessions = append(u.Sessions, Session{ID: r.ID, Visitor: r.Visitor, StartedAt: msParse(r.StartedAt),
			LastActivity: msParse(r.LastActivity), DurationSeconds: r.Duration, Device: r.Device, Browser: r.Browser,
			OS: r.OS, Country: r.Country, EntryPath: r.EntryPath, ExitPath: r.ExitPath, EventCount: r.EventCount,
			Engaged: r.IsEngaged != 0})
	}
	return nil
}

// chTimeColumns are the millisecond times of the exported tables, written
// as PocketBase writes dates.
var chTimeColumns = map[string]bool{"timestamp": true, "startedAt": true, "lastActivity": true, "lastSeen": true,
	"created": true, "updated": true}

// chExportRow turns a ClickHouse row into the SQLite row of the same
// record: times as PocketBase's date text, numbers as integers, JSON text
// embedded as JSON (none: null); the store's own columns (a session's version, the
// outbox batch) are left out.
func chExportRow(raw map[string]any) map[string]any {
	row := make(map[string]any, len(raw))
	for k, v := range raw {
		switch k {
		case "version", "batch":
			continue
		}
		if n, ok := v.(json.Number); ok {
			i, err := n.Int64()
			switch {
			case chTimeColumns[k]:
				v = msTime(i)
			case err == nil:
				v = i
			default:
				v, _ = n.Float64()
			}
		}
		if s, ok := v.(string); ok && jsonColumns[k] {
			// "" is a JSON field never set: NULL in SQLite
			switch {
			case s == "":
				v = nil
			case json.Valid([]byte(s)):
				v = json.RawMessage(s)
			}
		}
		row[k] = v
	}
	return row
}

// chPage reads one page of rows from ClickHouse, then flushes; nil after
// an error (kept in e.err).
func (e *encoder) chPage(stmt string) []map[string]any {
	if e.err != nil {
		return nil
	}
	rows, err := clickhouse.Select[map[string]any](e.ctx, e.ch, stmt)
	if err != nil {
		e.err = fmt.Errorf("visitors: export: %w", err)
		return nil
	}
	return rows
}

func (e *encoder) flushPage() {
	if e.err == nil && e.flush != nil {
		e.flush()
	}
}

// chSessions is sessions from ClickHouse: pages by seq.
func (e *encoder) chSessions(site, v string, each func(map[string]any)) {
	seq := int64(-1)
	for e.err == nil {
		page := e.chPage(chBind(`SELECT * FROM sessions FINAL WHERE website = ? AND visitor = ? AND seq > ?
			ORDER BY seq LIMIT ?`, site, v, seq, PageSize))
		for _, raw := range page {
			row := chExportRow(raw)
			seq, _ = row["seq"].(int64)
			each(row)
		}
		e.flushPage()
		if len(page) < PageSize {
			return
		}
	}
}

// chEvents writes the events of session (an exported sessions row) in
// (timestamp, id) pages, each page's engagement the latest of its
// engagement rows where it has some (as the SQLite row is updated).
func (e *encoder) chEvents(site string, session map[string]any) {
	id, _ := session["id"].(string)
	t, after := int64(-1), ""
	for e.err == nil {
		page := e.chPage(chBind(`SELECT * FROM events WHERE website = ? AND session = ?
				AND (timestamp > ? OR timestamp = ? AND id > ?)
			ORDER BY timestamp, id LIMIT ?`, site, id, t, t, after, PageSize))
		if len(page) == 0 {
			return
		}
		ids := make([]string, len(page))
		for i, raw := range page {
			ids[i], _ = raw["id"].(string)
		}
		eng := e.chPage(chBind(`SELECT event, engagedMs, scrollDepth FROM engagement FINAL WHERE website = ? AND session = ?`,
			site, id) + ` AND event IN ` + clickhouse.List(ids))
		byID := make(map[string]map[string]any, len(eng))
		for _, g := range eng {
			ev, _ := g["event"].(string)
			byID[ev] = g
		}
		for _, raw := range page {
			after, _ = raw["id"].(string)
			t, _ = raw["timestamp"].(json.Number).Int64()
			if g := byID[after]; g != nil {
				raw["engagedMs"], raw["scrollDepth"] = g["engagedMs"], g["scrollDepth"]
			}
			e.write(chExportRow(raw))
		}
		e.flushPage()
		if len(page) < PageSize {
			return
		}
	}
}

// chJSErrors writes the JS error groups last seen in the sessions of the
// visitors ids, in pages by id: a group's rows (one per write) summed into
// SQLite's one row, whose message, stack, url and session are the latest
// write's (a write without a session keeps the one before).
func (e *encoder) chJSErrors(site string, ids []string) {
	after := ""
	for e.err == nil {
		page := e.chPage(chBind(`SELECT i AS id, website, s AS session, errorHash, m AS errorMessage, st AS stackTrace,
				u AS url, c AS count, ls AS lastSeen, cr AS created, up AS updated
			FROM (SELECT any(id) AS i, website, errorHash, argMax(errorMessage, lastSeen) AS m, argMax(stackTrace, lastSeen) AS st,
					argMax(url, lastSeen) AS u, argMaxIf(session, lastSeen, session != '') AS s, sum(count) AS c,
					max(lastSeen) AS ls, min(created) AS cr, max(updated) AS up
				FROM js_errors WHERE website = ? GROUP BY website, errorHash)
			WHERE i > ? AND s IN (SELECT id FROM sessions FINAL WHERE website = ? AND visitor IN `+clickhouse.List(ids)+`)
			ORDER BY i LIMIT ?`, site, after, site, PageSize))
		for _, raw := range page {
			after, _ = raw["id"].(string)
			e.write(chExportRow(raw))
		}
		e.flushPage()
		if len(page) < PageSize {
			return
		}
	}
}
