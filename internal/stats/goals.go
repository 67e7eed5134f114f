package stats

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/schema"
)

// ErrFunnelNotFound is returned for a funnel id that is unknown or belongs
// to another website.
var ErrFunnelNotFound = errors.New("stats: funnel not found")

// ErrBadFunnel is returned for a stored funnel whose steps are not valid
// (saved around the record hooks that check them).
var ErrBadFunnel = errors.New("stats: funnel steps are not valid")

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// GoalResult is one goal's conversions in the period.
type GoalResult struct {
	Name string `json:"name"`
	// Visitors counts the sessions that count in the period (started in
	// it, matching the filters) with at least one event of the goal.
	Visitors int `json:"visitors"`
	// Events counts the goal's events in the period whose session matches
	// the filters.
	Events int `json:"events"`
	// ConversionRate is Visitors / the period's visitors, in percent with
	// one decimal.
	ConversionRate float64 `json:"conversionRate"`
}

// goals computes every goal of the site for p; visitors is the period's
// visitor figure with the same filters. Event goals are counted one by
// one (through the event name index); page goals all together, in one
// pass over the page views of the paths they match (pageGoals).
func (q *querier) goals(p Period, visitors float64) ([]GoalResult, error) {
	out := make([]GoalResult, len(q.goalSpecs))
	count := q.goalCounts
	if q.ch != nil {
		count = q.chGoalCounts
	}
	if err := count(p, out); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].ConversionRate = pct(float64(out[i].Visitors), visitors)
	}
	return out, nil
}

// goalCounts counts every goal's events and visitors into out.
func (q *querier) goalCounts(p Period, out []GoalResult) error {
	var pages []int
	for i, g := range q.goalSpecs {
		out[i].Name = g.Name
		if g.Type == goal.Page {
			pages = append(pages, i)
			continue
		}
		if err := q.goal1(p, g, &out[i]); err != nil {
			return err
		}
	}
	for len(pages) > 0 {
		n := min(len(pages), maxGoalsPerPass)
		if err := q.pageGoals(p, pages[:n], out); err != nil {
			return err
		}
		pages = pages[n:]
	}
	return nil
}

// maxGoalsPerPass is how many page goals one pass counts: each is a bit
// of a 64-bit mask.
const maxGoalsPerPass = 62

// pageGoals counts the page goals q.goalSpecs[idx] into out: each
// distinct stored path of the period (and its previous one) is matched
// against the goals' patterns once, in Go, into a mask of the goals it
// belongs to; then one statement reads the page views of the matched
// paths once (by the (website, path, timestamp) index), sums each
// goal's events per session, and counts the events and the sessions
// that count as goals() defines them. Goals cost one pass together,
// rather than two statements each over every matched row.
func (q *querier) pageGoals(p Period, idx []int, out []GoalResult) error {
	span := Period{From: p.Previous.From, To: p.To}
	masks := map[string]int64{}
	var order []string
	for bit, i := range idx {
		paths, err := q.goalPaths(q.goalSpecs[i], span)
		if err != nil {
			return err
		}
		for _, path := range paths {
			if _, ok := masks[path]; !ok {
				order = append(order, path)
			}
			masks[path] |= 1 << bit
		}
	}
	if len(order) == 0 {
		return nil
	}
	pairs := make([][2]any, len(order))
	for i, path := range order {
		pairs[i] = [2]any{path, masks[path]}
	}
	gmap, err := json.Marshal(pairs)
	if err != nil {
		return err
	}
	inner, outer := make([]string, len(idx)), make([]string, 0, 2*len(idx))
	for bit := range idx {
		inner[bit] = fmt.Sprintf("SUM((m.mask & %d) != 0) AS n%d", int64(1)<<bit, bit)
		outer = append(outer, fmt.Sprintf("COALESCE(SUM(CASE WHEN ev THEN n%d END), 0)", bit),
			fmt.Sprintf("COALESCE(SUM(vis AND n%d > 0), 0)", bit))
	}
	// ev: the session's goal events count (its session matches the
	// session filters and has an event the event filters select); vis:
	// the session counts (started in the period, matching the filters)
	ev := "1"
	if len(q.c.sess) > 0 {
		ev = `EXISTS (SELECT 1 FROM sessions s WHERE s.id = per.session` + q.sessConds() + `)`
	}
	if len(q.c.ev) > 0 {
		ev += ` AND per.session IN (SELECT e2.session FROM events e2 WHERE e2.website = {:w} AND e2.timestamp >= {:from}
			AND e2.timestamp < {:to}` + q.evConds("e2") + `)`
	}
	vis := `EXISTS (SELECT 1` + q.sessionsFrom() + ` AND s.id = per.session)`
	// CROSS JOIN: the matched paths drive the index, not a scan of events
	stmt := `WITH m AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS path, json_extract(value, '$[1]') AS mask FROM json_each({:gmap})),
		per AS MATERIALIZED (SELECT e.session AS session, ` + strings.Join(inner, ", ") + ` FROM m CROSS JOIN events e
			WHERE e.website = {:w} AND e.path = m.path AND e.type = 'pageView' AND e.timestamp >= {:from} AND e.timestamp < {:to}
			GROUP BY e.session)
		SELECT ` + strings.Join(outer, ", ") + ` FROM (SELECT per.*, ` + ev + ` AS ev, ` + vis + ` AS vis FROM per)`
	dest := make([]any, 0, 2*len(idx))
	for _, i := range idx {
		dest = append(dest, &out[i].Events, &out[i].Visitors)
	}
	err = q.db.NewQuery(stmt).WithContext(q.ctx).Bind(q.params(p, dbx.Params{"gmap": string(gmap)})).Row(dest...)
	if err != nil {
		return fmt.Errorf("stats: page goals: %w", err)
	}
	return nil
}

