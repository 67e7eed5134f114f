package stats_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/chtest/twin"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/schema"
)

// sendRevenue sends both sites of pair the same purchases (the twin
// traffic has none), on one clock from pair.Now, and ships the
// ClickHouse site's; it returns the clock just after the last.
func sendRevenue(t *testing.T, pair *twin.Pair) time.Time {
	t.Helper()
	geoDB := twin.GeoDB(t)
	var end time.Time
	for _, rec := range []*core.Record{pair.SQLite, pair.ClickHouse} {
		clk := &twin.Clock{}
		var st *chstore.Store
		var s *twin.Site
		if rec == pair.ClickHouse {
			st = chstore.New(pair.App, localstore.New(pair.App), pair.CH, chstore.Options{})
			s = twin.Track(t, st, rec, clk, geoDB)
		} else {
			s = twin.Track(t, localstore.New(pair.App), rec, clk, geoDB)
		}
		at := pair.Now
		for i := range 12 {
			b := twin.Browsers[i%len(twin.Browsers)]
			at = at.Add(time.Duration(7+i) * time.Minute)
			clk.Set(at)
			page := []string{"/pricing", "/checkout", "/docs"}[i%3]
			ref := []string{"", "https://www.google.com/", "https://news.example.org/item?id=3"}[i%3]
			query := []string{"", "?utm_source=newsletter&utm_medium=email"}[i%2]
			s.Send(t, b, fmt.Sprintf(`{"type":"pageView","url":"https://%%[1]s%s%s","pid":"rv%08d","referrer":"%s"}`, page, query, i, ref))
			clk.Set(at.Add(800 * time.Millisecond))
			amount := fmt.Sprintf("%d.%02d", 10+3*i, (17*i)%100)
			currency := []string{"usd", "EUR", "JPY"}[i%3]
			if currency == "JPY" {
				amount = fmt.Sprint(1500 + 100*i)
			}
			s.Send(t, b, fmt.Sprintf(`{"type":"custom","name":"buy","url":"https://%%[1]s%s","customData":{"plan":"%s"},"revenue":{"amount":"%s","currency":"%s"},"orderId":"o-%d"}`,
				page, []string{"pro", "free"}[i%2], amount, currency, i))
			if i%4 == 1 { // a repeated order counts once
				clk.Set(at.Add(1300 * time.Millisecond)) // events at one millisecond fall to ids in a timeline
				s.Send(t, b, fmt.Sprintf(`{"type":"custom","name":"buy","url":"https://%%[1]s%s","revenue":{"amount":"1","currency":"usd"},"orderId":"o-%d"}`, page, i))
			}
			s.Flush(t)
		}
		s.Close(t)
		if st != nil {
			if err := st.Ship(twin.Timeout(t)); err != nil {
				t.Fatal(err)
			}
		}
		end = at.Add(time.Minute)
	}
	return end
}

// TestClickHouseDrillDownsEqualSQLite asks the twin sites for the
// drill-downs (event properties, revenue by each dimension, event
// payloads, JS error groups, every session's page and timeline): those
// read from ClickHouse equal the SQLite ones but for the site's and the
// sessions' ids.
func TestClickHouseDrillDownsEqualSQLite(t *testing.T) {
	ch := chServer.StoreDatabase(t)
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	goals := []map[string]any{
		{"name": "Pricing", "type": goal.Page, "match": "/pricing"},
		{"name": "Signup", "type": goal.Event, "match": "signup"},
		{"name": "Buy", "type": goal.Event, "match": "buy"},
		{"name": "Buy pro", "type": goal.Event, "match": "buy", "propertyKey": "plan", "propertyValue": "pro"},
	}
	pair := twin.Send(t, srv, ch, 12, func(t testing.TB, app core.App, rec *core.Record) {
		for _, g := range goals {
			g["website"] = rec.Id
			pbtest.Save(t, app, schema.Goals, g)
		}
	})
	now := sendRevenue(t, pair)
	s := chSites{app: app, ch: ch, a: pair.SQLite, b: pair.ClickHouse, now: now}
	period := func(name, zone, from, to string) stats.Period { return chPeriod(t, now, name, zone, from, to) }
	periods := []stats.Period{period("30d", "UTC", "", ""), period("7d", "Asia/Kolkata", "", ""), period("24h", "UTC", "", ""),
		period("custom", "America/New_York", pair.T0.AddDate(0, 0, 2).Format(time.DateOnly), pair.T0.AddDate(0, 0, 8).Format(time.DateOnly))}
	filters := [][]stats.Filter{nil, {{Dim: "browser", Value: "Firefox"}}, {{Dim: "referrer", Value: "Direct"}},
		{{Dim: "page", Value: "/pricing"}}, {{Dim: "goal", Value: "Buy pro"}}, {{Dim: "user", Value: "user-1"}},
		{{Dim: "device", Value: "mobile", Not: true}, {Dim: "event", Value: "buy"}}, {{Dim: "utm_source", Value: "newsletter"}}}

	t.Run("properties", func(t *testing.T) { s.compareProperties(t, periods, filters) })
	t.Run("revenue", func(t *testing.T) { s.compareRevenue(t, periods, filters) })
	t.Run("payloads", func(t *testing.T) {
		n := 0
		for _, p := range periods {
			for _, name := range []string{"signup", "buy", "Outbound Link: Click", "Form: Submit", "404"} {
				for _, limit := range []int{10, 2} {
					want, err := stats.EventPayloads(chTimeout(t), app.DB(), s.a.Id, name, p, limit)
					if err != nil {
						t.Fatal(err)
					}
					got, err := stats.EventPayloadsClickHouse(chTimeout(t), ch, s.b.Id, name, p, limit)
					if err != nil {
						t.Fatal(err)
					}
					twin.Equal(t, fmt.Sprintf("payloads of %s, %s in %s, %d", name, p.Name, p.Timezone, limit), got, want)
					n += len(want)
				}
			}
		}
		if n == 0 {
			t.Error("no payload listed")
		}
	})
	t.Run("js errors", func(t *testing.T) {
		n := 0
		for _, msg := range []string{"TypeError: boom", "TypeError: bang", "TypeError: none"} {
			for _, limit := range []int{10, 1} {
				want, err := stats.JSErrorGroups(chTimeout(t), app.DB(), s.a.Id, msg, limit)
				if err != nil {
					t.Fatal(err)
				}
				got, err := stats.JSErrorGroupsClickHouse(chTimeout(t), ch, s.b.Id, msg, limit)
				if err != nil {
					t.Fatal(err)
				}
				twin.Equal(t, fmt.Sprintf("js errors %q, %d", msg, limit), got, want)
				n += len(want)
			}
		}
		if n == 0 {
			t.Error("no JS error group listed")
		}
	})
	t.Run("sessions", func(t *testing.T) { s.compareSessionPages(t, periods[0]) })
}

