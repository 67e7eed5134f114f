package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/goal"
)

// The ClickHouse events store (issue 31). With Request.ClickHouse set, a
// report reads its raw rows (events, sessions and the engagement of page
// views, the tables of clickhouse.Schema as chstore writes them) from
// ClickHouse instead of SQLite; the summaries, goals, visitors and
// imported days stay in PocketBase, where chstore leaves them. Each
// function here is the ClickHouse twin of a SQLite one and counts the
// same rows the same way: the reports are equal
// (TestClickHouseReportsEqualSQLite).
//
// ClickHouse 18.16 decides the shapes: sessions are read FROM sessions
// FINAL (their latest version) with every condition in WHERE, which
// applies after the versions collapse; values are bound on the client
// (clickhouse.Bind); there are no JSON functions over a whole object, so
// a goal's event property is matched by SQLite's own JSON functions over
// the distinct stored payloads, and the utm keys are read with
// visitParamExtractString (the writer stores a flat object of strings).

// chConds are the report's filters as ClickHouse conditions, values
// bound: over the sessions table's columns and over the events table's.
type chConds struct {
	sess, ev []string
}

// quarterMs is the step the raw figures are grouped by in SQL: every time
// zone's hours start on a quarter hour (quarterKey in SQLite).
const quarterMs = 15 * 60 * 1000

func quarterTime(q int64) time.Time { return time.UnixMilli(q * quarterMs).UTC() }

// chBind is clickhouse.Bind for this file's statements, whose arguments
// are strings, times and integers: Bind writes those always, so an error
// is a placeholder miscount, a bug.
func chBind(query string, args ...any) string {
	s, err := clickhouse.Bind(query, args...)
	if err != nil {
		panic(err)
	}
	return s
}

func chAnd(conds []string) string {
	var b strings.Builder
	for _, c := range conds {
		b.WriteString(" AND " + c)
	}
	return b.String()
}

// chIn is the condition that col is one of vals (false for none).
func chIn(col string, vals []string) string {
	if len(vals) == 0 {
		return "0"
	}
	return col + " IN " + clickhouse.List(vals)
}

// chSelect runs a statement on the report's ClickHouse.
func chSelect[T any](q *querier, what, stmt string) ([]T, error) {
	rows, err := clickhouse.Select[T](q.ctx, q.ch, stmt)
	if err != nil {
		return nil, fmt.Errorf("stats: %s: %w", what, err)
	}
	return rows, nil
}

// addCHFilter is addFilter for ClickHouse. The account filters select
// visitors, which stay in PocketBase: the matching visitors' record ids
// are listed there first (the statement addFilter nests) and the
// sessions compared with the list, as a join across the two databases
// cannot be written. Referrer keys and page patterns are resolved over
// span into stored values, as in SQLite.
func (q *querier) addCHFilter(f Filter, span Period) error {
	if err := f.check(); err != nil {
		return err
	}
	c := &q.chc
	vc := newConds()
	if neg, cond, ok := visitorFilter(vc, f); ok {
		var ids []string
		err := q.db.NewQuery(`SELECT v.id FROM visitors v WHERE v.website = {:w} AND ` + cond).
			Bind(q.params(span, vc.params)).WithContext(q.ctx).Column(&ids)
		if err != nil {
			return fmt.Errorf("stats: visitors: %w", err)
		}
		c.sess = append(c.sess, not(neg, chIn("visitor", ids)))
		return nil
	}
	switch {
	case f.Dim == "page":
		c.ev = append(c.ev, not(f.Not, chBind("path = ?", f.Value)))
	case f.Dim == "event":
		c.ev = append(c.ev, not(f.Not, chBind("type = 'custom' AND eventName = ?", f.Value)))
	case f.Dim == "goal":
		g, ok := q.goal(f.Value)
		if !ok {
			return fmt.Errorf("%w: no goal named %q", ErrBadFilter, f.Value)
		}
		cond, err := q.chGoalCond(g, span)
		if err != nil {
			return err
		}
		c.ev = append(c.ev, not(f.Not, cond))
	case f.Dim == "referrer":
		raws, err := q.resolveReferrers(span, f.Value)
		if err != nil {
			return err
		}
		c.sess = append(c.sess, not(f.Not, chIn("referrer", raws)))
	case strings.HasPrefix(f.Dim, "utm_"):
		c.sess = append(c.sess, not(f.Not, chBind("visitParamExtractString(utm, ?) = ?", f.Dim, f.Value)))
	default:
		col, ok := sessionColumn[f.Dim]
		if !ok {
			return fmt.Errorf("%w: unknown dimension %q", ErrBadFilter, f.Dim)
		}
		expr := col
		if col != "entryPath" && col != "exitPath" {
			expr = "if(" + col + " = '', 'Unknown', " + col + ")" // as breakdowns list it
		}
		c.sess = append(c.sess, not(f.Not, chBind(expr+" = ?", f.Value)))
	}
	return nil
}

