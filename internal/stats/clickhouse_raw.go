package stats

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/goal"
	"golang.org/x/sync/errgroup"
)

// The raw figures from ClickHouse: the twins of raw.go's, stream.go's,
// engagement.go's and goals.go's statements (see clickhouse.go).

// chStep is one quarter hour's figures; Q counts quarter hours since the
// Unix epoch.
type chStep struct {
	Q                                  int64
	N, New, Engaged, Bounces, Duration int
}

// chSessionSeconds is sessionSeconds over the sessions table's
// millisecond times.
const chSessionSeconds = `intDiv(greatest(0, lastActivity - startedAt + 500), 1000)`

// chPageViewSteps counts the selected page views of p by quarter hour.
func (q *querier) chPageViewSteps(p Period) ([]chStep, error) {
	return chSelect[chStep](q, "page views", `SELECT intDiv(timestamp, `+fmt.Sprint(quarterMs)+`) AS Q, count() AS N FROM events`+
		q.chEventsWhere(p, false)+` AND type = 'pageView' GROUP BY Q`)
}

// chSessionSteps counts the sessions that count in p by the quarter hour
// of their start.
func (q *querier) chSessionSteps(p Period) ([]chStep, error) {
	return chSelect[chStep](q, "sessions", `SELECT intDiv(startedAt, `+fmt.Sprint(quarterMs)+`) AS Q, count() AS N,
		sum(isNewVisitor) AS New, sum(isEngaged) AS Engaged, sum(eventCount <= 1) AS Bounces, sum(`+chSessionSeconds+`) AS Duration
		FROM sessions FINAL`+q.chSessionsWhere(p)+` GROUP BY Q`)
}

// addPageViews counts page view steps into tot and the series.
func addPageViews(steps []chStep, bucket func(time.Time) *Point, tot *totals) {
	for _, s := range steps {
		tot.pageViews += float64(s.N)
		if pt := bucket(quarterTime(s.Q)); pt != nil {
			pt.PageViews += s.N
		}
	}
}

// addSessions counts session steps into tot and the series.
func addSessions(steps []chStep, bucket func(time.Time) *Point, tot *totals) {
	for _, s := range steps {
		tot.addSessions(s.N, s.New, s.Engaged, s.Bounces, s.Duration)
		if pt := bucket(quarterTime(s.Q)); pt != nil {
			pt.addSessions(s.N, s.Bounces, s.Duration)
		}
	}
}

// chSeries is rawSeries from ClickHouse.
func (q *querier) chSeries(w Period, bounds []time.Time) ([]Point, totals, error) {
	out, bucket := newSeries(bounds, w.Location())
	var (
		tot      totals
		pv, sess []chStep
		g        errgroup.Group
	)
	g.Go(func() (err error) { pv, err = q.chPageViewSteps(w); return err })
	g.Go(func() (err error) { sess, err = q.chSessionSteps(w); return err })
	if err := g.Wait(); err != nil {
		return nil, tot, err
	}
	addPageViews(pv, bucket, &tot)
	addSessions(sess, bucket, &tot)
	return out, tot, nil
}

// chEvents is rawEvents (and streamEvents) from ClickHouse: the page
// views per quarter hour and the top n pages and custom events (every
// key when n <= 0), ranked per type.
func (q *querier) chEvents(p Period, n int) func(dbx.Params, func(time.Time) *Point, *totals, map[string][]Item) error {
	return func(_ dbx.Params, bucket func(time.Time) *Point, tot *totals, out map[string][]Item) error {
		limit := ""
		if n > 0 {
			limit = fmt.Sprintf(" ORDER BY N DESC, K LIMIT %d BY T", n)
		}
		var (
			g     errgroup.Group
			steps []chStep
			keys  []struct {
				T, K string
				N    int
			}
		)
		g.Go(func() (err error) { steps, err = q.chPageViewSteps(p); return err })
		g.Go(func() (err error) {
			keys, err = chSelect[struct {
				T, K string
				N    int
			}](q, "events", `SELECT type AS T, if(type = 'custom', eventName, path) AS K, count() AS N FROM events`+
				q.chEventsWhere(p, false)+` AND type IN ('pageView', 'custom') GROUP BY T, K`+limit)
			return err
		})
		if err := g.Wait(); err != nil {
			return err
		}
		addPageViews(steps, bucket, tot)
		for _, k := range keys {
			dim := "page"
			if k.T == "custom" {
				dim = "customEvent"
			}
			out[dim] = append(out[dim], Item{Key: k.K, Count: k.N})
		}
		sortItems(out["page"])
		sortItems(out["customEvent"])
		return nil
	}
}

