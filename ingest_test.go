package skopos_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/plugintest"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/wire"
	"github.com/skopos-go/skopos/plugin"
)

// startSkoposServer starts PocketBase with the Skopos plugin: what
// `skopos serve` runs.
func startSkoposServer(t *testing.T) *pbtest.Server {
	t.Helper()
	return plugintest.Start(t, plugin.Config{})
}

// roundRobin sends a scripted stream of one website's traffic through two
// SDK Clients as a round-robin balancer would (each visitor's requests
// alternate between them), restarts the first Client midway, and returns
// how many events rows and JS error occurrences the traffic holds. paced
// sends each request only once the previous ones are stored, as a
// visitor's clicks come seconds apart in real traffic; otherwise as fast
// as the clients go (both instances writing the same sessions at once).
func roundRobin(t *testing.T, srv *pbtest.Server, site *core.Record, route string, paced bool) (events, jsErrors int) {
	t.Helper()
	ctx := context.Background()
	opts := options(srv, site.GetString("trackingId"))
	opts.Route = route
	start := func() *skopos.Client {
		c, err := skopos.Init(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Stats().Route; got != route {
			t.Fatalf("Stats().Route = %q, want %q", got, route)
		}
		return c
	}
	clients := []*skopos.Client{start(), start()}
	visitors, total := 80, 1600
	switch {
	case paced && raceEnabled: // one request at a time is slow under the race detector
		total = 240
	case raceEnabled: // still every visitor's requests on both instances, six each
		total = 480
	}
	rng := rand.New(rand.NewPCG(7, 8))
	paths := []string{"/", "/pricing", "/blog", "/blog/a", "/docs", "/signup"}
	turns := make([]int, visitors)
	for i := range total {
		v := rng.IntN(visitors)
		c := clients[turns[v]%2]
		turns[v]++
		ip := fmt.Sprintf("203.0.%d.%d", 113+v/200, v%200+1)
		url := "https://" + site.GetString("domain") + paths[rng.IntN(len(paths))]
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		r.RemoteAddr = ip + ":4000"
		browsertest.Headers(r.Header, "")
		var err error
		switch k := rng.IntN(100); {
		case k < 70:
			events++
			err = c.TrackAPIEvent(r, []byte(fmt.Sprintf(`{"type":"pageView","url":%q,"language":"en-GB"}`, url)))
		case k < 85:
			events++
			err = c.TrackAPIEvent(r, []byte(fmt.Sprintf(`{"type":"custom","name":"cta_%d","url":%q}`, rng.IntN(3), url)))
		case k < 93:
			events++
			err = c.TrackServerEvent(r, fmt.Sprintf("srv_%d", rng.IntN(2)), nil)
		default:
			jsErrors++
			err = c.TrackAPIEvent(r, []byte(fmt.Sprintf(`{"type":"jsError","url":%q,"errorMessage":"E%d","stackTrace":"E\n    at f (%s/app.js:1:1)"}`, url, rng.IntN(3), url)))
		}
		if err != nil {
			t.Fatal(err)
		}
		if paced {
			testwait.Until(t, "the events sent so far stored", func() bool {
				var n int
				_ = srv.App().DB().NewQuery("SELECT COUNT(*) FROM events").Row(&n)
				return n == events
			})
		}
		if i == total/2 { // a new process for the first instance
			if err := clients[0].Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			clients[0] = start()
		}
	}
	for _, c := range clients {
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); route == skopos.RouteBatch {
			t.Logf("instance: stored %d, refreshed %d sessions, retries %d, conflicts %d", st.Stored, st.Refreshed, st.Retries, st.Conflicts)
		}
	}
	return events, jsErrors
}

// TestRoundRobinThroughTheSkoposServerCountsLikeOneInstance: two SDK
// instances behind round-robin routing (and one restarted midway) hand
// their events to a Skopos server, whose writer builds the sessions:
// every session row and every summary equals what the raw events imply.
func TestRoundRobinThroughTheSkoposServerCountsLikeOneInstance(t *testing.T) {
	t.Parallel()
	srv := startSkoposServer(t)
	site := srv.AddWebsite(t, "rr.example")
	events, jsErrors := roundRobin(t, srv, site, skopos.RouteIngest, false)
	db := srv.App().DB()
	testwait.For(t, testwait.Events(events+jsErrors), "the server stores every forwarded event", func() bool {
		var n, js int
		_ = db.NewQuery("SELECT COUNT(*) FROM events").Row(&n)
		_ = db.NewQuery("SELECT COALESCE(SUM(count), 0) FROM js_errors").Row(&js)
		return n == events && js == jsErrors
	})
	if bad := summarytest.SessionDrift(t, srv.App().DB(), func(name string) bool { return strings.HasPrefix(name, "srv_") }); len(bad) > 0 {
		t.Errorf("%d session rows differ from their events, e.g. %s", len(bad), strings.Join(bad[:min(5, len(bad))], "; "))
	}
	summarytest.Check(t, db, "after round-robin traffic through the Skopos server")
}

