package chstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/testclock"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

var server chtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	server.Close()
	os.Exit(code)
}

// timeout is the context of a test's calls to the server.
func timeout(t testing.TB) context.Context { return testwait.Context(t) }

const (
	chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	iphoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)

// site is one website's pipeline over a store.
type site struct {
	p    *pipeline.Pipeline
	site *pipeline.Site
	host string
}

func startSite(t *testing.T, st store.Store, rec *core.Record, clk *testclock.Clock) *site {
	t.Helper()
	sites := pipeline.NewSites()
	ps, err := sites.Put(localstore.WebsiteFromRecord(rec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Store: st, Sites: sites, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &site{p: p, site: ps, host: rec.GetString("domain")}
}

func (s *site) browse(t *testing.T, ip, ua, body string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = ip + ":50000"
	browsertest.Headers(r.Header, ua)
	if err := s.p.TrackBrowser(r, []byte(fmt.Sprintf(body, s.host)), func(string) *pipeline.Site { return s.site }); err != nil {
		t.Fatalf("TrackBrowser(%s): %v", body, err)
	}
}

func (s *site) flush(t *testing.T) {
	t.Helper()
	if err := s.p.Flush(timeout(t)); err != nil {
		t.Fatal(err)
	}
}

func (s *site) close(t *testing.T) {
	t.Helper()
	if err := s.p.Close(timeout(t)); err != nil {
		t.Fatal(err)
	}
}

// traffic sends the same visits to a site, step by step on clk: two
// visitors, page views with engagement raised twice (once in a later
// chunk), a custom event with data, a JS error, a second session after
// the timeout, and, with a new pipeline over a new store (restart: the
// store's state of sessions and page views is gone), a page view that
// continues a session and a beacon for a page view written before.
func traffic(t *testing.T, open func() *site, clk *testclock.Clock, t0 time.Time) {
	t.Helper()
	s := open()
	at := func(d time.Duration) { clk.Set(t0.Add(d)) }
	at(0)
	s.browse(t, "203.0.113.1", chromeUA, `{"type":"pageView","url":"https://%s/","pid":"pageview01","referrer":"https://news.example.org/item"}`)
	at(2 * time.Second)
	s.browse(t, "198.51.100.7", iphoneUA, `{"type":"pageView","url":"https://%s/docs","pid":"pageview09"}`)
	s.flush(t)
	at(20 * time.Second)
	s.browse(t, "203.0.113.1", chromeUA, `{"type":"engagement","url":"https://%s/","pid":"pageview01","engagedMs":5000,"scroll":40}`)
	s.browse(t, "203.0.113.1", chromeUA, `{"type":"pageView","url":"https://%s/pricing","pid":"pageview02"}`)
	s.browse(t, "198.51.100.7", iphoneUA, `{"type":"jsError","url":"https://%s/docs","errorMessage":"TypeError: boom","stackTrace":"TypeError: boom\n    at f (https://x/app.js:1:2)"}`)
	s.flush(t)
	at(40 * time.Second)
	s.browse(t, "203.0.113.1", chromeUA, `{"type":"engagement","url":"https://%s/","pid":"pageview01","engagedMs":8000,"scroll":90}`)
	s.browse(t, "203.0.113.1", chromeUA, `{"type":"custom","name":"signup","url":"https://%s/pricing","customData":{"plan":"pro"}}`)
	s.browse(t, "198.51.100.7", iphoneUA, `{"type":"jsError","url":"https://%s/docs","errorMessage":"TypeError: boom","stackTrace":"TypeError: boom\n    at f (https://x/app.js:1:2)"}`)
	s.flush(t)
	at(45 * time.Minute) // past the session timeout: a second session
	s.browse(t, "198.51.100.7", iphoneUA, `{"type":"pageView","url":"https://%s/","pid":"pageview10"}`)
	s.close(t)

	s = open() // a restart
	at(46 * time.Minute)
	s.browse(t, "198.51.100.7", iphoneUA, `{"type":"pageView","url":"https://%s/blog","pid":"pageview11"}`)
	s.browse(t, "198.51.100.7", iphoneUA, `{"type":"engagement","url":"https://%s/","pid":"pageview10","engagedMs":12000,"scroll":100}`)
	s.close(t)
}

// TestRowsEqualTheSQLiteStore sends the same traffic to a site written by
// the SQLite store and to one written by chstore, and compares every row
// the stats read: events (with their latest engagement), sessions (their
// latest version), JS error groups and the summaries.
func TestRowsEqualTheSQLiteStore(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	db := server.StoreDatabase(t)
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	recA, recB := srv.AddWebsite(t, "a.example.com"), srv.AddWebsite(t, "b.example.com")

	clk := &testclock.Clock{}
	traffic(t, func() *site { return startSite(t, localstore.New(app), recA, clk) }, clk, t0)
	var last *chstore.Store
	traffic(t, func() *site {
		last = chstore.New(app, localstore.New(app), db, chstore.Options{})
		return startSite(t, last, recB, clk)
	}, clk, t0)
	if err := last.Ship(timeout(t)); err != nil {
		t.Fatal(err)
	}
	var pending int
	if err := app.DB().Select("count(*)").From(schema.Outbox).Row(&pending); err != nil || pending != 0 {
		t.Fatalf("%d outbox records left after Ship (%v)", pending, err)
	}

	// events
	type ev struct {
		Type, Path, EventName, EventData string
		Timestamp                        int64
		EngagedMs, ScrollDepth           int
	}
	var sqliteEvents []ev
	var evRows []struct {
		Type        string `db:"type"`
		Path        string `db:"path"`
		EventName   string `db:"eventName"`
		EventData   string `db:"eventData"`
		Timestamp   string `db:"timestamp"`
		EngagedMs   int    `db:"engagedMs"`
		ScrollDepth int    `db:"scrollDepth"`
	}
	if err := app.DB().NewQuery(`SELECT type, path, eventName, COALESCE(eventData, '') AS eventData, timestamp, engagedMs, scrollDepth
		FROM events WHERE website = {:w} ORDER BY timestamp, path`).Bind(dbx.Params{"w": recA.Id}).All(&evRows); err != nil {
		t.Fatal(err)
	}
	for _, r := range evRows {
		ts, err := time.Parse("2006-01-02 15:04:05.000Z", r.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		data := r.EventData
		if data == "null" {
			data = ""
		}
		sqliteEvents = append(sqliteEvents, ev{r.Type, r.Path, r.EventName, data, ts.UnixMilli(), r.EngagedMs, r.ScrollDepth})
	}
	chEvents, err := clickhouse.Select[struct {
		Type        string `json:"type"`
		Path        string `json:"path"`
		EventName   string `json:"eventName"`
		EventData   string `json:"eventData"`
		Timestamp   int64  `json:"timestamp"`
		EngagedMs   int    `json:"engagedMs"`
		ScrollDepth int    `json:"scrollDepth"`
	}](timeout(t), db, `SELECT e.type AS type, e.path AS path, e.eventName AS eventName, e.eventData AS eventData, e.timestamp AS timestamp,
			if(g.event = '', e.engagedMs, g.engagedMs) AS engagedMs, if(g.event = '', e.scrollDepth, g.scrollDepth) AS scrollDepth
		FROM (SELECT * FROM events WHERE website = ?) AS e
		ANY LEFT JOIN (SELECT event, engagedMs, scrollDepth FROM engagement FINAL WHERE website = ?) AS g ON e.id = g.event
		ORDER BY timestamp, path`, recB.Id, recB.Id)
	if err != nil {
		t.Fatal(err)
	}
	var got []ev
	for _, r := range chEvents {
		got = append(got, ev(r))
	}
	if len(sqliteEvents) != 6 || !reflect.DeepEqual(got, sqliteEvents) {
		t.Errorf("events:\nclickhouse %+v\nsqlite     %+v", got, sqliteEvents)
	}

	// sessions
	type sess struct {
		Seq, EventCount, EngagedMs                 int
		Entry, Exit, Browser, OS, Device, Referrer string
		Channel, Source, Language                  string
		IsNew, Engaged                             bool
		StartedAt, LastActivity                    int64
	}
	var sqliteSessions []sess
	var sRows []struct {
		Seq          int    `db:"seq"`
		EventCount   int    `db:"eventCount"`
		EngagedMs    int    `db:"engagedMs"`
		Entry        string `db:"entryPath"`
		Exit         string `db:"exitPath"`
		Browser      string `db:"browser"`
		OS           string `db:"os"`
		Device       string `db:"device"`
		Referrer     string `db:"referrer"`
		Channel      string `db:"channel"`
		Source       string `db:"source"`
		Language     string `db:"language"`
		IsNew        bool   `db:"isNewVisitor"`
		Engaged      bool   `db:"isEngaged"`
		StartedAt    string `db:"startedAt"`
		LastActivity string `db:"lastActivity"`
	}
	if err := app.DB().NewQuery(`SELECT * FROM sessions WHERE website = {:w}`).Bind(dbx.Params{"w": recA.Id}).All(&sRows); err != nil {
		t.Fatal(err)
	}
	ms := func(s string) int64 {
		v, err := time.Parse("2006-01-02 15:04:05.000Z", s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UnixMilli()
	}
	for _, r := range sRows {
		sqliteSessions = append(sqliteSessions, sess{r.Seq, r.EventCount, r.EngagedMs, r.Entry, r.Exit, r.Browser, r.OS, r.Device, r.Referrer,
			r.Channel, r.Source, r.Language, r.IsNew, r.Engaged, ms(r.StartedAt), ms(r.LastActivity)})
	}
	chSessions, err := clickhouse.Select[struct {
		Seq          int    `json:"seq"`
		EventCount   int    `json:"eventCount"`
		EngagedMs    int    `json:"engagedMs"`
		Entry        string `json:"entryPath"`
		Exit         string `json:"exitPath"`
		Browser      string `json:"browser"`
		OS           string `json:"os"`
		Device       string `json:"device"`
		Referrer     string `json:"referrer"`
		Channel      string `json:"channel"`
		Source       string `json:"source"`
		Language     string `json:"language"`
		IsNew        int    `json:"isNewVisitor"`
		Engaged      int    `json:"isEngaged"`
		StartedAt    int64  `json:"startedAt"`
		LastActivity int64  `json:"lastActivity"`
	}](timeout(t), db, "SELECT * FROM sessions FINAL WHERE website = ?", recB.Id)
	if err != nil {
		t.Fatal(err)
	}
	var gotS []sess
	for _, r := range chSessions {
		gotS = append(gotS, sess{r.Seq, r.EventCount, r.EngagedMs, r.Entry, r.Exit, r.Browser, r.OS, r.Device, r.Referrer,
			r.Channel, r.Source, r.Language, r.IsNew == 1, r.Engaged == 1, r.StartedAt, r.LastActivity})
	}
	byStart := func(s []sess) {
		sort.Slice(s, func(i, j int) bool {
			return s[i].StartedAt < s[j].StartedAt || s[i].StartedAt == s[j].StartedAt && s[i].Seq < s[j].Seq
		})
	}
	byStart(sqliteSessions)
	byStart(gotS)
	if len(sqliteSessions) != 3 || !reflect.DeepEqual(gotS, sqliteSessions) {
		t.Errorf("sessions:\nclickhouse %+v\nsqlite     %+v", gotS, sqliteSessions)
	}

	// JS error groups
	type jsGroup struct {
		Hash    string
		Count   int
		Message string
	}
	var sqliteJS []jsGroup
	var jsRows []struct {
		Hash    string `db:"errorHash"`
		Count   int    `db:"count"`
		Message string `db:"errorMessage"`
	}
	if err := app.DB().NewQuery(`SELECT errorHash, count, errorMessage FROM js_errors WHERE website = {:w} ORDER BY errorHash`).
		Bind(dbx.Params{"w": recA.Id}).All(&jsRows); err != nil {
		t.Fatal(err)
	}
	for _, r := range jsRows {
		sqliteJS = append(sqliteJS, jsGroup(r))
	}
	chJS, err := clickhouse.Select[struct {
		Hash    string `json:"errorHash"`
		Count   int    `json:"count"`
		Message string `json:"errorMessage"`
	}](timeout(t), db, `SELECT errorHash, toInt64(sum(count)) AS count, any(errorMessage) AS errorMessage FROM js_errors
		WHERE website = ? GROUP BY errorHash ORDER BY errorHash`, recB.Id)
	if err != nil {
		t.Fatal(err)
	}
	var gotJS []jsGroup
	for _, r := range chJS {
		gotJS = append(gotJS, jsGroup(r))
	}
	if len(sqliteJS) != 1 || sqliteJS[0].Count != 2 || !reflect.DeepEqual(gotJS, sqliteJS) {
		t.Errorf("JS errors: clickhouse %+v, sqlite %+v", gotJS, sqliteJS)
	}

	// the summaries stay in PocketBase, written alike
	if a, b := summaries(t, app, recA.Id), summaries(t, app, recB.Id); a == "" || a != b {
		t.Errorf("summaries:\nsqlite store %s\nchstore      %s", a, b)
	}
}

// summaries lists a website's hourly summaries as text.
func summaries(t *testing.T, app core.App, website string) string {
	t.Helper()
	var rows []struct {
		Date      string `db:"date"`
		PageViews int    `db:"pageViews"`
		Visitors  int    `db:"visitors"`
		Bounces   int    `db:"bounces"`
		Duration  int    `db:"durationSeconds"`
		Engaged   int    `db:"engagedSessions"`
		JSErrors  int    `db:"jsErrors"`
	}
	if err := app.DB().NewQuery(`SELECT date, pageViews, visitors, bounces, durationSeconds, engagedSessions, jsErrors FROM dash_sum
		WHERE website = {:w} ORDER BY date`).Bind(dbx.Params{"w": website}).All(&rows); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%+v", rows)
}

// eventOps are n page views of one session, as the pipeline writes them.
func eventOps(website string, t0 time.Time, n int, prefix string) []store.Op {
	var ops []store.Op
	for i := range n {
		ops = append(ops, store.Op{Action: store.Create, Collection: schema.Events, ID: fmt.Sprintf("%s%011d", prefix, i),
			Data: map[string]any{"session": "s1", "website": website, "type": "pageView", "path": fmt.Sprintf("/p%d", i),
				"timestamp": t0.Add(time.Duration(i) * time.Second)}})
	}
	return ops
}

func chCount(t *testing.T, db *clickhouse.Client, table, website string) int {
	t.Helper()
	got, err := clickhouse.Select[struct {
		N int `json:"n"`
	}](timeout(t), db, "SELECT toInt64(count()) AS n FROM ? WHERE website = ?", clickhouse.Ident(table), website)
	if err != nil {
		t.Fatal(err)
	}
	return got[0].N
}

func outboxRecords(t *testing.T, app core.App) []struct {
	ID   string `db:"id"`
	Rows string `db:"rows"`
} {
	t.Helper()
	var recs []struct {
		ID   string `db:"id"`
		Rows string `db:"rows"`
	}
	if err := app.DB().Select("id", "rows").From(schema.Outbox).OrderBy("id").All(&recs); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestShipSendsARecordOnce: a record whose rows reached ClickHouse before
// the process died (not deleted from the outbox) is not sent twice, and
// one cut short (some of its rows there) is completed, not doubled.
func TestShipSendsARecordOnce(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	db := server.StoreDatabase(t)
	t0 := time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC) // the rows span two monthly partitions
	for _, tc := range []struct {
		name    string
		already int // rows of the record in ClickHouse before the restart
	}{{"all there", 120}, {"some there", 50}, {"none there", 0}} {
		website := "w_" + tc.name
		st := chstore.New(app, localstore.New(app), db, chstore.Options{})
		if err := st.Apply(timeout(t), eventOps(website, t0, 120, "e")); err != nil {
			t.Fatal(err)
		}
		recs := outboxRecords(t, app)
		if len(recs) != 1 {
			t.Fatalf("%s: %d outbox records, want 1", tc.name, len(recs))
		}
		// the shipper of the process that died: the record's rows, or
		// the first of them, sent, the record not deleted
		lines := splitLines(recs[0].Rows)
		if tc.already > 0 {
			body := []byte{}
			for _, l := range lines[:tc.already] {
				body = append(body, l...)
			}
			if err := db.InsertEncoded(timeout(t), "events", body); err != nil {
				t.Fatal(err)
			}
		}
		restarted := chstore.New(app, localstore.New(app), db, chstore.Options{})
		if err := restarted.Ship(timeout(t)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n := chCount(t, db, "events", website); n != 120 {
			t.Errorf("%s: %d rows in ClickHouse, want 120", tc.name, n)
		}
		if n := len(outboxRecords(t, app)); n != 0 {
			t.Errorf("%s: %d outbox records left", tc.name, n)
		}
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:min(i+1, len(s))])
		s = s[min(i+1, len(s)):]
	}
	return out
}

// TestClickHouseDownLosesNothing: with ClickHouse unreachable, writes
// still commit (to the outbox) and reads that need ClickHouse fail with
// an error; once it is back, everything committed arrives once.
func TestClickHouseDownLosesNothing(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	db := server.StoreDatabase(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close() // a port nothing listens on
	down := clickhouse.New(clickhouse.Options{URL: deadURL, Database: db.Database()})
	st := chstore.New(app, localstore.New(app), down, chstore.Options{})
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		if err := st.Apply(timeout(t), eventOps("w", t0, 10, fmt.Sprintf("b%d", i))); err != nil {
			t.Fatalf("Apply with ClickHouse down: %v", err)
		}
	}
	if err := st.Ship(timeout(t)); err == nil {
		t.Fatal("Ship to an unreachable server succeeded")
	}
	if _, err := st.Existing(timeout(t), schema.Events, []string{"b0" + "00000000000"}); err == nil {
		t.Error("Existing answered without ClickHouse")
	}
	if n := len(outboxRecords(t, app)); n != 3 {
		t.Fatalf("%d outbox records, want 3 (nothing lost, nothing sent)", n)
	}
	up := chstore.New(app, localstore.New(app), db, chstore.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { up.Run(ctx, 10*time.Millisecond); close(done) }()
	testwait.Until(t, "the outbox shipped", func() bool { return len(outboxRecords(t, app)) == 0 })
	cancel()
	<-done
	if n := chCount(t, db, "events", "w"); n != 30 {
		t.Errorf("%d events in ClickHouse, want 30", n)
	}
	found, err := up.Existing(timeout(t), schema.Events, []string{"b000000000000", "b200000000009", "nope"})
	if err != nil || !found["b000000000000"] || !found["b200000000009"] || found["nope"] {
		t.Errorf("Existing = %v, %v", found, err)
	}
}

// TestStoredEventsFindsReplays: the pipeline's stored-already check finds
// an event shipped to ClickHouse, one still in this process's outbox, and
// one an earlier process left in the outbox, by website and within a day
// of its time; not an unknown id, and not a stored id of another website.
func TestStoredEventsFindsReplays(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	db := server.StoreDatabase(t)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	earlier := chstore.New(app, localstore.New(app), db, chstore.Options{})
	if err := earlier.Apply(timeout(t), eventOps("w", t0, 2, "old")); err != nil { // never shipped by it
		t.Fatal(err)
	}
	st := chstore.New(app, localstore.New(app), db, chstore.Options{})
	if err := st.Apply(timeout(t), eventOps("w", t0, 2, "sent")); err != nil {
		t.Fatal(err)
	}
	if err := st.Ship(timeout(t)); err != nil {
		t.Fatal(err)
	}
	if err := st.Apply(timeout(t), eventOps("w", t0, 2, "held")); err != nil { // in the outbox
		t.Fatal(err)
	}
	id := func(prefix string) string { return fmt.Sprintf("%s%011d", prefix, 1) }
	keys := []store.EventKey{
		{ID: id("sent"), Website: "w", Time: t0.Add(3 * time.Hour)}, // a resend hours later
		{ID: id("held"), Website: "w", Time: t0},
		{ID: id("old"), Website: "w", Time: t0},
		{ID: "nosuchevent0000", Website: "w", Time: t0},
		{ID: id("sent"), Website: "other", Time: t0},
	}
	got, err := st.StoredEvents(timeout(t), keys)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{id("sent"): true, id("held"): true, id("old"): true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StoredEvents = %v, want %v", got, want)
	}
	// the other website's key alone: not found
	got, err = st.StoredEvents(timeout(t), keys[4:])
	if err != nil || len(got) != 0 {
		t.Errorf("another website's id: %v, %v", got, err)
	}
}