// goalPaths lists the stored paths page goal g matches in span: its
// path, or the paths its pattern ("*", "/**") matches.
func (q *querier) goalPaths(g goal.Spec, span Period) ([]string, error) {
	body, subtree := strings.CutSuffix(g.Match, "/**")
	if !subtree && !strings.Contains(body, "*") {
		return []string{body}, nil
	}
	pat, err := goal.CompilePattern(g.Match)
	if err != nil {
		return nil, err
	}
	prefix, _, _ := strings.Cut(body, "*")
	return q.resolvePaths(span)(prefix, pat)
}

// goal1 counts event goal g into r.
func (q *querier) goal1(p Period, g goal.Spec, r *GoalResult) error {
	span := Period{From: p.Previous.From, To: p.To}
	cond, err := q.c.goalCond(g, q.resolvePaths(span))
	if err != nil {
		return err
	}
	err = q.db.NewQuery(`SELECT COUNT(*)` + q.sessionsFrom() + ` AND s.id IN (SELECT e3.session FROM events e3
		WHERE e3.website = {:w} AND e3.timestamp >= {:from} AND e3.timestamp < {:to} AND ` + cond("e3") + `)`).
		WithContext(q.ctx).Bind(q.params(p, nil)).Row(&r.Visitors)
	if err != nil {
		return fmt.Errorf("stats: goal %q: %w", g.Name, err)
	}
	join := ""
	if len(q.c.sess) > 0 {
		join = " JOIN sessions s ON s.id = e.session"
	}
	owner := ""
	if len(q.c.ev) > 0 {
		owner = ` AND e.session IN (SELECT e2.session FROM events e2 WHERE e2.website = {:w} AND e2.timestamp >= {:from}
			AND e2.timestamp < {:to}` + q.evConds("e2") + `)`
	}
	err = q.db.NewQuery(`SELECT COUNT(*) FROM events e` + join + ` WHERE e.website = {:w} AND e.timestamp >= {:from}
		AND e.timestamp < {:to} AND ` + cond("e") + q.sessConds() + owner).
		WithContext(q.ctx).Bind(q.params(p, nil)).Row(&r.Events)
	if err != nil {
		return fmt.Errorf("stats: goal %q events: %w", g.Name, err)
	}
	return nil
}

// FunnelStep is one step's figures.
type FunnelStep struct {
	Name string `json:"name"`
	// Visitors counts the sessions that reached this step after every
	// step before it, in order.
	Visitors int `json:"visitors"`
	// ConversionRate is Visitors / the first step's visitors, in percent.
	ConversionRate float64 `json:"conversionRate"`
	// DropOff is how many of the previous step's visitors did not reach
	// this one (0 for the first step); DropOffRate the same in percent of
	// the previous step's.
	DropOff     int     `json:"dropOff"`
	DropOffRate float64 `json:"dropOffRate"`
}