// TestRoundRobinThroughPlainPocketBaseDrift runs the same traffic through
// PocketBase's batch API, where each instance sessionizes from its own
// cache, re-reading the open sessions of the visitors it holds before
// each flush. Paced (each request after the previous ones are stored),
// that re-read makes sessions and summaries exact (without it: 151
// engaged sessions for 80, measured); as fast as the
// clients go, both instances write the same sessions at the same moments
// and the last writer wins: that drift is measured and logged, the README
// quotes it.
func TestRoundRobinThroughPlainPocketBaseDrift(t *testing.T) {
	t.Parallel()
	for _, paced := range []bool{false, true} {
		t.Run(fmt.Sprintf("paced=%v", paced), func(t *testing.T) {
			t.Parallel()
			srv := pbtest.Start(t, pbtest.Options{})
			site := srv.AddWebsite(t, "rr.example")
			roundRobin(t, srv, site, skopos.RouteBatch, paced)
			db := srv.App().DB()
			bad := summarytest.SessionDrift(t, db, func(name string) bool { return strings.HasPrefix(name, "srv_") })
			var sessions, visitors, engaged int
			_ = db.NewQuery("SELECT COUNT(*) FROM sessions").Row(&sessions)
			_ = db.NewQuery("SELECT COUNT(*) FROM visitors").Row(&visitors)
			_ = db.NewQuery("SELECT COALESCE(SUM(engagedSessions), 0) FROM dash_sum").Row(&engaged)
			kinds := map[string]int{}
			for _, b := range bad {
				if _, rest, ok := strings.Cut(b, ": "); ok {
					kinds[strings.Fields(rest)[0]]++
				}
			}
			sums := &recordTB{TB: t}
			summarytest.Check(sums, db, "round-robin through the batch API")
			t.Logf("plain PocketBase, round-robin over two instances: %d sessions for %d visitors, %d engaged in dash_sum, %d session rows differ from their events (first difference of each: %v), %d summary figures differ from the session rows",
				sessions, visitors, engaged, len(bad), kinds, len(sums.errs))
			for _, e := range sums.errs[:min(3, len(sums.errs))] {
				t.Log(e)
			}
			// one request at a time: every instance must continue the
			// latest state, so sessions and summaries come out exact
			if paced && (sessions != visitors || len(bad) > 0 || len(sums.errs) > 0) {
				t.Errorf("paced traffic: %d sessions for %d visitors, %d session rows and %d summary figures off: an instance continued a stale copy",
					sessions, visitors, len(bad), len(sums.errs))
			}
		})
	}
}

