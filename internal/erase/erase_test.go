package erase_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testclock"
)

// env is a PocketBase with two websites and the server's pipeline
// writing to it through localstore, on a test clock.
type env struct {
	t     *testing.T
	app   core.App
	p     *pipeline.Pipeline
	clk   *testclock.Clock
	sites map[string]*pipeline.Site // by domain
}

func start(t *testing.T, maxKeys int) *env {
	srv := pbtest.Start(t, pbtest.Options{})
	e := &env{t: t, app: srv.App(), clk: testclock.New(time.Date(2026, 11, 25, 23, 20, 0, 0, time.UTC)), sites: map[string]*pipeline.Site{}}
	sites := pipeline.NewSites()
	for _, d := range []string{"erase.example", "other.example"} {
		s, err := sites.Put(localstore.WebsiteFromRecord(srv.AddWebsite(t, d)))
		if err != nil {
			t.Fatal(err)
		}
		e.sites[d] = s
	}
	p, err := pipeline.New(pipeline.Config{Store: localstore.New(srv.App()), Sites: sites, Now: e.clk.Now,
		Batch: true, BatchInterval: time.Hour, MaxBatchSize: 100000, MaxDimensionKeys: maxKeys, RateLimit: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return e
}

func request(ip, ua string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = ip + ":50000"
	browsertest.Headers(r.Header, ua)
	return r
}

func (e *env) track(domain, ip, ua, body string) {
	e.t.Helper()
	site := e.sites[domain]
	if err := e.p.TrackBrowser(request(ip, ua), []byte(body), func(string) *pipeline.Site { return site }); err != nil {
		e.t.Fatalf("TrackBrowser(%s): %v", body, err)
	}
}

func (e *env) identify(domain, ip, ua, user string) {
	e.t.Helper()
	err := e.p.Identify(context.Background(), request(ip, ua), e.sites[domain], user,
		pipeline.Identity{Name: "Ada <b>", Email: user + "@example.com", Metadata: map[string]any{"plan": "pro"}})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.p.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// erase runs an erasure as the server does: on the pipeline's worker.
func (e *env) erase(domain string, kind erase.Kind, id string) (erase.Result, error) {
	var res erase.Result
	err := e.p.Exclusive(context.Background(), func(ctx context.Context) error {
		var err error
		res, err = erase.Erase(ctx, e.app, erase.Target{Website: e.sites[domain].ID, Kind: kind, ID: id}, "users/test")
		return err
	})
	return res, err
}

func (e *env) count(q string, params dbx.Params) int {
	e.t.Helper()
	var n int
	if err := e.app.DB().NewQuery(q).Bind(params).Row(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) visitorOf(domain, user string) []string {
	var ids []string
	_ = e.app.DB().NewQuery("SELECT id FROM visitors WHERE website = {:w} AND userId = {:u} ORDER BY id").
		Bind(dbx.Params{"w": e.sites[domain].ID, "u": user}).Column(&ids)
	return ids
}

const ua2 = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"

// traffic sends a night of visits across midnight to both websites:
// page views (with referrers and campaigns), custom events, a JS error
// every visitor shares and one of each visitor's own; visitors 0 and 1
// are one user on two devices, visitor 2 another user.
func (e *env) traffic(visitors int) {
	paths := []string{"/", "/pricing", "/docs", "/blog/a"}
	for round := range 6 {
		for v := range visitors {
			domain := "erase.example"
			if v%5 == 4 {
				domain = "other.example"
			}
			ip, ua := fmt.Sprintf("198.51.100.%d", v+1), ""
			if v == 1 {
				ua = ua2
			}
			if round == 0 && v < 3 {
				e.identify(domain, ip, ua, []string{"u-1", "u-1", "u-2"}[v])
			}
			e.clk.Add(7 * time.Second)
			url := "https://" + domain + paths[(v+round)%len(paths)]
			switch {
			case round == 0 && v%3 == 0:
				e.track(domain, ip, ua, fmt.Sprintf(`{"type":"pageView","url":%q,"referrer":"https://www.news.example/x"}`, url+"?utm_source=nl&utm_campaign=c"+fmt.Sprint(v)))
			case round == 3 && v%2 == 0:
				e.track(domain, ip, ua, fmt.Sprintf(`{"type":"custom","name":"signup","url":%q}`, url))
			case round == 4 && v%4 == 1:
				e.track(domain, ip, ua, fmt.Sprintf(`{"type":"jsError","url":%q,"errorMessage":"Boom","stackTrace":"Error: Boom\n    at f (https://%s/app.js:1:2)"}`, url, domain))
			case round == 5 && v%4 == 2:
				e.track(domain, ip, ua, fmt.Sprintf(`{"type":"jsError","url":%q,"errorMessage":"Own %d","stackTrace":"E\n    at f (https://%s/v%d.js:1:2)"}`, url, v, domain, v))
			default:
				e.track(domain, ip, ua, fmt.Sprintf(`{"type":"pageView","url":%q}`, url))
			}
		}
		if round == 2 {
			e.clk.Add(40 * time.Minute) // a new session for everyone, after midnight
		}
	}
	e.flush()
}

func TestErasureLeavesSummariesEqualToTheRawRows(t *testing.T) {
	t.Parallel()
	e := start(t, 0)
	e.traffic(24)
	summarytest.Check(t, e.app.DB(), "before")
	if n := e.count("SELECT COUNT(DISTINCT substr(date, 1, 10)) FROM dash_sum", nil); n < 2 {
		t.Fatalf("the traffic covers %d day(s); it must cross midnight", n)
	}
	site := dbx.Params{"w": e.sites["erase.example"].ID}

	// one session of a visitor, in the middle of a day
	var sid, vid string
	_ = e.app.DB().NewQuery("SELECT id, visitor FROM sessions WHERE website = {:w} ORDER BY startedAt DESC LIMIT 1").Bind(site).Row(&sid, &vid)
	events := e.count("SELECT COUNT(*) FROM events WHERE session = {:s}", dbx.Params{"s": sid})
	res, err := e.erase("erase.example", erase.Session, sid)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sessions != 1 || res.Events != events || res.Visitors != 0 || res.Summaries == 0 {
		t.Errorf("session erasure: %+v; want 1 session, %d events, no visitor, summaries corrected", res, events)
	}
	summarytest.Check(t, e.app.DB(), "after erasing a session")
	if n := e.count("SELECT COUNT(*) FROM sessions WHERE id = {:s}", dbx.Params{"s": sid}) + e.count("SELECT COUNT(*) FROM events WHERE session = {:s}", dbx.Params{"s": sid}); n != 0 {
		t.Errorf("%d rows of the erased session remain", n)
	}
	if e.count("SELECT COUNT(*) FROM visitors WHERE id = {:v}", dbx.Params{"v": vid}) != 1 {
		t.Error("erasing a session deleted its visitor")
	}

	// every row of one user on two devices
	devices := e.visitorOf("erase.example", "u-1")
	if len(devices) != 2 {
		t.Fatalf("u-1 has %d visitors; the traffic identifies two devices", len(devices))
	}
	in := dbx.Params{"a": devices[0], "b": devices[1]}
	sessions := e.count("SELECT COUNT(*) FROM sessions WHERE visitor IN ({:a}, {:b})", in)
	events = e.count("SELECT COUNT(*) FROM events WHERE session IN (SELECT id FROM sessions WHERE visitor IN ({:a}, {:b}))", in)
	if res, err = e.erase("erase.example", erase.User, "u-1"); err != nil {
		t.Fatal(err)
	}
	if res.Visitors != 2 || res.Sessions != sessions || res.Events != events || sessions < 2 {
		t.Errorf("user erasure: %+v; want 2 visitors, %d sessions, %d events", res, sessions, events)
	}
	summarytest.Check(t, e.app.DB(), "after erasing a user")
	left := e.count("SELECT COUNT(*) FROM visitors WHERE id IN ({:a}, {:b})", in) + e.count("SELECT COUNT(*) FROM sessions WHERE visitor IN ({:a}, {:b})", in) +
		e.count("SELECT COUNT(*) FROM js_errors WHERE session IN (SELECT id FROM sessions WHERE visitor IN ({:a}, {:b}))", in)
	if left != 0 {
		t.Errorf("%d rows of the erased user remain", left)
	}

	// a visitor of the other website is not this website's to erase
	var theirs string
	_ = e.app.DB().NewQuery("SELECT id FROM visitors WHERE website = {:w} LIMIT 1").Bind(dbx.Params{"w": e.sites["other.example"].ID}).Row(&theirs)
	if _, err := e.erase("erase.example", erase.Visitor, theirs); !errors.Is(err, erase.ErrNotFound) {
		t.Errorf("erasing another website's visitor: %v; want ErrNotFound", err)
	}
	if _, err := e.erase("erase.example", erase.User, "nobody"); !errors.Is(err, erase.ErrNotFound) {
		t.Errorf("erasing an unknown user: %v; want ErrNotFound", err)
	}

	// the log says who, what and how many; never which
	var logs []struct {
		Kind     string `db:"kind"`
		Actor    string `db:"actor"`
		Sessions int    `db:"sessions"`
		Events   int    `db:"events"`
	}
	if err := e.app.DB().NewQuery("SELECT kind, actor, sessions, events FROM skopos_erasures ORDER BY created, rowid").All(&logs); err != nil {
		t.Fatal(err)
	}
	if len(logs) != 2 || logs[0].Kind != "session" || logs[1].Kind != "user" || logs[1].Sessions != sessions || logs[0].Actor != "users/test" {
		t.Errorf("erasure log = %+v; want a session and a user erasure by users/test", logs)
	}
}

// TestErasureWhileEventsArrive erases visitors while other visitors'
// events keep coming; afterwards an erased visitor comes back and is a
// new visitor (the worker forgot its session).
func TestErasureWhileEventsArrive(t *testing.T) {
	t.Parallel()
	e := start(t, 0)
	e.traffic(12)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 3000 { // until the erasures are done, or 3 000 events
			select {
			case <-stop:
				return
			default:
			}
			ip := fmt.Sprintf("203.0.113.%d", i%50+1)
			site := e.sites["erase.example"]
			r := request(ip, "")
			_ = e.p.TrackBrowser(r, []byte(fmt.Sprintf(`{"type":"pageView","url":"https://erase.example/live/%d"}`, i%7)), func(string) *pipeline.Site { return site })
		}
	}()
	// the victims: four visitors marked by a page only they viewed
	for v := range 4 {
		e.track("erase.example", fmt.Sprintf("192.0.2.%d", v+1), "", fmt.Sprintf(`{"type":"pageView","url":"https://erase.example/mark/%d"}`, v))
	}
	e.flush()
	var victims []string
	_ = e.app.DB().NewQuery("SELECT DISTINCT s.visitor FROM events e JOIN sessions s ON s.id = e.session WHERE e.path LIKE '/mark/%'").Column(&victims)
	if len(victims) != 4 {
		t.Fatalf("%d marked visitors; want 4", len(victims))
	}
	for _, v := range victims {
		if _, err := e.erase("erase.example", erase.Visitor, v); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	e.flush()
	summarytest.Check(t, e.app.DB(), "after erasures under load")

	// the erased visitors come back within their session's timeout: the
	// pipeline must not continue the sessions it remembers
	before := e.count("SELECT COUNT(*) FROM sessions", nil)
	e.clk.Add(time.Minute)
	for v := range 4 {
		e.track("erase.example", fmt.Sprintf("192.0.2.%d", v+1), "", `{"type":"pageView","url":"https://erase.example/back"}`)
	}
	e.flush()
	if st := e.p.Stats(); len(st.Dropped) != 0 {
		t.Errorf("events dropped after the erasure: %+v", st)
	}
	if after := e.count("SELECT COUNT(*) FROM sessions", nil); after != before+4 {
		t.Errorf("sessions %d → %d: the erased visitors' returns did not open sessions", before, after)
	}
	summarytest.Check(t, e.app.DB(), "after the erased visitors came back")
	if n := e.count("SELECT COUNT(*) FROM events e LEFT JOIN sessions s ON s.id = e.session WHERE s.id IS NULL", nil); n != 0 {
		t.Errorf("%d events point to no session", n)
	}
}

// TestErasureTakesCappedKeysFromOther: past the day's key cap the
// pipeline counts keys under "(other)"; erasing a visitor whose page
// went there takes it from there, and a key that comes to zero is gone.
func TestErasureTakesCappedKeysFromOther(t *testing.T) {
	t.Parallel()
	e := start(t, 2)
	for i, path := range []string{"/a", "/b", "/c", "/d"} {
		e.clk.Add(time.Second)
		e.track("erase.example", fmt.Sprintf("192.0.2.%d", i+1), "", `{"type":"pageView","url":"https://erase.example`+path+`"}`)
	}
	e.flush()
	pages := func() map[string]int {
		var rows []struct {
			Key   string `db:"key"`
			Count int    `db:"count"`
		}
		_ = e.app.DB().NewQuery("SELECT key, count FROM dash_sum_items WHERE dimension = 'page'").All(&rows)
		out := map[string]int{}
		for _, r := range rows {
			out[r.Key] = r.Count
		}
		return out
	}
	if got := pages(); got["/a"] != 1 || got["/b"] != 1 || got["(other)"] != 2 {
		t.Fatalf("pages before = %v; want /a, /b and (other) 2", got)
	}
	visitorOf := func(path string) string {
		var v string
		_ = e.app.DB().NewQuery("SELECT s.visitor FROM events e JOIN sessions s ON s.id = e.session WHERE e.path = {:p}").Bind(dbx.Params{"p": path}).Row(&v)
		return v
	}
	for _, path := range []string{"/d", "/a"} {
		if _, err := e.erase("erase.example", erase.Visitor, visitorOf(path)); err != nil {
			t.Fatal(err)
		}
	}
	got := pages()
	if len(got) != 2 || got["/b"] != 1 || got["(other)"] != 1 {
		t.Errorf("pages after = %v; want /b 1 and (other) 1 (/a gone)", got)
	}
	var pv int
	_ = e.app.DB().NewQuery("SELECT COALESCE(SUM(pageViews), 0) FROM dash_sum").Row(&pv)
	if pv != 2 {
		t.Errorf("page views = %d; want 2", pv)
	}
}

func TestEraseRefusesBadTargets(t *testing.T) {
	t.Parallel()
	e := start(t, 0)
	for _, tc := range []erase.Target{
		{Website: e.sites["erase.example"].ID, Kind: "everything", ID: "x"},
		{Website: e.sites["erase.example"].ID, Kind: erase.User, ID: "  "},
		{Kind: erase.Visitor, ID: "x"},
	} {
		if _, err := erase.Erase(context.Background(), e.app, tc, "test"); !errors.Is(err, erase.ErrBadTarget) {
			t.Errorf("Erase(%+v) = %v; want ErrBadTarget", tc, err)
		}
	}
	if n := e.count("SELECT COUNT(*) FROM skopos_erasures", nil); n != 0 {
		t.Errorf("%d erasures logged for refused targets", n)
	}
}
