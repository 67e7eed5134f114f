package pipeline_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testclock"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/store/reststore"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// The conformance suite runs every behaviour against both stores: the
// REST store (SDK mode, PocketBase over HTTP) and the Local store
// (embedded mode, in-process core.App). Both use a real PocketBase.

type env struct {
	srv   *pbtest.Server
	site  store.Website
	kind  string
	newSt func() store.Store // a fresh store (a new "instance")
	// spoolDir, when set, gives every instance an intake log there (one
	// instance at a time: a log has one consumer)
	spoolDir string
}

func (e *env) app() core.App { return e.srv.App() }

func forEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, kind := range []string{"rest", "local"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			forEachStoreKind(t, kind, fn)
		})
	}
}

// forEachStoreKind runs fn with one store kind, in t itself.
func forEachStoreKind(t *testing.T, kind string, fn func(t *testing.T, e *env)) {
	srv := pbtest.Start(t, pbtest.Options{})
	e := &env{srv: srv, kind: kind}
	e.site = localstore.WebsiteFromRecord(srv.AddWebsite(t, "example.com"))
	e.newSt = func() store.Store {
		if kind == "local" {
			return localstore.New(srv.App())
		}
		pb, err := pbrest.New(pbrest.Config{URL: srv.URL, Email: srv.Email, Password: srv.Password})
		if err != nil {
			t.Fatal(err)
		}
		return reststore.New(pb)
	}
	fn(t, e)
}

type instance struct {
	p     *pipeline.Pipeline
	site  *pipeline.Site
	sites *pipeline.Sites
	log   *spool.Log
}

func (e *env) start(t *testing.T, cfg pipeline.Config) *instance {
	t.Helper()
	cfg.Store = e.newSt()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	cfg.Sites = pipeline.NewSites()
	site, err := cfg.Sites.Put(e.site)
	if err != nil {
		t.Fatal(err)
	}
	if e.spoolDir != "" && cfg.Spool == nil {
		log, err := spool.Open(e.spoolDir, spool.Options{Logger: cfg.Logger})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Spool = log
	}
	p, err := pipeline.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{p: p, site: site, sites: cfg.Sites, log: cfg.Spool}
	t.Cleanup(func() { in.stop(context.Background()) })
	return in
}

// stop closes the instance's pipeline, then its intake log.
func (in *instance) stop(ctx context.Context) error {
	err := in.p.Close(ctx)
	if in.log != nil {
		_ = in.log.Close()
	}
	return err
}

func (in *instance) browse(t *testing.T, ip, ua, body string) {
	t.Helper()
	in.track(t, ip, ua, body, in.site)
}

func (in *instance) track(t *testing.T, ip, ua, body string, site *pipeline.Site) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = ip + ":50000"
	browsertest.Headers(r.Header, ua)
	if err := in.p.TrackBrowser(r, []byte(body), func(string) *pipeline.Site { return site }); err != nil {
		t.Fatalf("TrackBrowser(%s): %v", body, err)
	}
}

func (in *instance) server(t *testing.T, ip, ua, path, name string, data map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, nil)
	r.RemoteAddr = ip + ":50000"
	r.Header.Set("User-Agent", ua)
	if err := in.p.TrackServer(r, in.site.TrackingID, in.site, name, data, pipeline.Purchase{}); err != nil {
		t.Fatalf("TrackServer: %v", err)
	}
}