// compareProperties asks both sites for the properties of several custom
// events in each period under each filter set.
func (s chSites) compareProperties(t *testing.T, periods []stats.Period, filters [][]stats.Filter) {
	n, values := 0, 0
	for _, p := range periods {
		for _, f := range filters {
			for _, name := range []string{"signup", "buy", "Outbound Link: Click", "Form: Submit", "404"} {
				var out [2]map[string][]stats.PropertyValue
				for i, rec := range []*core.Record{s.a, s.b} {
					req := s.request(rec, p, f)
					req.Top = 3
					var err error
					if out[i], err = stats.Properties(chTimeout(t), s.app, rec.Id, name, req); err != nil {
						t.Fatalf("properties of %s, %s %v: %v", name, p.Name, f, err)
					}
				}
				if twin.Equal(t, fmt.Sprintf("properties of %s, %s in %s %v", name, p.Name, p.Timezone, f), out[1], out[0]) {
					n++
				}
				for _, vs := range out[0] {
					values += len(vs)
				}
			}
		}
	}
	if values == 0 {
		t.Error("no property value listed")
	}
	t.Logf("%d properties equal (%d values)", n, values)
}

// compareRevenue asks both sites for the revenue by each dimension in
// each period under each filter set.
func (s chSites) compareRevenue(t *testing.T, periods []stats.Period, filters [][]stats.Filter) {
	n, rows := 0, 0
	for _, p := range periods {
		for _, f := range filters {
			for _, by := range stats.RevenueDimensions() {
				var out [2][]stats.RevenueRow
				for i, rec := range []*core.Record{s.a, s.b} {
					var err error
					if out[i], err = stats.Revenue(chTimeout(t), s.app, rec.Id, by, s.request(rec, p, f)); err != nil {
						t.Fatalf("revenue by %s, %s %v: %v", by, p.Name, f, err)
					}
				}
				if twin.Equal(t, fmt.Sprintf("revenue by %s, %s in %s %v", by, p.Name, p.Timezone, f), out[1], out[0]) {
					n++
				}
				rows += len(out[0])
			}
		}
	}
	if rows == 0 {
		t.Error("no revenue row")
	}
	t.Logf("%d revenue breakdowns equal (%d rows)", n, rows)
}

// compareSessionPages reads every session of p on both sites, paired in
// the sessions list's order (their ids differ between the stores), and
// requires each one's page and timeline equal but for the id.
func (s chSites) compareSessionPages(t *testing.T, p stats.Period) {
	var list [2][]stats.SessionRow
	for i, rec := range []*core.Record{s.a, s.b} {
		var err error
		if list[i], err = stats.Sessions(chTimeout(t), s.app, rec.Id, s.request(rec, p, nil), 10000, 0); err != nil {
			t.Fatal(err)
		}
	}
	if len(list[0]) == 0 || len(list[1]) != len(list[0]) {
		t.Fatalf("%d sessions in ClickHouse, %d in SQLite", len(list[1]), len(list[0]))
	}
	events := 0
	for i := range list[0] {
		idA, idB := list[0][i].ID, list[1][i].ID
		want, err := stats.SessionByID(chTimeout(t), s.app.DB(), s.a.Id, idA)
		if err != nil {
			t.Fatal(err)
		}
		got, err := stats.SessionByIDClickHouse(chTimeout(t), s.ch, s.app.DB(), s.b.Id, idB)
		if err != nil {
			t.Fatal(err)
		}
		got.ID = want.ID
		twin.Equal(t, "session "+idA, got, want)
		wantT, err := stats.SessionTimeline(chTimeout(t), s.app.DB(), idA, 100)
		if err != nil {
			t.Fatal(err)
		}
		gotT, err := stats.SessionTimelineClickHouse(chTimeout(t), s.ch, s.b.Id, idB, 100)
		if err != nil {
			t.Fatal(err)
		}
		twin.Equal(t, "timeline of "+idA, gotT, wantT)
		events += len(wantT)
	}
	// another site's session is not found
	if _, err := stats.SessionByIDClickHouse(chTimeout(t), s.ch, s.app.DB(), s.a.Id, list[1][0].ID); !errors.Is(err, stats.ErrSessionNotFound) {
		t.Errorf("another site's session: %v, want ErrSessionNotFound", err)
	}
	t.Logf("%d sessions and %d timeline events compared", len(list[0]), events)
}
