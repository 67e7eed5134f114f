package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
)

// The reports besides Query and Goals from ClickHouse (issue 31, part
// 2): funnels, breakdown pages, the sessions list, event properties and
// revenue, each the twin of its SQLite statement (see clickhouse.go).

// chFunnelKey orders a session's events as funnel's timestamp || id: the
// millisecond times of this era all have 13 digits, so their text sorts
// as the times do, and ties fall to the id as in SQLite.
const chFunnelKey = "concat(toString(timestamp), id)"

// chFunnelReached is funnel's step counting from ClickHouse. 18.16 has
// no common table expressions, so the steps nest: level i holds each
// session that reached step 0 with its keys k0..ki, ki the first key
// matching step i after k(i-1) (” when not reached), joined LEFT with
// step i's matching events; the outer statement counts each level's
// non-empty keys. Each step reads its own matching events once, as in
// SQLite.
func (q *querier) chFunnelReached(p Period, conds []string) ([]int, error) {
	window := chBind(" WHERE website = ? AND timestamp >= ? AND timestamp < ?", q.site, p.From, p.To)
	level := `SELECT session, min(` + chFunnelKey + `) AS k0 FROM events` + window + ` AND (` + conds[0] + `)
		AND session IN (SELECT id FROM sessions FINAL` + q.chSessionsWhere(p) + `) GROUP BY session`
	keys := []string{"k0"}
	counts := []string{"toUInt64(count())"}
	for i := 1; i < len(conds); i++ {
		prev := keys[i-1]
		ki := fmt.Sprintf("k%d", i)
		level = `SELECT session, ` + strings.Join(keys, ", ") + `, minIf(k, ` + prev + ` != '' AND k > ` + prev + `) AS ` + ki +
			` FROM (` + level + `) ALL LEFT JOIN (SELECT session, ` + chFunnelKey + ` AS k FROM events` + window +
			` AND (` + conds[i] + `)) USING session GROUP BY session, ` + strings.Join(keys, ", ")
		keys = append(keys, ki)
		counts = append(counts, "toUInt64(countIf("+ki+" != ''))")
	}
	rows, err := chSelect[struct{ R []int }](q, "funnel", `SELECT [`+strings.Join(counts, ", ")+`] AS R FROM (`+level+`)`)
	if err != nil {
		return nil, err
	}
	if len(rows) != 1 || len(rows[0].R) != len(conds) {
		return nil, fmt.Errorf("stats: funnel: %d rows", len(rows))
	}
	return rows[0].R, nil
}

// chSessionCount counts the sessions that count in p.
func (q *querier) chSessionCount(p Period) (int, error) {
	rows, err := chSelect[struct{ N int }](q, "sessions", `SELECT count() AS N FROM sessions FINAL`+q.chSessionsWhere(p))
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return rows[0].N, nil
}

// chRawDim is rawDim's read from ClickHouse: dim's stored keys over p
// with their counts, before rawDim keys them as raw does.
func (q *querier) chRawDim(p Period, dim string) ([]dimRow, error) {
	var stmt string
	switch dim {
	case "page":
		stmt = `SELECT path AS K, count() AS N FROM events` + q.chEventsWhere(p, false) + ` AND type = 'pageView' GROUP BY K`
	case "customEvent":
		stmt = `SELECT eventName AS K, count() AS N FROM events` + q.chEventsWhere(p, false) + ` AND type = 'custom' GROUP BY K`
	default:
		expr := chSessionExpr(dim)
		if expr == "" {
			return nil, fmt.Errorf("%w: no breakdown of %q", ErrBadBreakdown, dim)
		}
		stmt = `SELECT ` + expr + ` AS K, count() AS N FROM sessions FINAL` + q.chSessionsWhere(p) + ` GROUP BY K`
	}
	rows, err := chSelect[struct {
		K string
		N int
	}](q, "breakdown", stmt)
	out := make([]dimRow, len(rows))
	for i, r := range rows {
		out[i] = dimRow{Key: r.K, Count: r.N}
	}
	return out, err
}