// FunnelReport is a funnel's figures in a period.
type FunnelReport struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Period  Period       `json:"period"`
	Filters []Filter     `json:"filters"`
	Steps   []FunnelStep `json:"steps"`
	// Sessions counts the sessions of the period (with the filters),
	// against which Visitors of the first step can be read.
	Sessions int `json:"sessions"`
}

// Funnel computes a funnel of the website: a session that counts in the
// period (started in it, matching the filters) reaches step n when its
// events in the period match steps 1..n in that order (one event per
// step, in time order).
func Funnel(ctx context.Context, app core.App, websiteID, funnelID string, req Request) (*FunnelReport, error) {
	ctx, cancel := req.withBudget(ctx)
	defer cancel()
	r, err := funnel(ctx, app, websiteID, funnelID, req)
	return r, overBudget(ctx, err)
}

func funnel(ctx context.Context, app core.App, websiteID, funnelID string, req Request) (*FunnelReport, error) {
	rec, err := findRecord(ctx, app, schema.Funnels, funnelID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && rec.GetString("website") != websiteID {
		return nil, ErrFunnelNotFound
	}
	if err != nil {
		return nil, err
	}
	steps, err := goal.ParseSteps([]byte(rec.GetString("steps")))
	if err != nil {
		return nil, fmt.Errorf("%w: funnel %s: %w", ErrBadFunnel, funnelID, err)
	}
	p := req.Period
	q, err := newQuerierOn(ctx, app, req.ClickHouse, websiteID, p, req.Filters)
	if err != nil {
		return nil, err
	}
	span := Period{From: p.Previous.From, To: p.To}
	rep := &FunnelReport{ID: rec.Id, Name: rec.GetString("name"), Period: p, Filters: append([]Filter{}, req.Filters...)}
	if q.useSummaries(p) {
		// unfiltered: the hourly summaries count the sessions (tens of
		// ms less than counting a month of session rows)
		t, err := q.totals(p)
		if err != nil {
			return nil, err
		}
		rep.Sessions = int(t.visitors)
	} else if q.ch != nil {
		if rep.Sessions, err = q.chSessionCount(p); err != nil {
			return nil, err
		}
	} else if err := q.db.NewQuery(`SELECT COUNT(*)` + q.sessionsFrom()).WithContext(ctx).Bind(q.params(p, nil)).Row(&rep.Sessions); err != nil {
		return nil, fmt.Errorf("stats: funnel sessions: %w", err)
	}
	if q.ch != nil {
		conds := make([]string, len(steps))
		for i, st := range steps {
			if conds[i], err = q.chGoalCond(st, span); err != nil {
				return nil, err
			}
		}
		reached, err := q.chFunnelReached(p, conds)
		if err != nil {
			return nil, err
		}
		return funnelSteps(rep, steps, reached), nil
	}
	// Step i is reached at the first event (in time order, ties by id:
	// the key timestamp || id) after step i-1's that matches it; the
	// sessions that count reach step 0 at their first match. Each step
	// reads its own matching events (through the page or event name
	// indexes) and keeps one key per session.
	var ctes, counts []string
	for i, st := range steps {
		cond, err := q.c.goalCond(st, q.resolvePaths(span))
		if err != nil {
			return nil, err
		}
		window := `e.website = {:w} AND e.timestamp >= {:from} AND e.timestamp < {:to} AND (` + cond("e") + `)`
		if i == 0 {
			// a session that counts: checked once per session that
			// matched (a lookup by id), not per event; without filters
			// it is one with an event in the period that did not start
			// before it (a session starts at its first event), and
			// those are the few still active at its start
			counts := `EXISTS (SELECT 1` + q.sessionsFrom() + ` AND s.id = g.session)`
			if !q.filtered() {
				counts = `g.session NOT IN (SELECT id FROM sessions WHERE website = {:w} AND lastActivity >= {:from} AND startedAt < {:from})`
			}
			ctes = append(ctes, `s0 AS MATERIALIZED (SELECT g.session AS session, g.k AS k FROM (SELECT e.session AS session,
				MIN(e.timestamp || e.id) AS k FROM events e WHERE `+window+` GROUP BY e.session) g
				WHERE `+counts+`)`)
		} else {
			ctes = append(ctes, fmt.Sprintf(`s%[1]d AS MATERIALIZED (SELECT e.session AS session, MIN(e.timestamp || e.id) AS k
				FROM events e JOIN s%[2]d prev ON prev.session = e.session WHERE %[3]s AND e.timestamp || e.id > prev.k GROUP BY e.session)`,
				i, i-1, window))
		}
		counts = append(counts, fmt.Sprintf("(SELECT COUNT(*) FROM s%d)", i))
	}
	reached := make([]int, len(steps))
	dest := make([]any, len(steps))
	for i := range reached {
		dest[i] = &reached[i]
	}
	err = q.db.NewQuery(`WITH ` + strings.Join(ctes, ", ") + ` SELECT ` + strings.Join(counts, ", ")).
		WithContext(ctx).Bind(q.params(p, nil)).Row(dest...)
	if err != nil {
		return nil, fmt.Errorf("stats: funnel: %w", err)
	}
	return funnelSteps(rep, steps, reached), nil
}

// funnelSteps fills rep's steps from how many sessions reached each.
func funnelSteps(rep *FunnelReport, steps []goal.Spec, reached []int) *FunnelReport {
	for i, st := range steps {
		fs := FunnelStep{Name: st.Name, Visitors: reached[i], ConversionRate: pct(float64(reached[i]), float64(reached[0]))}
		if i > 0 {
			fs.DropOff = reached[i-1] - reached[i]
			fs.DropOffRate = pct(float64(fs.DropOff), float64(reached[i-1]))
		}
		rep.Steps = append(rep.Steps, fs)
	}
	return rep
}

// PropertyValue is one value of a custom event property and how many of
// the events had it.
type PropertyValue struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// propertyRow is one property key and value of the properties breakdown
// with how many events had it.
type propertyRow struct {
	Key   string `db:"k"`
	Value string `db:"v"`
	N     int    `db:"n"`
}

// Properties breaks the custom event name of the period down by its
// properties: for each property key, its top values (at most req.Top,
// default 10) with how many events had them, honoring the filters.
// Values are compared as text (true, 12, "pro"; objects as JSON).
func Properties(ctx context.Context, app core.App, websiteID, name string, req Request) (map[string][]PropertyValue, error) {
	ctx, cancel := req.withBudget(ctx)
	defer cancel()
	r, err := properties(ctx, app, websiteID, name, req)
	return r, overBudget(ctx, err)
}

func properties(ctx context.Context, app core.App, websiteID, name string, req Request) (map[string][]PropertyValue, error) {
	p := req.Period
	if req.Top <= 0 {
		req.Top = 10
	}
	q, err := newQuerierOn(ctx, app, req.ClickHouse, websiteID, p, req.Filters)
	if err != nil {
		return nil, err
	}
	var rows []propertyRow
	if q.ch != nil {
		rows, err = q.chProperties(p, name)
	} else {
		err = q.db.NewQuery(`SELECT j.key AS k, ` + textValue + ` AS v, COUNT(*) AS n FROM (SELECT e.eventData AS d` + q.eventsFrom() +
			` AND e.type = 'custom' AND e.eventName = {:name} AND json_type(e.eventData) = 'object') x, json_each(x.d) j` +
			` GROUP BY k, v`).Bind(q.params(p, dbx.Params{"name": name})).WithContext(ctx).All(&rows)
	}
	if err != nil {
		return nil, fmt.Errorf("stats: properties: %w", err)
	}
	out := map[string][]PropertyValue{}
	for _, r := range rows {
		out[r.Key] = append(out[r.Key], PropertyValue{Value: r.Value, Count: r.N})
	}
	for k, vs := range out {
		sort.Slice(vs, func(i, j int) bool {
			if vs[i].Count != vs[j].Count {
				return vs[i].Count > vs[j].Count
			}
			return vs[i].Value < vs[j].Value
		})
		out[k] = vs[:min(len(vs), req.Top)]
	}
	return out, nil
}

// Goals computes the conversions of every goal of the website in req's
// period and filters, as Query's Goals, without the rest of the report
// (the goals page lists them).
func Goals(ctx context.Context, app core.App, websiteID string, req Request) ([]GoalResult, error) {
	ctx, cancel := req.withBudget(ctx)
	defer cancel()
	q, err := newQuerierOn(ctx, app, req.ClickHouse, websiteID, req.Period, req.Filters)
	if err != nil {
		return nil, overBudget(ctx, err)
	}
	tot, err := q.totals(req.Period)
	if err != nil {
		return nil, overBudget(ctx, err)
	}
	out, err := q.goals(req.Period, tot.visitors)
	return out, overBudget(ctx, err)
}