// recordTB keeps the errors of a check instead of failing the test.
type recordTB struct {
	testing.TB
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestInitPicksTheRoute: with RouteAuto a Skopos server gets the ingest
// route and a plain PocketBase the batch API; asking for the ingest route
// of a plain PocketBase, or computing visitor ids with another salt than
// the server's, fails Init with a clear error.
func TestInitPicksTheRoute(t *testing.T) {
	t.Parallel()
	skoposSrv := startSkoposServer(t)
	plainSrv := pbtest.Start(t, pbtest.Options{})
	s1 := skoposSrv.AddWebsite(t, "a.example")
	s2 := plainSrv.AddWebsite(t, "b.example")
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		srv   *pbtest.Server
		site  *core.Record
		route string
		salt  string
		want  string
		err   error
	}{
		{"auto, Skopos server", skoposSrv, s1, skopos.RouteAuto, "", skopos.RouteIngest, nil},
		{"auto, plain PocketBase", plainSrv, s2, skopos.RouteAuto, "", skopos.RouteBatch, nil},
		{"batch forced, Skopos server", skoposSrv, s1, skopos.RouteBatch, "", skopos.RouteBatch, nil},
		{"ingest, plain PocketBase", plainSrv, s2, skopos.RouteIngest, "", "", skopos.ErrNoIngest},
		{"another salt", skoposSrv, s1, skopos.RouteAuto, "not-the-server's", "", skopos.ErrInvalidOption},
		{"unknown route", skoposSrv, s1, "carrier-pigeon", "", "", skopos.ErrInvalidOption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(tc.srv, tc.site.GetString("trackingId"))
			opts.Route, opts.VisitorSalt = tc.route, tc.salt
			c, err := skopos.Init(ctx, opts)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Init: %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Shutdown(ctx)
			if got := c.Stats().Route; got != tc.want {
				t.Errorf("Route = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestBurstIntoSpooledSDKThroughTheServerIsKeptWhole: a 20 000-event burst
// (5 000 under the race detector) into one SDK app with a SpoolDir is
// accepted whole (no 503: the spool absorbs it at disk speed) and stored
// whole by the Skopos server.
func TestBurstIntoSpooledSDKThroughTheServerIsKeptWhole(t *testing.T) {
	t.Parallel()
	srv := startSkoposServer(t)
	site := srv.AddWebsite(t, "burst.example")
	opts := options(srv, site.GetString("trackingId"))
	opts.SpoolDir = t.TempDir()
	opts.QueueSize = 100 // far below the burst: only the spool can hold it
	ctx := context.Background()
	c, err := skopos.Init(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	burst, conc := 20000, 64
	if raceEnabled {
		burst = 5000 // still 50 times QueueSize
	}
	h := c.Handler()
	var wg sync.WaitGroup
	var refused atomic.Int64
	for g := range conc {
		wg.Go(func() {
			for i := g; i < burst; i += conc {
				r := httptest.NewRequest(http.MethodPost, "/api/event",
					strings.NewReader(fmt.Sprintf(`{"type":"pageView","url":"https://burst.example/p/%d"}`, i%40)))
				r.RemoteAddr = fmt.Sprintf("198.18.%d.%d:1", i%2000/250, i%250+1)
				browsertest.Headers(r.Header, "")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusNoContent {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := refused.Load(); n != 0 {
		t.Fatalf("%d of %d events refused", n, burst)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, testwait.Events(burst), "the server stores the burst", func() bool {
		var n int
		_ = srv.App().DB().NewQuery("SELECT COUNT(*) FROM events").Row(&n)
		return n == burst
	})
	if st := c.Stats(); st.Accepted != uint64(burst) || st.Stored != uint64(burst) {
		t.Errorf("stats: accepted %d, handed over %d; want %d", st.Accepted, st.Stored, burst)
	}
}

// TestIdentifyThroughTheSkoposServer: Identify writes the visitor through
// PocketBase's REST API while its events go through the ingest route; the
// server's writer then continues that visitor (same derived id) and keeps
// what Identify set.
func TestIdentifyThroughTheSkoposServer(t *testing.T) {
	t.Parallel()
	srv := startSkoposServer(t)
	site := srv.AddWebsite(t, "id.example")
	ctx := context.Background()
	c, err := skopos.Init(ctx, options(srv, site.GetString("trackingId")))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = "203.0.113.50:1"
	browsertest.Headers(r.Header, "")
	if err := c.Identify(ctx, r, "user-42", skopos.IdentifyData{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/a", "/b"} {
		if err := c.TrackAPIEvent(r, []byte(`{"type":"pageView","url":"https://id.example`+p+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	db := srv.App().DB()
	testwait.Until(t, "the events stored", func() bool {
		var n int
		_ = db.NewQuery("SELECT COUNT(*) FROM events").Row(&n)
		return n == 2
	})
	var visitors int
	var userID, email string
	if err := db.NewQuery("SELECT COUNT(*), MAX(userId), MAX(email) FROM visitors").Row(&visitors, &userID, &email); err != nil {
		t.Fatal(err)
	}
	if visitors != 1 || userID != "user-42" || email != "ada@example.com" {
		t.Errorf("visitors %d, userId %q, email %q; want one visitor, user-42, ada@example.com", visitors, userID, email)
	}
}

// TestForwardDropsABatchTheServerHoldsWithOtherEvents: when the server
// answers 409 (the batch id is one it holds with other events), the SDK
// drops the batch as refused, counted, instead of retrying it forever.
// A proxy in front of the real server sends the server a batch of the
// same id with other events first.
func TestForwardDropsABatchTheServerHoldsWithOtherEvents(t *testing.T) {
	t.Parallel()
	srv := startSkoposServer(t)
	site := srv.AddWebsite(t, "conflict.example")
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	var ingests atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == wire.IngestPath && ingests.Add(1) == 1 {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			b, err := wire.Decode(bytes.NewReader(body), r.Header.Get("Content-Encoding"))
			if err != nil {
				t.Errorf("decode the SDK's batch: %v", err)
			}
			other := slices.Clone(b.Events)
			for i := range other {
				other[i].ID = pipeline.NewID()
			}
			var buf bytes.Buffer
			_ = wire.Encode(&buf, b.ID, other)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.IngestPath, &buf)
			req.Header = r.Header.Clone()
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("the other events under the SDK's batch id: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	opts := options(srv, site.GetString("trackingId"))
	opts.PocketBaseURL, opts.Route = proxy.URL, skopos.RouteIngest
	c, err := skopos.Init(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(context.Background())
	const n = 1
	trackSignups(t, c, n)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	if err := c.FlushEvents(ctx); err != nil {
		t.Fatalf("flush: %v (a 409 retried until the deadline?)", err)
	}
	if st := c.Stats(); st.Dropped[pipeline.ReasonRefused] != n || st.Stored != 0 {
		t.Errorf("stats %+v: want %d dropped as refused, none stored", st, n)
	}
	if got := ingests.Load(); got != 1 {
		t.Errorf("%d ingest requests, want 1 (no retry)", got)
	}
}