// chSessionRows is Sessions' page from ClickHouse: the page of sessions
// is chosen there, and its visitors, which stay in PocketBase, are read
// by id after (the join the SQLite statement makes).
func (q *querier) chSessionRows(p Period, limit, offset int) ([]SessionRow, error) {
	rows, err := chSelect[chSession](q, "sessions", `SELECT `+chSessionColumns+` FROM sessions FINAL`+q.chSessionsWhere(p)+
		chBind(` ORDER BY startedAt DESC, id LIMIT ?, ?`, offset, limit))
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.Visitor
	}
	visitors, err := chVisitors(q.ctx, q.db, ids)
	if err != nil {
		return nil, err
	}
	out := make([]SessionRow, len(rows))
	for i, r := range rows {
		out[i] = r.row(visitors[r.Visitor])
	}
	return out, nil
}

// chSession is a session of ClickHouse as chSessionColumns read it.
type chSession struct {
	ID, EntryPath, ExitPath, Referrer, Source, Channel, Country, Device, Browser, OS, Visitor string
	StartedAt, LastActivity                                                                   int64
	EventCount, IsNew, IsEngaged                                                              int
}

// chSessionColumns select a chSession from the sessions table.
const chSessionColumns = `id AS ID, startedAt AS StartedAt, lastActivity AS LastActivity, eventCount AS EventCount,
	entryPath AS EntryPath, exitPath AS ExitPath, referrer AS Referrer, source AS Source, channel AS Channel,
	country AS Country, device AS Device, browser AS Browser, os AS OS, isNewVisitor AS IsNew, isEngaged AS IsEngaged,
	visitor AS Visitor`

// row is r as the sessions list shows it, with its visitor v.
func (r chSession) row(v chVisitor) SessionRow {
	return SessionRow{ID: r.ID, StartedAt: chDateTime(r.StartedAt), LastActivity: chDateTime(r.LastActivity),
		EventCount: r.EventCount, EntryPath: r.EntryPath, ExitPath: r.ExitPath, Referrer: r.Referrer, Source: r.Source,
		Channel: r.Channel, Country: r.Country, Device: r.Device, Browser: r.Browser, OS: r.OS,
		IsNew: r.IsNew != 0, IsEngaged: r.IsEngaged != 0, UserID: v.User, UserName: v.Name, UserEmail: v.Email}
}

// chVisitor is what a session's page shows of its visitor.
type chVisitor struct {
	ID    string `db:"id"`
	User  string `db:"userId"`
	Name  string `db:"name"`
	Email string `db:"email"`
	Phone string `db:"phone"`
}

// chVisitors reads the visitors of ClickHouse's sessions from
// PocketBase, where they stay, by record id; an id without a record is
// missing (the zero chVisitor, as SQLite's LEFT JOIN).
func chVisitors(ctx context.Context, db dbx.Builder, ids []string) (map[string]chVisitor, error) {
	var visitors []chVisitor
	err := db.NewQuery(`SELECT id, COALESCE(userId, '') AS userId, COALESCE(name, '') AS name, COALESCE(email, '') AS email,
		COALESCE(phone, '') AS phone FROM visitors WHERE id IN (SELECT value FROM json_each({:ids}))`).
		Bind(dbx.Params{"ids": jsonList(ids)}).WithContext(ctx).All(&visitors)
	if err != nil {
		return nil, fmt.Errorf("stats: session visitors: %w", err)
	}
	out := make(map[string]chVisitor, len(visitors))
	for _, v := range visitors {
		out[v.ID] = v
	}
	return out, nil
}

// chDateTime is a millisecond time of ClickHouse as PocketBase's date.
func chDateTime(ms int64) types.DateTime {
	d, _ := types.ParseDateTime(time.UnixMilli(ms).UTC())
	return d
}