func flush(t *testing.T, p *pipeline.Pipeline) {
	t.Helper()
	// generous: under -race with every package's tests running at once,
	// PocketBase writes are more than 10x slower
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

const (
	chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	iphoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)

func pageView(path string) string {
	return fmt.Sprintf(`{"type":"pageView","url":"https://example.com%s","referrer":"https://news.example.org/item?id=1","screenWidth":1536,"screenHeight":864,"language":"en-GB"}`, path)
}

type sessionRow struct {
	ID           string `db:"id"`
	Visitor      string `db:"visitor"`
	Seq          int    `db:"seq"`
	EntryPath    string `db:"entryPath"`
	ExitPath     string `db:"exitPath"`
	IsNewVisitor bool   `db:"isNewVisitor"`
	EventCount   int    `db:"eventCount"`
	IsEngaged    bool   `db:"isEngaged"`
	LastActivity string `db:"lastActivity"`
	Browser      string `db:"browser"`
	Device       string `db:"device"`
	Referrer     string `db:"referrer"`
	ScreenWidth  string `db:"screenWidth"`
	Language     string `db:"language"`
}

type eventRow struct {
	ID        string         `db:"id"`
	Session   string         `db:"session"`
	Website   string         `db:"website"`
	Type      string         `db:"type"`
	Path      string         `db:"path"`
	EventName string         `db:"eventName"`
	EventData sql.NullString `db:"eventData"`
	Timestamp string         `db:"timestamp"`
}

func sessions(t *testing.T, app core.App) []sessionRow {
	t.Helper()
	var rows []sessionRow
	if err := app.DB().Select("*").From(schema.Sessions).OrderBy("lastActivity ASC", "seq ASC").All(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func events(t *testing.T, app core.App) []eventRow {
	t.Helper()
	var rows []eventRow
	if err := app.DB().Select("*").From(schema.Events).OrderBy("timestamp ASC").All(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func count(t *testing.T, app core.App, collection string, where dbx.Expression) int {
	t.Helper()
	var n int
	q := app.DB().Select("count(*)").From(collection)
	if where != nil {
		q = q.Where(where)
	}
	if err := q.Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func pbTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }

func TestScenarioYieldsExactlyTheExpectedRows(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		clk := testclock.New(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
		in := e.start(t, pipeline.Config{Now: clk.Now})
		t0 := clk.Now()
		at := func(d time.Duration) time.Time { clk.Set(t0.Add(d)); return t0.Add(d) }

		at(0)
		in.browse(t, "203.0.113.1", chromeUA, pageView("/"))
		at(30 * time.Second)
		in.browse(t, "203.0.113.2", iphoneUA, pageView("/blog?utm_source=x"))
		at(time.Minute)
		in.browse(t, "203.0.113.1", chromeUA, pageView("/pricing"))
		at(2 * time.Minute)
		in.browse(t, "203.0.113.1", chromeUA, `{"type":"custom","name":"signup_click","url":"https://example.com/pricing","customData":{"plan":"pro"}}`)
		at(3 * time.Minute)
		in.server(t, "203.0.113.1", chromeUA, "/auth/register?token=secret", "user_signup", map[string]any{"plan": "free"})
		flush(t, in.p)
		// 31 minutes later: a new session for visitor A, returning
		last := at(3*time.Minute + 31*time.Minute)
		in.browse(t, "203.0.113.1", chromeUA, pageView("/"))
		flush(t, in.p)

		app := e.app()
		if n := count(t, app, schema.Visitors, nil); n != 2 {
			t.Errorf("visitors = %d, want 2", n)
		}
		ss := sessions(t, app)
		if len(ss) != 3 {
			t.Fatalf("sessions = %d, want 3: %+v", len(ss), ss)
		}
		b, a1, a2 := ss[0], ss[1], ss[2] // by lastActivity: B (0:30), A1 (3:00), A2 (34:00)
		if b.EntryPath != "/blog" || b.ExitPath != "/blog" || !b.IsNewVisitor || b.EventCount != 1 || b.IsEngaged || b.Device != "mobile" {
			t.Errorf("visitor B's session = %+v", b)
		}
		if a1.EntryPath != "/" || a1.ExitPath != "/pricing" || !a1.IsNewVisitor || a1.Seq != 1 || a1.EventCount != 3 || !a1.IsEngaged {
			t.Errorf("visitor A's first session = %+v; want / → /pricing, new, 3 events, engaged", a1)
		}
		if a1.LastActivity != pbTime(t0.Add(3*time.Minute)) {
			t.Errorf("A1 lastActivity = %s, want the server event's time %s", a1.LastActivity, pbTime(t0.Add(3*time.Minute)))
		}
		if a1.Browser != "Chrome" || a1.Device != "desktop" || a1.Referrer != "https://news.example.org/item" || a1.ScreenWidth != "1536" || a1.Language != "en-GB" {
			t.Errorf("A1 session attributes = %+v", a1)
		}
		if a2.Visitor != a1.Visitor || a2.Seq != 2 || a2.IsNewVisitor || a2.EntryPath != "/" || a2.LastActivity != pbTime(last) {
			t.Errorf("visitor A's second session = %+v; want seq 2, returning", a2)
		}

		evs := events(t, app)
		want := []struct {
			session, typ, path, name string
			at                       time.Duration
		}{
			{a1.ID, "pageView", "/", "", 0},
			{b.ID, "pageView", "/blog", "", 30 * time.Second},
			{a1.ID, "pageView", "/pricing", "", time.Minute},
			{a1.ID, "custom", "/pricing", "signup_click", 2 * time.Minute},
			{a1.ID, "custom", "/auth/register", "user_signup", 3 * time.Minute},
			{a2.ID, "pageView", "/", "", 34 * time.Minute},
		}
		if len(evs) != len(want) {
			t.Fatalf("events = %d, want %d: %+v", len(evs), len(want), evs)
		}
		for i, w := range want {
			got := evs[i]
			if got.Session != w.session || got.Type != w.typ || got.Path != w.path || got.EventName != w.name ||
				got.Website != e.site.ID || got.Timestamp != pbTime(t0.Add(w.at)) {
				t.Errorf("event %d = %+v; want %+v at %s", i, got, w, pbTime(t0.Add(w.at)))
			}
		}
		if evs[3].EventData.String != `{"plan":"pro"}` {
			t.Errorf("custom eventData = %s", evs[3].EventData.String)
		}
		st := in.p.Stats()
		if st.Stored != 6 || st.Accepted != 6 || st.QueueDepth != 0 {
			t.Errorf("stats = %+v", st)
		}
	})
}
