package stats

import (
	"context"
	"database/sql"
	"errors"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

// ErrSessionNotFound is returned for a session id that is unknown or
// belongs to another website.
var ErrSessionNotFound = errors.New("stats: session not found")

// SessionRow is one session as the sessions list shows it, with the
// identified user of its visitor ("" when not identified).
type SessionRow struct {
	ID           string         `db:"id"`
	StartedAt    types.DateTime `db:"startedAt"`
	LastActivity types.DateTime `db:"lastActivity"`
	EventCount   int            `db:"eventCount"`
	EntryPath    string         `db:"entryPath"`
	ExitPath     string         `db:"exitPath"`
	Referrer     string         `db:"referrer"`
	Source       string         `db:"source"`
	Channel      string         `db:"channel"`
	Country      string         `db:"country"`
	Device       string         `db:"device"`
	Browser      string         `db:"browser"`
	OS           string         `db:"os"`
	IsNew        bool           `db:"isNewVisitor"`
	IsEngaged    bool           `db:"isEngaged"`
	UserID       string         `db:"userId"`
	UserName     string         `db:"userName"`
	UserEmail    string         `db:"userEmail"`
}

// sessionColumns select a SessionRow from sessions s joined with visitors v.
const sessionColumns = `s.id, s.startedAt, s.lastActivity, s.eventCount, s.entryPath, s.exitPath,
	s.referrer, COALESCE(s.source, '') AS source, COALESCE(s.channel, '') AS channel, s.country, s.device, s.browser, s.os, s.isNewVisitor, s.isEngaged,
	COALESCE(v.userId, '') AS userId, COALESCE(v.name, '') AS userName, COALESCE(v.email, '') AS userEmail`

// Sessions lists the website's sessions started in req.Period that the
// report of req counts as visitors (the same session and event filters),
// newest first, skipping offset and returning at most limit.
func Sessions(ctx context.Context, app core.App, websiteID string, req Request, limit, offset int) ([]SessionRow, error) {
	ctx, cancel := req.withBudget(ctx)
	defer cancel()
	q, err := newQuerierOn(ctx, app, req.ClickHouse, websiteID, req.Period, req.Filters)
	if err != nil {
		return nil, err
	}
	if q.ch != nil {
		rows, err := q.chSessionRows(req.Period, limit, offset)
		return rows, overBudget(ctx, err)
	}
	// the page of sessions is chosen first, through the (website,
	// startedAt) index, and only its rows are joined with their visitors
	var rows []SessionRow
	err = q.db.NewQuery(`SELECT ` + sessionColumns + `
		FROM (SELECT s.*` + q.sessionsFrom() + ` ORDER BY s.startedAt DESC, s.id LIMIT {:limit} OFFSET {:offset}) s
		LEFT JOIN visitors v ON v.id = s.visitor
		ORDER BY s.startedAt DESC, s.id`).
		Bind(q.params(req.Period, dbx.Params{"limit": limit, "offset": offset})).
		WithContext(ctx).All(&rows)
	return rows, overBudget(ctx, err)
}

// Session is one session with everything its page shows.
type Session struct {
	SessionRow
	State        string `db:"state"`
	Language     string `db:"language"`
	ScreenWidth  string `db:"screenWidth"`
	ScreenHeight string `db:"screenHeight"`
	UserPhone    string `db:"userPhone"`
	// EngagedMs is the engaged time of its page views (engagement beacons).
	EngagedMs int `db:"engagedMs"`
}

// SessionByID reads one session of the website; ErrSessionNotFound when
// there is no such session or it belongs to another website (so that a
// site's owner cannot read another site's sessions by id).
func SessionByID(ctx context.Context, db dbx.Builder, websiteID, sessionID string) (*Session, error) {
	var s Session
	err := db.NewQuery(`SELECT ` + sessionColumns + `, s.state, s.language, s.screenWidth, s.screenHeight,
			COALESCE(v.phone, '') AS userPhone, COALESCE(s.engagedMs, 0) AS engagedMs
		FROM sessions s LEFT JOIN visitors v ON v.id = s.visitor
		WHERE s.id = {:id} AND s.website = {:w}`).
		Bind(dbx.Params{"id": sessionID, "w": websiteID}).WithContext(ctx).One(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrSessionNotFound
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// TimelineEvent is one stored event of a session. EventData is the stored
// JSON payload, "" when the event had none.
type TimelineEvent struct {
	Time      types.DateTime `db:"timestamp"`
	Type      string         `db:"type"`
	Path      string         `db:"path"`
	EventName string         `db:"eventName"`
	EventData string         `db:"eventData"`
}

// SessionTimeline lists the events of a session in the order they
// happened, at most limit of them.
func SessionTimeline(ctx context.Context, db dbx.Builder, sessionID string, limit int) ([]TimelineEvent, error) {
	var events []TimelineEvent
	err := db.Select("timestamp", "type", "path", "eventName", "COALESCE(eventData, '') AS eventData").From(schema.Events).
		Where(dbx.HashExp{"session": sessionID}).OrderBy("timestamp", "id").Limit(int64(limit)).
		WithContext(ctx).All(&events)
	return events, err
}
