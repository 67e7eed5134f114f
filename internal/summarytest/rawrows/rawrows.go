// Package rawrows reads, for tests, the raw sessions and events rows as
// they are stored, with plain SQL. Test oracles (summarytest, the stats
// API's analysis oracle) compute their figures from these rows, so the
// package uses nothing of the code under test: no pipeline, no stats.
//
//	sessions := rawrows.Sessions(t, app.DB(), websiteID) // "" for every website
//	events := rawrows.Events(t, app.DB(), websiteID)
package rawrows

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
)

// Layout is how PocketBase stores a date.
const Layout = "2006-01-02 15:04:05.000Z"

// Session is one sessions row.
type Session struct {
	ID, Website, Visitor                                                  string
	Start, Last                                                           time.Time // startedAt, lastActivity
	Entry, Exit, Referrer, Device, Browser, OS, Language, Country, Region string
	Source, Channel                                                       string
	New, Engaged                                                          bool
	EventCount                                                            int
	UTM                                                                   map[string]string // nil without one
}

// Event is one events row.
type Event struct {
	ID, Website, Session, Type, Path, Name string // Name is eventName
	At                                     time.Time
	Data                                   map[string]any // eventData decoded with UseNumber; nil without an object
	RevenueAmount                          int64          // minor units; 0 without revenue
	RevenueCurrency                        string
	EngagedMs, ScrollDepth                 int // a page view's engagement (0 without)
}

// Time parses a stored date; a date that does not parse fails the test.
func Time(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(Layout, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

// where selects one website's rows, or every row for "".
func where(website string) (string, dbx.Params) {
	if website == "" {
		return "", dbx.Params{}
	}
	return " WHERE website = {:w}", dbx.Params{"w": website}
}

// Sessions reads the sessions of website ("" for every website), in no
// particular order.
func Sessions(t testing.TB, db dbx.Builder, website string) []*Session {
	t.Helper()
	var rows []struct {
		ID           string `db:"id"`
		Website      string `db:"website"`
		Visitor      string `db:"visitor"`
		StartedAt    string `db:"startedAt"`
		LastActivity string `db:"lastActivity"`
		EntryPath    string `db:"entryPath"`
		ExitPath     string `db:"exitPath"`
		Referrer     string `db:"referrer"`
		Device       string `db:"device"`
		Browser      string `db:"browser"`
		OS           string `db:"os"`
		Language     string `db:"language"`
		Country      string `db:"country"`
		State        string `db:"state"`
		Source       string `db:"source"`
		Channel      string `db:"channel"`
		IsNewVisitor bool   `db:"isNewVisitor"`
		IsEngaged    bool   `db:"isEngaged"`
		EventCount   int    `db:"eventCount"`
		UTM          string `db:"utm"`
	}
	cond, params := where(website)
	err := db.NewQuery(`SELECT id, website, visitor, startedAt, lastActivity, entryPath, exitPath, referrer, device, browser, os,
		language, country, state, COALESCE(source, '') AS source, COALESCE(channel, '') AS channel, isNewVisitor, isEngaged, eventCount, COALESCE(utm, '') AS utm FROM sessions` + cond).
		Bind(params).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*Session, 0, len(rows))
	for _, r := range rows {
		s := &Session{ID: r.ID, Website: r.Website, Visitor: r.Visitor, Start: Time(t, r.StartedAt), Last: Time(t, r.LastActivity),
			Entry: r.EntryPath, Exit: r.ExitPath, Referrer: r.Referrer, Device: r.Device, Browser: r.Browser, OS: r.OS,
			Language: r.Language, Country: r.Country, Region: r.State, Source: r.Source, Channel: r.Channel, New: r.IsNewVisitor, Engaged: r.IsEngaged, EventCount: r.EventCount}
		if r.UTM != "" && r.UTM != "null" {
			if err := json.Unmarshal([]byte(r.UTM), &s.UTM); err != nil {
				t.Fatalf("sessions.utm %q: %v", r.UTM, err)
			}
		}
		out = append(out, s)
	}
	return out
}

// Events reads the events of website ("" for every website), by time,
// then id.
func Events(t testing.TB, db dbx.Builder, website string) []*Event {
	t.Helper()
	var rows []struct {
		ID        string `db:"id"`
		Website   string `db:"website"`
		Session   string `db:"session"`
		Type      string `db:"type"`
		Path      string `db:"path"`
		EventName string `db:"eventName"`
		EventData string `db:"eventData"`
		Timestamp string `db:"timestamp"`
		Amount    int64  `db:"revenueAmount"`
		Currency  string `db:"revenueCurrency"`
		EngagedMs int    `db:"engagedMs"`
		Scroll    int    `db:"scrollDepth"`
	}
	cond, params := where(website)
	err := db.NewQuery(`SELECT id, website, session, type, path, eventName, COALESCE(eventData, '') AS eventData, timestamp,
		COALESCE(revenueAmount, 0) AS revenueAmount, COALESCE(revenueCurrency, '') AS revenueCurrency,
		COALESCE(engagedMs, 0) AS engagedMs, COALESCE(scrollDepth, 0) AS scrollDepth
		FROM events` + cond + ` ORDER BY timestamp, id`).Bind(params).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*Event, 0, len(rows))
	for _, r := range rows {
		e := &Event{ID: r.ID, Website: r.Website, Session: r.Session, Type: r.Type, Path: r.Path, Name: r.EventName,
			At: Time(t, r.Timestamp), RevenueAmount: r.Amount, RevenueCurrency: r.Currency,
			EngagedMs: r.EngagedMs, ScrollDepth: r.Scroll}
		if d := strings.TrimSpace(r.EventData); d != "" && d[0] == '{' {
			dec := json.NewDecoder(strings.NewReader(d))
			dec.UseNumber()
			if err := dec.Decode(&e.Data); err != nil {
				t.Fatalf("events.eventData %q: %v", d, err)
			}
		}
		out = append(out, e)
	}
	return out
}
