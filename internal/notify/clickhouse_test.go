package notify_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/notify"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/safefetch"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// chServer is the ClickHouse of this test binary, started by the first
// test that asks for a database (TestMain closes it).
var chServer chtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	chServer.Close()
	os.Exit(code)
}

// chEnv writes sessions and events through chstore, as skopos serve does
// with a ClickHouse events store.
type chEnv struct {
	*env
	ch *clickhouse.Client
	st *chstore.Store
	n  int
}

func newCHEnv(t *testing.T) *chEnv {
	ch := chServer.StoreDatabase(t)
	e := &chEnv{env: newEnv(t, 10), ch: ch}
	e.st = chstore.New(e.app, localstore.New(e.app), ch, chstore.Options{})
	e.env.n = notify.New(e.app, notify.Options{Now: e.clock.Now, HourlyLimit: 10, ClickHouse: ch,
		HTTP: safefetch.NewClient(safefetch.Options{AllowPrivate: true})})
	return e
}

func (e *chEnv) apply(ops ...store.Op) {
	e.t.Helper()
	ctx := testwait.Context(e.t)
	if err := e.st.Apply(ctx, ops); err != nil {
		e.t.Fatal(err)
	}
}

func (e *chEnv) ship() {
	e.t.Helper()
	ctx := testwait.Context(e.t)
	if err := e.st.Ship(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// visit stores a session on site: of a new visitor when visitor is "",
// else a returning one's. It returns the session and visitor ids.
func (e *chEnv) visit(site *core.Record, visitor string, at time.Time) (string, string) {
	e.t.Helper()
	isNew := visitor == ""
	if isNew {
		visitor = pbtest.Save(e.t, e.app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v" + at.Format("150405.000000")}).Id
	}
	e.n++
	id := fmt.Sprintf("chsession%06d", e.n)
	e.apply(store.Op{Action: store.Create, Collection: schema.Sessions, ID: id, Data: map[string]any{"website": site.Id,
		"visitor": visitor, "browser": "Firefox", "os": "Linux", "device": "desktop", "country": "DE", "entryPath": "/",
		"isNewVisitor": isNew, "seq": 1, "startedAt": at, "lastActivity": at}})
	return id, visitor
}

// event stores an event of session on site (custom when name is set).
func (e *chEnv) event(site *core.Record, session, name string, at time.Time) string {
	e.t.Helper()
	typ := "pageView"
	if name != "" {
		typ = "custom"
	}
	e.n++
	id := fmt.Sprintf("chevent%08d", e.n)
	e.apply(store.Op{Action: store.Create, Collection: schema.Events, ID: id, Data: map[string]any{"session": session,
		"website": site.Id, "type": typ, "eventName": name, "path": "/join", "eventData": map[string]any{"plan": "pro"}, "timestamp": at}})
	return id
}

// TestClickHouseRulesFireOnce: with a ClickHouse events store, the
// custom_event, new_session and new_visitor rules fire once per new
// event, session and visitor shipped there: not for the history before
// the first start, not again on later evaluations or a session's next
// version, and not before an outbox record is shipped but once after.
func TestClickHouseRulesFireOnce(t *testing.T) {
	e := newCHEnv(t)
	events := e.rule("custom_event", map[string]any{"customEventName": "signup", "recipientEmail": "a@example.com"})
	sessions := e.rule("new_session", map[string]any{"recipientEmail": "a@example.com"})
	visitors := e.rule("new_visitor", map[string]any{"recipientEmail": "a@example.com"})
	want := map[*core.Record][]string{events: {}, sessions: {}, visitors: {}}
	check := func(when string) {
		t.Helper()
		for rule, keys := range want {
			var got []string
			for _, d := range e.deliveries(rule) {
				got = append(got, d.GetString("eventKey"))
			}
			if !slices.Equal(sortedCopy(got), sortedCopy(keys)) {
				t.Errorf("%s: %s deliveries %v, want %v", when, rule.GetString("eventType"), got, keys)
			}
		}
	}

	old, _ := e.visit(e.site, "", start.Add(-time.Hour))
	e.event(e.site, old, "signup", start.Add(-time.Hour))
	e.ship()
	e.evaluate()
	check("history")

	s1, v1 := e.visit(e.site, "", start)
	first := e.event(e.site, s1, "signup", start)
	e.event(e.site, s1, "signin", start)
	e.event(e.site, s1, "", start)
	e.ship()
	e.evaluate()
	e.evaluate()
	want[events], want[sessions], want[visitors] = []string{first}, []string{s1}, []string{v1}
	check("first visit")

	// the session's next version, a returning visit and a signup in an
	// outbox record not shipped yet
	e.apply(store.Op{Action: store.Update, Collection: schema.Sessions, ID: s1, Data: map[string]any{"eventCount+": 1}})
	s2, _ := e.visit(e.site, v1, start.Add(time.Hour))
	second := e.event(e.site, s2, "signup", start.Add(time.Hour))
	e.evaluate()
	check("before the shipment")
	// the cursors wait at the oldest record still in the outbox: rows
	// shipped after a long outage are read then, whatever the look-back
	var oldest string
	if err := e.app.DB().NewQuery("SELECT MIN(id) FROM " + schema.Outbox).Row(&oldest); err != nil {
		t.Fatal(err)
	}
	pending, err := strconv.ParseUint(oldest, 36, 64)
	if err != nil {
		t.Fatalf("outbox id %q: %v", oldest, err)
	}
	for _, name := range []string{"notify.chcursor.events", "notify.chcursor.sessions"} {
		var v string
		if err := e.app.DB().NewQuery("SELECT value FROM " + schema.State + " WHERE name = {:n}").Bind(dbx.Params{"n": name}).Row(&v); err != nil {
			t.Fatal(err)
		}
		var cur, floor int64
		if _, err := fmt.Sscan(v, &cur, &floor); err != nil || cur > int64(pending/uint64(time.Millisecond)) {
			t.Errorf("%s at %q, past the outbox's oldest record %s (%v)", name, v, oldest, err)
		}
	}
	e.ship()
	e.evaluate()
	e.evaluate()
	want[events], want[sessions] = append(want[events], second), append(want[sessions], s2)
	check("after the shipment")
}

// TestClickHouseTrackingStopped is TestTrackingStopped with the events
// in ClickHouse.
func TestClickHouseTrackingStopped(t *testing.T) {
	e := newCHEnv(t)
	testTrackingStopped(t, e.env, func(site *core.Record, at time.Time) {
		s, _ := e.visit(site, "", at)
		e.event(site, s, "", at)
		e.ship()
	})
}
