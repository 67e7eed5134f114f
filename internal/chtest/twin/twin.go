// Package twin sends the same traffic through the pipeline to two
// websites of one PocketBase: one written by the SQLite store, one by the
// ClickHouse store (chstore), so that a test can ask both for the same
// figures and require them equal. It is the proof of issue 31's rule
// that ClickHouse gives the same figures as SQLite for the same events;
// only tests import it.
package twin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/testclock"
	"github.com/skopos-go/skopos/internal/testwait"
)

// Timeout is a context for one step of a test, cancelled at its end.
func Timeout(t testing.TB) context.Context { return testwait.Context(t) }

// Clock is a settable clock shared by a run's pipelines.
type Clock = testclock.Clock

// Site is one website's pipeline over a store.
type Site struct {
	P    *pipeline.Pipeline
	Site *pipeline.Site
	host string
}

// Track starts a pipeline for rec over st, on clk, locating addresses in
// db (nil: none).
func Track(t testing.TB, st store.Store, rec *core.Record, clk *Clock, db *geo.DB) *Site {
	t.Helper()
	sites := pipeline.NewSites()
	ps, err := sites.Put(localstore.WebsiteFromRecord(rec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Store: st, Sites: sites, Now: clk.Now, Geo: db, RateLimit: -1,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	return &Site{P: p, Site: ps, host: rec.GetString("domain")}
}

// Browser is one visitor's device: its address, user agent and language.
type Browser struct{ IP, UA, Lang string }

// Request is a browser request of b to the event endpoint.
func (b Browser) Request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	r.RemoteAddr = b.IP + ":50000"
	browsertest.Headers(r.Header, b.UA)
	r.Header.Set("Accept-Language", b.Lang)
	return r
}

// Send tracks one browser event; body is JSON with %[1]s for the host.
func (s *Site) Send(t testing.TB, b Browser, body string) {
	t.Helper()
	body = fmt.Sprintf(body, s.host)
	if err := s.P.TrackBrowser(b.Request(), []byte(body), func(string) *pipeline.Site { return s.Site }); err != nil {
		t.Fatalf("TrackBrowser(%s): %v", body, err)
	}
}

// Flush writes what the pipeline holds.
func (s *Site) Flush(t testing.TB) {
	t.Helper()
	if err := s.P.Flush(Timeout(t)); err != nil {
		t.Fatal(err)
	}
}

// Close writes what the pipeline holds and stops it.
func (s *Site) Close(t testing.TB) {
	t.Helper()
	if err := s.P.Close(Timeout(t)); err != nil {
		t.Fatal(err)
	}
}

const firefoxUA = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"

// Browsers are the visitors: three countries of GeoDB's database (one
// with two visitors) and one address it does not know.
var Browsers = []Browser{
	{"81.2.69.10", browsertest.Chrome, "en-GB"},
	{"89.160.20.112", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "sv-SE"},
	{"216.160.83.56", firefoxUA, "en-US"},
	{"81.2.69.20", firefoxUA, "en-GB"},
	{"2.125.160.216", browsertest.Chrome, "de-DE"},
}

// GeoDB is a GeoIP database that knows Browsers' first three countries
// (GB England, SE, US Washington).
func GeoDB(t testing.TB) *geo.DB {
	t.Helper()
	db, err := geo.Open(geotest.Write(t, "GeoLite2-City", []geotest.Network{
		{CIDR: "81.2.69.0/24", Value: geotest.City("GB", "ENG")},
		{CIDR: "89.160.20.0/24", Value: geotest.City("SE", "E")},
		{CIDR: "216.160.83.0/24", Value: geotest.City("US", "WA")},
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Traffic sends the same visits to a site over days days from t0, step
// by step on clk: page views from referrers and campaigns with
// engagement beacons (some raised later), custom events with data, the
// automatic events, JS errors, second sessions past the timeout, late
// events that move a session's start, identified visitors (user-1 and
// user-2) and, halfway, a restart (a new pipeline over a new store).
// open returns the site's pipeline over a fresh store. Custom events
// come half a second after their page view: at one millisecond their
// keys would tie, and fall to random ids that differ between the stores.
func Traffic(t testing.TB, open func() *Site, clk *Clock, t0 time.Time, days int) {
	t.Helper()
	r := rand.New(rand.NewPCG(31, 2))
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	pages := []string{"/", "/pricing", "/docs", "/docs/api", "/blog/first", "/blog/second", "/about"}
	s := open()
	pv := 0
	for d := range days {
		if d == days/2 {
			s.Close(t)
			s = open()
		}
		for i, b := range Browsers {
			if (d+i)%4 == 3 {
				continue
			}
			at := t0.AddDate(0, 0, d).Add(time.Duration(6+(3*i+5*d)%14)*time.Hour + time.Duration(1+(7*i+11*d)%50)*time.Minute)
			clk.Set(at)
			ref := pick("", "https://news.example.org/item?id=3", "https://www.google.com/", "https://github.com/skopos-go/skopos", "")
			query := pick("", "", "?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "?utm_source=ads&utm_medium=cpc&utm_campaign=summer&utm_term=analytics&utm_content=banner")
			entry := pick(pages...)
			pv++
			first := fmt.Sprintf("pv%08d", pv)
			s.Send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s%s%s","pid":"%s","referrer":"%s","language":"%s","screenWidth":%d}`,
				entry, query, first, ref, b.Lang, []int{390, 1536, 1920}[i%3]))
			if (d+i)%5 == 0 { // a late event: before the session's start, in its hour
				clk.Set(at.Add(-40 * time.Second))
				pv++
				s.Send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s/about","pid":"pv%08d"}`, pv))
				clk.Set(at)
			}
			s.Flush(t)
			steps := r.IntN(4)
			for k := range steps {
				clk.Set(at.Add(time.Duration(20*(k+1)) * time.Second))
				if r.IntN(2) == 0 {
					s.Send(t, b, fmt.Sprintf(`{"type":"engagement","url":"https://%%[1]s%s","pid":"%s","engagedMs":%d,"scroll":%d}`,
						entry, first, 1000*(k+1)+r.IntN(900), 20*(k+1)))
				}
				pv++
				s.Send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s%s","pid":"pv%08d"}`, pick(pages...), pv))
				clk.Set(at.Add(time.Duration(20*(k+1))*time.Second + 500*time.Millisecond))
				switch r.IntN(7) {
				case 0:
					s.Send(t, b, `{"type":"custom","name":"signup","url":"https://%[1]s/pricing","customData":{"plan":"`+pick("pro", "free")+`","seats":3}}`)
				case 1:
					s.Send(t, b, `{"type":"custom","name":"Outbound Link: Click","url":"https://%[1]s/docs","customData":{"url":"`+pick("https://github.com/x", "https://example.net/")+`"}}`)
				case 2:
					s.Send(t, b, `{"type":"custom","name":"File Download","url":"https://%[1]s/docs","customData":{"url":"https://cdn.example.com/a.pdf"}}`)
				case 3:
					s.Send(t, b, `{"type":"custom","name":"404","url":"https://%[1]s/missing"}`)
				case 4:
					s.Send(t, b, `{"type":"custom","name":"Form: Submit","url":"https://%[1]s/about","customData":{"form":"contact"}}`)
				case 5:
					s.Send(t, b, `{"type":"jsError","url":"https://%[1]s/docs","errorMessage":"TypeError: `+pick("boom", "bang")+`","stackTrace":"at f (app.js:1:2)"}`)
				}
			}
			s.Flush(t)
			if steps > 0 && r.IntN(2) == 0 { // a beacon raising the first page view later
				clk.Set(at.Add(2 * time.Minute))
				s.Send(t, b, fmt.Sprintf(`{"type":"engagement","url":"https://%%[1]s%s","pid":"%s","engagedMs":%d,"scroll":100}`,
					entry, first, 30000+r.IntN(5000)))
				s.Flush(t)
			}
			if i < 2 && d == 1 {
				id := pipeline.Identity{Metadata: map[string]any{"plan": []string{"pro", "free"}[i], "seats": i + 1}}
				if err := s.P.Identify(Timeout(t), b.Request(), s.Site, fmt.Sprintf("user-%d", i+1), id); err != nil {
					t.Fatal(err)
				}
			}
			if (d+i)%3 == 0 { // a second session, past the timeout
				clk.Set(at.Add(45 * time.Minute))
				pv++
				s.Send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s/docs/api","pid":"pv%08d"}`, pv))
				s.Flush(t)
			}
		}
	}
	s.Close(t)
}

// Pair is two websites of one PocketBase that got the same Traffic: SQLite
// written by the SQLite store, ClickHouse by chstore into CH (shipped).
type Pair struct {
	App                core.App
	SQLite, ClickHouse *core.Record
	CH                 *clickhouse.Client
	// Store is the chstore of the ClickHouse site's last pipeline.
	Store *chstore.Store
	// T0 is the first day of the traffic (UTC midnight), Now the clock
	// just after the last visit, not on a whole hour.
	T0, Now time.Time
}

// Setup prepares a website before the traffic (goals, funnels).
type Setup func(t testing.TB, app core.App, rec *core.Record)

// Send makes the pair's two websites on srv, runs setup on each, sends
// them days days of Traffic ending yesterday (UTC), and ships the
// ClickHouse site's outbox into ch.
func Send(t testing.TB, srv *pbtest.Server, ch *clickhouse.Client, days int, setup Setup) *Pair {
	t.Helper()
	app := srv.App()
	pr := &Pair{App: app, CH: ch,
		SQLite: srv.AddWebsite(t, "a.example.com"), ClickHouse: srv.AddWebsite(t, "b.example.com")}
	if setup != nil {
		setup(t, app, pr.SQLite)
		setup(t, app, pr.ClickHouse)
	}
	geoDB := GeoDB(t)
	pr.T0 = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
	clk := &Clock{}
	Traffic(t, func() *Site { return Track(t, localstore.New(app), pr.SQLite, clk, geoDB) }, clk, pr.T0, days)
	Traffic(t, func() *Site {
		pr.Store = chstore.New(app, localstore.New(app), ch, chstore.Options{})
		return Track(t, pr.Store, pr.ClickHouse, clk, geoDB)
	}, clk, pr.T0, days)
	if err := pr.Store.Ship(Timeout(t)); err != nil {
		t.Fatal(err)
	}
	pr.Now = clk.Now().Add(time.Minute + 13*time.Second)
	return pr
}

// ClickHouseOf is ch for the ClickHouse site and nil for the SQLite one:
// what a reader's ClickHouse field gets.
func (pr *Pair) ClickHouseOf(rec *core.Record) *clickhouse.Client {
	if rec.Id == pr.ClickHouse.Id {
		return pr.CH
	}
	return nil
}

// Equal fails t unless got (read from ClickHouse) equals want (from
// SQLite), as values and as JSON.
func Equal(t testing.TB, what string, got, want any) bool {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !reflect.DeepEqual(got, want) || string(g) != string(w) {
		t.Errorf("%s:\nclickhouse %s\nsqlite     %s", what, g, w)
		return false
	}
	return true
}