// chGoalCond is goalCond for ClickHouse: the condition an events row
// meets when it counts for g. An event goal's property is matched by
// SQLite's JSON functions (goalCond's) over the distinct payloads of the
// goal's events in span, which the condition then lists.
func (q *querier) chGoalCond(g goal.Spec, span Period) (string, error) {
	if g.Type == goal.Event {
		cond := chBind("type = 'custom' AND eventName = ?", g.Match)
		if g.PropertyKey == "" {
			return cond, nil
		}
		data, err := q.chPropertyPayloads(g, span)
		return cond + " AND " + chIn("eventData", data), err
	}
	pat, err := goal.CompilePattern(g.Match)
	if err != nil {
		return "", err
	}
	body, subtree := strings.CutSuffix(g.Match, "/**")
	switch {
	case !strings.Contains(body, "*") && !subtree:
		return chBind("type = 'pageView' AND path = ?", body), nil
	case !strings.Contains(body, "*"):
		return chBind("type = 'pageView' AND (path = ? OR (path >= ? AND path < ?))", body, body+"/", body+"0"), nil
	}
	prefix, _, _ := strings.Cut(body, "*")
	paths, err := q.resolvePaths(span)(prefix, pat)
	return "type = 'pageView' AND " + chIn("path", paths), err
}

// chPropertyPayloads lists the stored payloads of event goal g's events
// in span that have its property with its value.
func (q *querier) chPropertyPayloads(g goal.Spec, span Period) ([]string, error) {
	rows, err := chSelect[struct{ D string }](q, "goal payloads", chBind(`SELECT DISTINCT eventData AS D FROM events
		WHERE website = ? AND timestamp >= ? AND timestamp < ? AND type = 'custom' AND eventName = ? AND eventData != ''`,
		q.site, span.From, span.To, g.Match))
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	all := make([]string, len(rows))
	for i, r := range rows {
		all[i] = r.D
	}
	var out []string
	err = q.db.NewQuery(`SELECT d.value FROM json_each({:all}) d WHERE json_valid(d.value)
		AND EXISTS (SELECT 1 FROM json_each(d.value) j WHERE j.key = {:k} AND ` + textValue + ` = {:v})`).
		Bind(dbx.Params{"all": jsonList(all), "k": g.PropertyKey, "v": g.PropertyValue}).WithContext(q.ctx).Column(&out)
	if err != nil {
		return nil, fmt.Errorf("stats: goal %q payloads: %w", g.Name, err)
	}
	return out, nil
}

// chStoredPaths is storedPaths' read: the distinct paths with prefix
// among the events of span.
func (q *querier) chStoredPaths(span Period, prefix string) ([]string, error) {
	rows, err := chSelect[struct{ P string }](q, "goal paths", chBind(`SELECT DISTINCT path AS P FROM events
		WHERE website = ? AND timestamp >= ? AND timestamp < ? AND substring(path, 1, ?) = ?`,
		q.site, span.From, span.To, len(prefix), prefix))
	paths := make([]string, len(rows))
	for i, r := range rows {
		paths[i] = r.P
	}
	return paths, err
}

// chReferrers is resolveReferrers' read: the stored referrers of the
// sessions active in span.
func (q *querier) chReferrers(span Period) ([]string, error) {
	rows, err := chSelect[struct{ R string }](q, "referrers", chBind(`SELECT DISTINCT referrer AS R FROM sessions FINAL
		WHERE website = ? AND lastActivity >= ? AND startedAt < ?`, q.site, span.From, span.To))
	refs := make([]string, len(rows))
	for i, r := range rows {
		refs[i] = r.R
	}
	return refs, err
}

// chEventsWhere is eventsFrom for ClickHouse: the events of the window
// that match the event filters and whose session matches the session
// filters. The sessions are an IN set of ids read FINAL, so that their
// conditions apply to each session's latest version. Like eventsFrom's
// sessions-first order (session filters alone), and unlike its
// events-first one, the set holds the sessions active in the window
// only when first is false and there are no event filters.
func (q *querier) chEventsWhere(p Period, first bool) string {
	w := chBind(" WHERE website = ? AND timestamp >= ? AND timestamp < ?", q.site, p.From, p.To) + chAnd(q.chc.ev)
	if len(q.chc.sess) == 0 {
		return w
	}
	s := chBind("SELECT id FROM sessions FINAL WHERE website = ?", q.site)
	if !first && len(q.chc.ev) == 0 {
		s += chBind(" AND lastActivity >= ? AND startedAt < ?", p.From, p.To)
	}
	return w + " AND session IN (" + s + chAnd(q.chc.sess) + ")"
}

// chSelected lists the sessions with an event of the window that the
// event filters select (hasEvent).
func (q *querier) chSelected(p Period) string {
	return chBind("SELECT session FROM events WHERE website = ? AND timestamp >= ? AND timestamp < ?", q.site, p.From, p.To) +
		chAnd(q.chc.ev)
}

// chSessionsWhere is sessionsFrom for ClickHouse, over sessions FINAL:
// the sessions started in the window that match the session filters
// and, with event filters, have a selected event in it.
func (q *querier) chSessionsWhere(p Period) string {
	w := chBind(" WHERE website = ? AND startedAt >= ? AND startedAt < ?", q.site, p.From, p.To) + chAnd(q.chc.sess)
	if len(q.chc.ev) > 0 {
		w += " AND id IN (" + q.chSelected(p) + ")"
	}
	return w
}

// ActiveUsersClickHouse is ActiveUsers over the sessions of the
// ClickHouse events store.
func ActiveUsersClickHouse(ctx context.Context, ch *clickhouse.Client, websiteID string, now time.Time) (int, error) {
	rows, err := clickhouse.Select[struct{ N int }](ctx, ch, `SELECT uniqExact(visitor) AS N FROM sessions FINAL
		WHERE website = ? AND lastActivity >= ? AND startedAt <= ?`, websiteID, now.Add(-activeWindow), now)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	return rows[0].N, nil
}
