package visitors

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
)

// MaxUserSessions is how many sessions a UserView lists: the latest ones
// (the totals count them all, the export has them all).
const MaxUserSessions = 500

// UserView is everything one identified user did on a website, across
// every visitor id (device) identify() linked to the user id.
type UserView struct {
	UserID string `json:"userId"`
	// Name, Email, Phone and Metadata are of the most recently updated
	// visitors row: the latest identify() wins.
	Name     string     `json:"name"`
	Email    string     `json:"email"`
	Phone    string     `json:"phone"`
	Metadata []Property `json:"metadata"`
	// Visitors are the visitors record ids, oldest first.
	Visitors []string `json:"visitors"`
	// Sessions are the latest MaxUserSessions sessions, in time order.
	Sessions []Session `json:"sessions"`
	Totals   Totals    `json:"totals"`
}

// Property is one metadata key with its value: a string as is, anything
// else as JSON text.
type Property struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Session is one session of a user.
type Session struct {
	ID              string    `json:"id"`
	Visitor         string    `json:"visitor"` // the visitors record id (the device)
	StartedAt       time.Time `json:"startedAt"`
	LastActivity    time.Time `json:"lastActivity"`
	DurationSeconds int64     `json:"durationSeconds"`
	Device          string    `json:"device"`
	Browser         string    `json:"browser"`
	OS              string    `json:"os"`
	Country         string    `json:"country"`
	EntryPath       string    `json:"entryPath"`
	ExitPath        string    `json:"exitPath"`
	EventCount      int       `json:"eventCount"`
	Engaged         bool      `json:"engaged"`
}

// Totals sum every session of a user.
type Totals struct {
	Devices         int       `json:"devices"` // visitors rows
	Sessions        int       `json:"sessions"`
	EngagedSessions int       `json:"engagedSessions"`
	Events          int       `json:"events"` // page views and custom events (the sessions' counts)
	DurationSeconds int64     `json:"durationSeconds"`
	FirstSeen       time.Time `json:"firstSeen"` // zero without sessions
	LastSeen        time.Time `json:"lastSeen"`  // the latest activity
}

// durationExpr is a session's length in whole seconds, rounded as the
// stats round it (stats' sessionSeconds): the exact milliseconds, half a
// second up. Rounding the float seconds instead made 100.5 s 100 (the
// julianday difference is 100.4999…) where the stats and ClickHouse say
// 101.
const durationExpr = `COALESCE(MAX(0, CAST(ROUND((julianday(lastActivity) - julianday(startedAt)) * 86400000) AS INTEGER) + 500) / 1000, 0)`

// UserVisitors returns the visitors record ids of the website (record id
// site) identified as userID, oldest first; ErrNotFound when there are
// none.
func UserVisitors(ctx context.Context, app core.App, site, userID string) ([]string, error) {
	var ids []string
	if userID != "" {
		err := app.DB().NewQuery(`SELECT id FROM visitors WHERE website = {:w} AND userId = {:u} ORDER BY created, id`).
			Bind(dbx.Params{"w": site, "u": userID}).WithContext(ctx).Column(&ids)
		if err != nil {
			return nil, fmt.Errorf("visitors: user: %w", err)
		}
	}
	if len(ids) == 0 {
		return nil, ErrNotFound
	}
	return ids, nil
}

// User reads the user userID of the website (record id site);
// ErrNotFound when no visitor of the site was identified as userID.
func User(ctx context.Context, app core.App, site, userID string) (*UserView, error) {
	return UserClickHouse(ctx, app, nil, site, userID)
}

// UserClickHouse is User with the sessions read from the events store
// ch (the visitors rows stay in PocketBase); nil ch reads SQLite.
func UserClickHouse(ctx context.Context, app core.App, ch *clickhouse.Client, site, userID string) (*UserView, error) {
	ids, err := UserVisitors(ctx, app, site, userID)
	if err != nil {
		return nil, err
	}
	u := &UserView{UserID: userID, Visitors: ids}
	var meta string
	err = app.DB().NewQuery(`SELECT name, email, phone, COALESCE(metadata, '') FROM visitors
			WHERE website = {:w} AND userId = {:u} ORDER BY updated DESC, id DESC LIMIT 1`).
		Bind(dbx.Params{"w": site, "u": userID}).WithContext(ctx).Row(&u.Name, &u.Email, &u.Phone, &meta)
	if err != nil {
		return nil, fmt.Errorf("visitors: user: %w", err)
	}
	u.Metadata = properties(meta)
	u.Totals.Devices = len(ids)
	if ch != nil {
		err = chUserSessions(ctx, ch, site, ids, u)
	} else {
		err = userSessions(ctx, app, site, ids, u)
	}
	if err != nil {
		return nil, err
	}
	slices.Reverse(u.Sessions)
	return u, nil
}

// userSessions fills u's totals and latest sessions from SQLite.
func userSessions(ctx context.Context, app core.App, site string, ids []string, u *UserView) error {
	b, _ := json.Marshal(ids)
	p := dbx.Params{"w": site, "ids": string(b), "n": MaxUserSessions}
	const mine = `website = {:w} AND visitor IN (SELECT value FROM json_each({:ids}))`
	var first, last string
	err := app.DB().NewQuery(`SELECT COUNT(*), COALESCE(SUM(isEngaged), 0), COALESCE(SUM(eventCount), 0),
			COALESCE(SUM(`+durationExpr+`), 0), COALESCE(MIN(startedAt), ''), COALESCE(MAX(lastActivity), '')
		FROM sessions WHERE `+mine).Bind(p).WithContext(ctx).
		Row(&u.Totals.Sessions, &u.Totals.EngagedSessions, &u.Totals.Events, &u.Totals.DurationSeconds, &first, &last)
	if err != nil {
		return fmt.Errorf("visitors: user totals: %w", err)
	}
	u.Totals.FirstSeen, u.Totals.LastSeen = parseTime(first), parseTime(last)

	rows, err := app.DB().NewQuery(`SELECT id, visitor, startedAt, COALESCE(lastActivity, ''), ` + durationExpr + `,
			device, browser, os, country, entryPath, exitPath, eventCount, isEngaged
		FROM sessions WHERE ` + mine + ` ORDER BY startedAt DESC, id DESC LIMIT {:n}`).Bind(p).WithContext(ctx).Rows()
	if err != nil {
		return fmt.Errorf("visitors: user sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Session
		var started, lastAct string
		if err := rows.Scan(&s.ID, &s.Visitor, &started, &lastAct, &s.DurationSeconds, &s.Device, &s.Browser, &s.OS,
			&s.Country, &s.EntryPath, &s.ExitPath, &s.EventCount, &s.Engaged); err != nil {
			return fmt.Errorf("visitors: user sessions: %w", err)
		}
		s.StartedAt, s.LastActivity = parseTime(started), parseTime(lastAct)
		u.Sessions = append(u.Sessions, s)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("visitors: user sessions: %w", err)
	}
	return nil
}

// properties lists a metadata JSON object by key.
func properties(meta string) []Property {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(meta), &m) != nil {
		return nil
	}
	out := make([]Property, 0, len(m))
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		out = append(out, Property{k, s})
	}
	slices.SortFunc(out, func(a, b Property) int { return strings.Compare(a.Key, b.Key) })
	return out
}
