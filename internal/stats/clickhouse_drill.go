package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/goal"
)

// The drill-downs from ClickHouse (issue 31, part 3): event properties,
// revenue, event payloads, JS error groups and one session's page, each
// the twin of its SQLite statement (see clickhouse.go).

// chProperties is properties' read from ClickHouse: the distinct
// payloads of the custom event name with their counts, which SQLite's
// json_each then splits into keys and values (18.16 has no function
// listing a JSON object's keys), so that values are printed as
// textValue prints them.
func (q *querier) chProperties(p Period, name string) ([]propertyRow, error) {
	payloads, err := chSelect[struct {
		D string
		N int
	}](q, "properties", `SELECT eventData AS D, count() AS N FROM events`+q.chEventsWhere(p, false)+
		chBind(` AND type = 'custom' AND eventName = ? AND eventData != '' GROUP BY D`, name))
	if err != nil || len(payloads) == 0 {
		return nil, err
	}
	var pairs [][2]any
	for _, r := range payloads {
		// json_type(eventData) = 'object' in SQLite: an object alone
		if d := strings.TrimSpace(r.D); strings.HasPrefix(d, "{") && json.Valid([]byte(d)) {
			pairs = append(pairs, [2]any{r.D, r.N})
		}
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	all, err := json.Marshal(pairs)
	if err != nil {
		return nil, err
	}
	var rows []propertyRow
	err = q.db.NewQuery(`SELECT j.key AS k, ` + textValue + ` AS v, SUM(x.n) AS n FROM (SELECT json_extract(d.value, '$[0]') AS d,
		json_extract(d.value, '$[1]') AS n FROM json_each({:all}) d) x, json_each(x.d) j GROUP BY k, v`).
		Bind(dbx.Params{"all": string(all)}).WithContext(q.ctx).All(&rows)
	return rows, err
}

// chRevenueColumns are revenueDims' expressions as the columns of
// chRevenueRows' join (the event's path, the session's others).
var chRevenueColumns = map[string]string{"e.path": "k", "s.referrer": "referrer", "s.source": "source", "s.channel": "channel"}

// chRevenueRows is revenueRows from ClickHouse: the events with revenue
// (one part per event goal by goal, each keyed by its goal) joined with
// their sessions, which give the visitor and the session dimensions.
func (q *querier) chRevenueRows(p Period, by, expr string) ([]revenueRow, error) {
	from := ` FROM events` + q.chEventsWhere(p, true) + ` AND revenueCurrency != ''`
	sel := `SELECT %s AS k, session, revenueCurrency AS c, revenueAmount AS a`
	var inner string
	if by == "goal" {
		span := Period{From: p.Previous.From, To: p.To}
		var parts []string
		for _, g := range q.goalSpecs {
			if g.Type != goal.Event {
				continue
			}
			cond, err := q.chGoalCond(g, span)
			if err != nil {
				return nil, err
			}
			parts = append(parts, fmt.Sprintf(sel, chBind("?", g.Name))+from+" AND "+cond)
		}
		if len(parts) == 0 {
			return nil, nil
		}
		inner = strings.Join(parts, " UNION ALL ")
	} else {
		inner = fmt.Sprintf(sel, "path") + from
	}
	key, ok := chRevenueColumns[expr]
	if by == "goal" || !ok {
		key = "k"
	}
	rows, err := chSelect[struct {
		K, C, V string
		Total   int64
		N       int
	}](q, "revenue", `SELECT `+key+` AS K, c AS C, visitor AS V, sum(a) AS Total, count() AS N FROM (`+inner+`)
		ALL INNER JOIN (SELECT id AS session, visitor, referrer, source, channel FROM sessions FINAL`+
		chBind(` WHERE website = ? AND id IN (SELECT session FROM events WHERE website = ? AND timestamp >= ? AND timestamp < ?
			AND revenueCurrency != '')`, q.site, q.site, p.From, p.To)+`) USING session GROUP BY K, C, V`)
	out := make([]revenueRow, len(rows))
	for i, r := range rows {
		out[i] = revenueRow{Key: r.K, Currency: r.C, Visitor: r.V, Total: r.Total, N: r.N}
	}
	return out, err
}

// EventPayloadsClickHouse is EventPayloads over the events of the
// ClickHouse events store.
func EventPayloadsClickHouse(ctx context.Context, ch *clickhouse.Client, websiteID, name string, p Period, limit int) ([]Payload, error) {
	rows, err := clickhouse.Select[Payload](ctx, ch, `SELECT eventData AS Data, toInt64(count()) AS Count FROM events
		WHERE website = ? AND timestamp >= ? AND timestamp < ? AND type = 'custom' AND eventName = ?
		GROUP BY eventData ORDER BY Count DESC, eventData LIMIT ?`, websiteID, p.From, p.To, name, limit)
	if rows == nil && err == nil {
		rows = []Payload{} // as EventPayloads: [] in JSON, not null
	}
	return rows, err
}

// JSErrorGroupsClickHouse is JSErrorGroups over the js_errors of the
// ClickHouse events store, whose rows are each write's occurrences of a
// group: they add up to the group's count, and its latest write gives
// its url and lastSeen, as the SQLite row keeps them.
func JSErrorGroupsClickHouse(ctx context.Context, ch *clickhouse.Client, websiteID, message string, limit int) ([]JSErrorGroup, error) {
	rows, err := clickhouse.Select[struct {
		Message, Stack, URL, Hash string
		Count                     int
		LastSeen                  int64
	}](ctx, ch, `SELECT any(errorMessage) AS Message, any(stackTrace) AS Stack, argMax(url, lastSeen) AS URL,
		toInt64(sum(count)) AS Count, max(lastSeen) AS LastSeen, errorHash AS Hash FROM js_errors
		WHERE website = ? AND errorMessage = ? GROUP BY errorHash ORDER BY LastSeen DESC LIMIT ?`, websiteID, message, limit)
	out := make([]JSErrorGroup, len(rows))
	for i, r := range rows {
		out[i] = JSErrorGroup{Message: r.Message, Stack: r.Stack, URL: r.URL, Count: r.Count, LastSeen: chDateTime(r.LastSeen), Hash: r.Hash}
	}
	return out, err
}

// SessionByIDClickHouse is SessionByID over the sessions of the
// ClickHouse events store (its latest version), with its visitor read
// from db (PocketBase, where visitors stay).
func SessionByIDClickHouse(ctx context.Context, ch *clickhouse.Client, db dbx.Builder, websiteID, sessionID string) (*Session, error) {
	rows, err := clickhouse.Select[struct {
		chSession
		State, Language, ScreenWidth, ScreenHeight string
		EngagedMs                                  int
	}](ctx, ch, `SELECT `+chSessionColumns+`, state AS State, language AS Language, screenWidth AS ScreenWidth,
		screenHeight AS ScreenHeight, engagedMs AS EngagedMs FROM sessions FINAL WHERE website = ? AND id = ?`, websiteID, sessionID)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrSessionNotFound
	}
	r := rows[0]
	visitors, err := chVisitors(ctx, db, []string{r.Visitor})
	if err != nil {
		return nil, err
	}
	v := visitors[r.Visitor]
	return &Session{SessionRow: r.row(v), State: r.State, Language: r.Language, ScreenWidth: r.ScreenWidth,
		ScreenHeight: r.ScreenHeight, UserPhone: v.Phone, EngagedMs: r.EngagedMs}, nil
}

// SessionTimelineClickHouse is SessionTimeline over the events of the
// ClickHouse events store. It takes the session's website (SessionByID's),
// which the events table is ordered by: without it every website's
// events would be read.
func SessionTimelineClickHouse(ctx context.Context, ch *clickhouse.Client, websiteID, sessionID string, limit int) ([]TimelineEvent, error) {
	rows, err := clickhouse.Select[struct {
		Type, Path, EventName, EventData string
		Time                             int64
	}](ctx, ch, `SELECT timestamp AS Time, type AS Type, path AS Path, eventName AS EventName, eventData AS EventData
		FROM events WHERE website = ? AND session = ? ORDER BY timestamp, id LIMIT ?`, websiteID, sessionID, limit)
	out := make([]TimelineEvent, len(rows))
	for i, r := range rows {
		out[i] = TimelineEvent{Time: chDateTime(r.Time), Type: r.Type, Path: r.Path, EventName: r.EventName, EventData: r.EventData}
	}
	return out, err
}
