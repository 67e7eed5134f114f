package stats

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/domain"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/schema"
)

// querier answers the queries of one report: the site, its goals and the
// report's filters turned into SQL conditions.
type querier struct {
	ctx  context.Context
	app  core.App
	db   dbx.Builder
	site string
	c    *conds
	// the goals of the site by name, for goal filters and conversions
	goalSpecs []goal.Spec
	// pathsBy caches the stored paths by prefix and span (resolvePaths):
	// the goals, goal filters and funnel steps of one report read each
	// prefix's paths once
	pathsBy map[string][]string
	// streamed holds what streamEvents counted for later parts of the
	// report (nil until it ran)
	streamed *streamed
	// ch, when set, holds the raw rows instead of SQLite, and chc the
	// filters' conditions for it (c stays empty)
	ch  *clickhouse.Client
	chc chConds
}

// newQuerierOn turns the filters into SQL conditions, for the raw rows
// of ch (nil: SQLite). Conditions that Go must decide (referrer hosts,
// page patterns with "*") are resolved into the stored values they match
// over the period and its previous one.
func newQuerierOn(ctx context.Context, app core.App, ch *clickhouse.Client, site string, p Period, filters []Filter) (*querier, error) {
	q := &querier{ctx: ctx, app: app, db: app.DB(), site: site, c: newConds(), ch: ch}
	span := Period{From: p.Previous.From, To: p.To}
	var recs []*core.Record
	err := app.RecordQuery(schema.Goals).WithContext(ctx).AndWhere(dbx.HashExp{"website": site}).All(&recs)
	if err != nil {
		return nil, fmt.Errorf("stats: goals: %w", err)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].GetString("name") < recs[j].GetString("name") })
	for _, r := range recs {
		// a goal saved around the record hooks (a plain PocketBase) that
		// is not valid is left out rather than failing the report
		if g := goal.FromRecord(r); g.Validate() == nil {
			q.goalSpecs = append(q.goalSpecs, g)
		}
	}
	add := q.addFilter
	if ch != nil {
		add = q.addCHFilter
	}
	for _, f := range filters {
		if err := add(f, span); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// addFilter adds f's condition: on the events (page, event, goal) or on
// the sessions. Goal patterns and referrer keys are resolved over span.
func (q *querier) addFilter(f Filter, span Period) error {
	if err := f.check(); err != nil {
		return err
	}
	c := q.c
	if neg, cond, ok := visitorFilter(c, f); ok {
		c.visitorCond(neg, cond)
		return nil
	}
	switch {
	case f.Dim == "page":
		v := c.param(f.Value)
		neg := f.Not
		c.ev = append(c.ev, func(a string) string { return not(neg, a+".path = "+v) })
	case f.Dim == "event":
		v := c.param(f.Value)
		neg := f.Not
		c.ev = append(c.ev, func(a string) string {
			return not(neg, fmt.Sprintf("%[1]s.type = 'custom' AND %[1]s.eventName = %[2]s", a, v))
		})
	case f.Dim == "goal":
		g, ok := q.goal(f.Value)
		if !ok {
			return fmt.Errorf("%w: no goal named %q", ErrBadFilter, f.Value)
		}
		cond, err := c.goalCond(g, q.resolvePaths(span))
		if err != nil {
			return err
		}
		neg := f.Not
		c.ev = append(c.ev, func(a string) string { return not(neg, cond(a)) })
	case f.Dim == "referrer":
		raws, err := q.resolveReferrers(span, f.Value)
		if err != nil {
			return err
		}
		c.sess = append(c.sess, not(f.Not, "s.referrer IN (SELECT value FROM json_each("+c.param(jsonList(raws))+"))"))
	case strings.HasPrefix(f.Dim, "utm_"):
		c.sess = append(c.sess, not(f.Not, fmt.Sprintf("COALESCE(json_extract(s.utm, '$.%s'), '') = %s", f.Dim, c.param(f.Value))))
	default:
		col, ok := sessionColumn[f.Dim]
		if !ok {
			return fmt.Errorf("%w: unknown dimension %q", ErrBadFilter, f.Dim)
		}
		expr := "s." + col + " = " + c.param(f.Value)
		if col != "entryPath" && col != "exitPath" {
			// breakdowns list sessions without a value as Unknown
			expr = "COALESCE(NULLIF(s." + col + ", ''), 'Unknown') = " + c.param(f.Value)
		}
		c.sess = append(c.sess, not(f.Not, expr))
	}
	return nil
}

// visitorFilter is the condition on the visitors (alias v, its values
// bound in c) that an account filter (user, identified, meta.<key>)
// selects, and whether the filter negates it; ok is false for another
// dimension.
func visitorFilter(c *conds, f Filter) (neg bool, cond string, ok bool) {
	switch {
	case f.Dim == "user":
		return f.Not, "v.userId = " + c.param(f.Value), true
	case f.Dim == "identified":
		// > '' rather than != '': a range of the (website, userId) index
		return f.Not == (f.Value == "yes"), "v.userId > ''", true
	case strings.HasPrefix(f.Dim, MetaPrefix):
		// the path is built from the checked key and bound, not written
		// into the statement; quoted, a '.' in the key is part of it
		path := c.param(`$."` + strings.TrimPrefix(f.Dim, MetaPrefix) + `"`)
		return f.Not, "v.userId > '' AND " + metaText("v.metadata", path) + " = " + c.param(f.Value), true
	}
	return false, "", false
}

func (q *querier) goal(name string) (goal.Spec, bool) {
	for _, g := range q.goalSpecs {
		if g.Name == name {
			return g, true
		}
	}
	return goal.Spec{}, false
}

func (q *querier) filtered() bool {
	return len(q.c.sess) > 0 || len(q.c.ev) > 0 || len(q.chc.sess) > 0 || len(q.chc.ev) > 0
}

// resolvePaths lists the page paths with prefix that pattern matches
// among the page views of span (through the (website, path, timestamp)
// index). The stored paths of a prefix are read once per report, and
// the pattern matched once per distinct path.
func (q *querier) resolvePaths(span Period) func(string, *goal.Pattern) ([]string, error) {
	return func(prefix string, pat *goal.Pattern) ([]string, error) {
		paths, err := q.storedPaths(span, prefix)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, p := range paths {
			if pat.Match(p) {
				out = append(out, p)
			}
		}
		return out, nil
	}
}

// storedPaths lists the distinct paths with prefix among the events of
// span, read once per report: from the list of a shorter prefix already
// read, or from the database.
func (q *querier) storedPaths(span Period, prefix string) ([]string, error) {
	key := func(p string) string { return ts(span.From) + ts(span.To) + p }
	if paths, ok := q.pathsBy[key(prefix)]; ok {
		return paths, nil
	}
	for i := len(prefix) - 1; i >= 0; i-- {
		if wider, ok := q.pathsBy[key(prefix[:i])]; ok {
			var paths []string
			for _, p := range wider {
				if strings.HasPrefix(p, prefix) {
					paths = append(paths, p)
				}
			}
			return paths, nil
		}
	}
	var paths []string
	var err error
	if q.ch != nil {
		paths, err = q.chStoredPaths(span, prefix)
	} else {
		err = q.db.NewQuery(`SELECT DISTINCT path FROM events WHERE website = {:w} AND path >= {:lo} AND path < {:hi}
		AND timestamp >= {:from} AND timestamp < {:to}`).
			Bind(dbx.Params{"w": q.site, "lo": prefix, "hi": upper(prefix), "from": ts(span.From), "to": ts(span.To)}).
			WithContext(q.ctx).Column(&paths)
	}
	if err != nil {
		return nil, fmt.Errorf("stats: goal paths: %w", err)
	}
	if q.pathsBy == nil {
		q.pathsBy = map[string][]string{}
	}
	q.pathsBy[key(prefix)] = paths
	return paths, nil
}

// resolveReferrers lists the stored referrers whose breakdown key is key
// among the sessions active in span.
func (q *querier) resolveReferrers(span Period, key string) ([]string, error) {
	var refs []string
	var err error
	if q.ch != nil {
		refs, err = q.chReferrers(span)
	} else {
		err = q.db.NewQuery(`SELECT DISTINCT referrer FROM sessions WHERE website = {:w} AND lastActivity >= {:from} AND startedAt < {:to}`).
			Bind(dbx.Params{"w": q.site, "from": ts(span.From), "to": ts(span.To)}).WithContext(q.ctx).Column(&refs)
	}
	if err != nil {
		return nil, fmt.Errorf("stats: referrers: %w", err)
	}
	out := refs[:0]
	for _, r := range refs {
		if domain.ReferrerKey(r) == key {
			out = append(out, r)
		}
	}
	return out, nil
}

// useSummaries reports whether the figures of p can be summed from the
// hourly summaries: no filter, not a "to the second" period, and every
// boundary on a whole UTC hour.
func (q *querier) useSummaries(p Period) bool {
	if q.filtered() || p.FromRaw {
		return false
	}
	return onUTCHours(p.Buckets()...) && onUTCHours(p.From, p.To)
}

// params returns the query's parameters: the filters', the site and the
// window.
func (q *querier) params(p Period, extra dbx.Params) dbx.Params {
	out := dbx.Params{"w": q.site, "from": ts(p.From), "to": ts(p.To)}
	for k, v := range q.c.params {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// evConds are the event filters for alias a, each preceded by AND.
func (q *querier) evConds(a string) string {
	var b strings.Builder
	for _, f := range q.c.ev {
		b.WriteString(" AND " + f(a))
	}
	return b.String()
}

func (q *querier) sessConds() string {
	var b strings.Builder
	for _, s := range q.c.sess {
		b.WriteString(" AND " + s)
	}
	return b.String()
}

// hasEvent is, when there are event filters, the condition that session s
// has at least one selected event in the window.
func (q *querier) hasEvent() string {
	if len(q.c.ev) == 0 {
		return ""
	}
	return ` AND s.id IN (SELECT e2.session FROM events e2 WHERE e2.website = {:w} AND e2.timestamp >= {:from}
		AND e2.timestamp < {:to}` + q.evConds("e2") + `)`
}

// sessionsFrom selects the sessions that count in the window: started in
// it, matching the session filters and, with event filters, having a
// selected event in it.
func (q *querier) sessionsFrom() string {
	return ` FROM sessions s WHERE s.website = {:w} AND s.startedAt >= {:from} AND s.startedAt < {:to}` + q.sessConds() + q.hasEvent()
}

// eventsFrom selects the events of the window that match the event
// filters and whose session matches the session filters. With session
// filters alone the sessions active in the window (a session's events
// lie between its startedAt and lastActivity) are read first and their
// events through the (session, timestamp) index: CROSS JOIN fixes that
// order and +e.website keeps SQLite off the events' website indexes.
// Scanning the window's events and looking up each one's session, the
// other order, costs a million lookups at 1 M events (issue 31). With
// event filters too, their indexes (path, eventName) narrow the events
// first and each of those looks its session up: 3× faster than reading
// every event of the matching sessions (page+country, BENCHMARKS.md).
func (q *querier) eventsFrom() string {
	if len(q.c.sess) == 0 || len(q.c.ev) > 0 {
		return q.eventsFirst()
	}
	return ` FROM sessions s CROSS JOIN events e ON e.session = s.id WHERE s.website = {:w} AND s.lastActivity >= {:from}
		AND s.startedAt < {:to}` + q.sessConds() + ` AND +e.website = {:w} AND e.timestamp >= {:from} AND e.timestamp < {:to}`
}

// eventsFirst is eventsFrom in the events-first order whatever the
// filters: for a statement whose own conditions select few events
// through an index of theirs (the automatic events by name), each of
// which then looks its session up.
func (q *querier) eventsFirst() string {
	if len(q.c.sess) == 0 {
		return ` FROM events e WHERE e.website = {:w} AND e.timestamp >= {:from} AND e.timestamp < {:to}` + q.evConds("e")
	}
	return ` FROM events e JOIN sessions s ON s.id = e.session WHERE e.website = {:w} AND e.timestamp >= {:from}
		AND e.timestamp < {:to}` + q.evConds("e") + q.sessConds()
}