// chSessionExprs read the session dimensions (sessionDims) from the
// sessions table.
var chSessionExprs = map[string]string{
	"entryPage": "entryPath", "exitPage": "exitPath", "referrer": "referrer", "referrerUrl": "referrer", "device": "device",
	"browser": "browser", "os": "os", "language": "language", "country": "country", "region": "state",
	"channel": "channel", "source": "source",
}

// chDimColumns are the columns chSessionExprs read (and utm).
const chDimColumns = "entryPath, exitPath, referrer, device, browser, os, language, country, state, channel, source, utm"

func chSessionExpr(dim string) string {
	if strings.HasPrefix(dim, "utm_") {
		return chBind("visitParamExtractString(utm, ?)", dim)
	}
	return chSessionExprs[dim]
}

// chSessions is rawSessions from ClickHouse: the sessions' figures per
// quarter hour, and the count of every value of each of sessionDims in
// one pass over the sessions, ARRAY JOIN making each session one row per
// dimension (a GROUP BY per dimension would read sessions FINAL again
// each time). A column two dimensions read is counted once.
func (q *querier) chSessions(p Period) func(dbx.Params, func(time.Time) *Point, *totals) ([]map[string]int, error) {
	return func(_ dbx.Params, bucket func(time.Time) *Point, tot *totals) ([]map[string]int, error) {
		var (
			pairs []string
			first = map[string]int{} // expression → its first dimension's index
			same  = make([]int, len(sessionDims))
		)
		for i, d := range sessionDims {
			e := chSessionExpr(d.dim)
			if j, ok := first[e]; ok {
				same[i] = j
				continue
			}
			first[e], same[i] = i, i
			pairs = append(pairs, fmt.Sprintf("(%d, %s)", i, e))
		}
		var (
			g     errgroup.Group
			steps []chStep
			rows  []struct {
				I int
				K string
				N int
			}
		)
		g.Go(func() (err error) { steps, err = q.chSessionSteps(p); return err })
		g.Go(func() (err error) {
			rows, err = chSelect[struct {
				I int
				K string
				N int
			}](q, "session dimensions", `SELECT d.1 AS I, d.2 AS K, count() AS N FROM (SELECT `+chDimColumns+` FROM sessions FINAL`+
				q.chSessionsWhere(p)+`) ARRAY JOIN [`+strings.Join(pairs, ", ")+`] AS d GROUP BY I, K`)
			return err
		})
		if err := g.Wait(); err != nil {
			return nil, err
		}
		addSessions(steps, bucket, tot)
		counts := make([]map[string]int, len(sessionDims))
		for i := range counts {
			if same[i] == i {
				counts[i] = map[string]int{}
			}
		}
		for _, r := range rows {
			counts[r.I][r.K] += r.N
		}
		for i := range counts {
			counts[i] = counts[same[i]]
		}
		return counts, nil
	}
}

// chPageEngagement is pageEngagement from ClickHouse. A page view's
// engagement is its engagement row's latest version when it has one
// (the beacons after it was written), else its events row's.
func (q *querier) chPageEngagement(p Period, pages []Item) ([]PageEngagement, error) {
	paths := make([]string, len(pages))
	for i, it := range pages {
		paths[i] = it.Key
	}
	rows, err := chSelect[struct {
		P       string
		T, D, N int
	}](q, "page engagement", `SELECT path AS P, intDiv(ms, 100) AS T, depth AS D, count() AS N FROM (
			SELECT path, if(found = 1, gMs, engagedMs) AS ms, if(found = 1, gDepth, scrollDepth) AS depth
			FROM (SELECT id AS event, path, engagedMs, scrollDepth FROM events`+q.chEventsWhere(p, false)+
		` AND type = 'pageView' AND `+chIn("path", paths)+`)
			ANY LEFT JOIN (SELECT event, engagedMs AS gMs, scrollDepth AS gDepth, 1 AS found FROM engagement FINAL`+
		chBind(` WHERE website = ? AND timestamp >= ? AND timestamp < ?`, q.site, p.From, p.To)+`) USING event)
		WHERE ms > 0 OR depth > 0 GROUP BY P, T, D`)
	if err != nil {
		return nil, err
	}
	byPath := make(map[string]*engagementCounts, len(pages))
	for _, it := range pages {
		byPath[it.Key] = newEngagementCounts()
	}
	for _, r := range rows {
		if c := byPath[r.P]; c != nil {
			c.tenths[r.T] += r.N
			c.scroll[min(max(r.D, 0), 100)] += r.N
		}
	}
	return engagementOf(pages, byPath), nil
}

