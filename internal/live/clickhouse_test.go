package live

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/chtest/twin"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/ssetest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testclock"
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

// anonymous is s with the visitors' and sessions' ids blanked, since the
// twin sites' visitor and session records differ, and how many distinct
// visitors it named (which must then agree).
func anonymous(t *testing.T, s Snapshot) (Snapshot, int) {
	t.Helper()
	visitors := map[string]bool{}
	for i := range s.Visitors {
		visitors[s.Visitors[i].Visitor] = true
		s.Visitors[i].Visitor = ""
	}
	for i := range s.Recent {
		visitors[s.Recent[i].Visitor] = true
		s.Recent[i].Visitor, s.Recent[i].Session = "", ""
	}
	return s, len(visitors)
}

// TestClickHouseHubEqualsSQLite sends the twin traffic to a SQLite-store
// site and a chstore site, and asks a hub reading SQLite and one reading
// ClickHouse (Options.ClickHouse) for the same figures: the snapshots at
// the end of the traffic and just after each session's last activity,
// the active-visitor counts, and the session details of live events.
func TestClickHouseHubEqualsSQLite(t *testing.T) {
	ch := chServer.StoreDatabase(t)
	srv := pbtest.Start(t, pbtest.Options{})
	pair := twin.Send(t, srv, ch, 5, nil)
	app, a, b := pair.App, pair.SQLite, pair.ClickHouse

	// the clocks: the pair's, and each session's last activity (its last
	// event is at the clock) and half a minute after
	var last []string
	err := app.DB().Select("lastActivity").From(schema.Sessions).Where(dbx.HashExp{"website": a.Id}).
		OrderBy("lastActivity").Column(&last)
	if err != nil {
		t.Fatal(err)
	}
	clocks := []time.Time{pair.Now, pair.T0}
	for _, l := range last {
		at, err := time.Parse(pbLayout, l)
		if err != nil {
			t.Fatal(err)
		}
		clocks = append(clocks, at, at.Add(30*time.Second))
	}
	active, equal := 0, 0
	for _, at := range clocks {
		want, err := TakeSnapshot(twin.Timeout(t), app.DB(), a.Id, at)
		if err != nil {
			t.Fatal(err)
		}
		got, err := TakeSnapshotClickHouse(twin.Timeout(t), ch, b.Id, at)
		if err != nil {
			t.Fatal(err)
		}
		want, wantN := anonymous(t, want)
		got, gotN := anonymous(t, got)
		if gotN != wantN {
			t.Errorf("snapshot at %v: %d distinct visitors in ClickHouse, %d in SQLite", at, gotN, wantN)
		}
		if twin.Equal(t, "snapshot at "+at.String(), got, want) {
			equal++
		}
		active += want.ActiveVisitors
	}
	if active == 0 {
		t.Fatal("no snapshot has an active visitor")
	}
	t.Logf("%d of %d snapshots equal (%d active visitors in all)", equal, len(clocks), active)

	t.Run("serve", func(t *testing.T) { compareServe(t, pair) })
	t.Run("active", func(t *testing.T) { compareActive(t, pair, clocks) })
	t.Run("details", func(t *testing.T) { compareDetails(t, pair) })
}

// hubs are a hub reading SQLite and one reading the pair's ClickHouse.
func hubs(t *testing.T, pair *twin.Pair) [2]*Hub {
	var out [2]*Hub
	for i, opts := range []Options{{}, {ClickHouse: pair.CH}} {
		out[i] = NewHub(func() dbx.Builder { return pair.App.DB() }, opts)
		t.Cleanup(out[i].Close)
	}
	return out
}

// compareServe reads each hub's stream's snapshot at the pair's clock.
func compareServe(t *testing.T, pair *twin.Pair) {
	var snaps [2]Snapshot
	for i, h := range hubs(t, pair) {
		site := []*core.Record{pair.SQLite, pair.ClickHouse}[i]
		msgs, _ := openStream(t, func(w http.ResponseWriter, r *http.Request) { h.Serve(w, r, pair.App.DB(), site.Id, pair.Now) })
		m := ssetest.Next(t, msgs, testwait.Timeout())
		if err := json.Unmarshal([]byte(m.Data), &snaps[i]); m.Event != "snapshot" || err != nil {
			t.Fatalf("first message %+v, want the snapshot", m)
		}
		snaps[i], _ = anonymous(t, snaps[i])
	}
	if snaps[0].ActiveVisitors == 0 || len(snaps[0].Recent) == 0 {
		t.Errorf("the served snapshot is empty: %+v", snaps[0])
	}
	twin.Equal(t, "served snapshot", snaps[1], snaps[0])
}

// compareActive opens each hub's active-visitors stream of its site at
// each clock: the first counts are the same.
func compareActive(t *testing.T, pair *twin.Pair, clocks []time.Time) {
	hs := hubs(t, pair)
	sites := []*core.Record{pair.SQLite, pair.ClickHouse}
	active := 0
	for _, at := range clocks {
		var counts [2]int
		for i, h := range hs {
			msgs, cancel := openActive(t, h, pair.App, []string{sites[i].Id}, testclock.New(at).Now)
			counts[i] = next(t, msgs)[sites[i].Id]
			cancel()
		}
		if counts[1] != counts[0] {
			t.Errorf("active at %v: %d in ClickHouse, %d in SQLite", at, counts[1], counts[0])
		}
		active += counts[0]
	}
	if active == 0 {
		t.Error("no stream counted an active visitor")
	}
}

// compareDetails publishes an event of every session of the pair to
// each hub (the sessions paired in the sessions list's order, since
// their ids differ between the stores): the events each hub sends carry
// the same session details.
func compareDetails(t *testing.T, pair *twin.Pair) {
	hs := hubs(t, pair)
	p, err := stats.ParsePeriod("30d", "", "", pair.Now)
	if err != nil {
		t.Fatal(err)
	}
	var got [2][]Event
	for i, site := range []*core.Record{pair.SQLite, pair.ClickHouse} {
		rows, err := stats.Sessions(twin.Timeout(t), pair.App, site.Id,
			stats.Request{Period: p, Now: pair.Now, ClickHouse: pair.ClickHouseOf(site)}, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		sub := hs[i].Subscribe(site.Id)
		defer sub.Close()
		var evs []Stored
		for _, r := range rows {
			evs = append(evs, Stored{WebsiteID: site.Id, SessionID: r.ID, Type: "pageView", Path: r.ExitPath, Time: r.LastActivity.Time()})
		}
		hs[i].Publish(evs)
		for range evs {
			select {
			case e := <-sub.C:
				if e.Visitor == "" {
					t.Errorf("session %s: no visitor", e.Session)
				}
				e.Visitor, e.Session, e.WebsiteID = "", "", ""
				got[i] = append(got[i], e)
			case <-time.After(testwait.Timeout()):
				t.Fatalf("%d of %d events", len(got[i]), len(evs))
			}
		}
	}
	if len(got[0]) == 0 {
		t.Fatal("no session")
	}
	twin.Equal(t, "live events", got[1], got[0])
}