// chAutoEvents is autoEvents' statement from ClickHouse. The value is
// read with visitParamExtractString: a string value, as the script sends.
func (q *querier) chAutoEvents(p Period) ([]autoEventRow, error) {
	return chSelect[autoEventRow](q, "automatic events", chBind(`SELECT eventName AS name,
			multiIf(eventName = ?, visitParamExtractString(eventData, 'form'), eventName = ?, '', visitParamExtractString(eventData, 'url')) AS value,
			path AS page, uniqExact(session) AS visitors, count() AS n FROM events`, EventForm, Event404)+
		q.chEventsWhere(p, true)+chBind(` AND type = 'custom' AND eventName IN (?, ?, ?, ?) GROUP BY name, value, page`,
		EventOutbound, EventDownload, Event404, EventForm))
}

// chGoalCounts is goalCounts from ClickHouse, every goal in one
// statement: each session's events of each goal in the window, then per
// goal the events of the sessions whose goal events count (their session
// matches the session filters and has an event the event filters
// select) and the sessions that count (sessionsFrom) with one.
func (q *querier) chGoalCounts(p Period, out []GoalResult) error {
	if len(q.goalSpecs) == 0 {
		return nil
	}
	span := Period{From: p.Previous.From, To: p.To}
	var conds, inner, outer []string
	for i, g := range q.goalSpecs {
		out[i].Name = g.Name
		var cond string
		if g.Type == goal.Page {
			paths, err := q.goalPaths(g, span)
			if err != nil {
				return err
			}
			cond = "type = 'pageView' AND " + chIn("path", paths)
		} else {
			var err error
			if cond, err = q.chGoalCond(g, span); err != nil {
				return err
			}
		}
		conds = append(conds, "("+cond+")")
		inner = append(inner, fmt.Sprintf("countIf(%s) AS n%d", cond, i))
		outer = append(outer, fmt.Sprintf("toUInt64(sumIf(n%[1]d, ev)), toUInt64(countIf(n%[1]d > 0 AND vis))", i))
	}
	ev := "1"
	if len(q.chc.sess) > 0 {
		ev = "session IN (" + chBind("SELECT id FROM sessions FINAL WHERE website = ?", q.site) + chAnd(q.chc.sess) + ")"
	}
	if len(q.chc.ev) > 0 {
		ev += " AND session IN (" + q.chSelected(p) + ")"
	}
	vis := "session IN (SELECT id FROM sessions FINAL" + q.chSessionsWhere(p) + ")"
	rows, err := chSelect[struct{ R []int }](q, "goals", `SELECT [`+strings.Join(outer, ", ")+`] AS R FROM (
			SELECT session, `+strings.Join(inner, ", ")+`, `+ev+` AS ev, `+vis+` AS vis FROM events`+
		chBind(` WHERE website = ? AND timestamp >= ? AND timestamp < ?`, q.site, p.From, p.To)+
		` AND (`+strings.Join(conds, " OR ")+`) GROUP BY session)`)
	if err != nil {
		return err
	}
	if len(rows) != 1 || len(rows[0].R) != 2*len(out) {
		return fmt.Errorf("stats: goals: %d rows", len(rows))
	}
	for i := range out {
		out[i].Events, out[i].Visitors = rows[0].R[2*i], rows[0].R[2*i+1]
	}
	return nil
}
