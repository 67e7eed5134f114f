package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/testclock"
	"github.com/skopos-go/skopos/schema"
)

func pageViewPID(path, pid string) string {
	return fmt.Sprintf(`{"type":"pageView","url":"https://example.com%s","pid":%q}`, path, pid)
}

func engagementBeacon(pid string, ms, scroll int) string {
	return fmt.Sprintf(`{"type":"engagement","url":"https://example.com/","pid":%q,"engagedMs":%d,"scroll":%d}`, pid, ms, scroll)
}

type engagementRow struct {
	Path        string `db:"path"`
	Session     string `db:"session"`
	EngagedMs   int    `db:"engagedMs"`
	ScrollDepth int    `db:"scrollDepth"`
}

// TestEngagementRaisesItsPageViewOnly: beacons raise their page view's
// engaged time and scroll depth to the largest reported (in any order,
// also before a restart and in the flush that writes the page view) and
// add the increase to its session; they are no events, do not move the
// session or end a bounce, and another visitor's or an unknown page view's
// beacon is dropped and counted.
func TestEngagementRaisesItsPageViewOnly(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, e *env) {
		clk := testclock.New(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
		in := e.start(t, pipeline.Config{Now: clk.Now})
		t0 := clk.Now()
		at := func(d time.Duration) { clk.Set(t0.Add(d)) }
		const a, b = "203.0.113.1", "203.0.113.2"

		at(0)
		in.browse(t, a, chromeUA, pageViewPID("/", "pageone1"))
		in.browse(t, b, chromeUA, pageViewPID("/solo", "pagesolo"))
		flush(t, in.p)
		at(10 * time.Second)
		in.browse(t, a, chromeUA, engagementBeacon("pageone1", 5000, 40))
		in.browse(t, a, chromeUA, engagementBeacon("pageone1", 3000, 60))   // late and lower: scroll only
		in.browse(t, b, chromeUA, engagementBeacon("pageone1", 60000, 100)) // another visitor's
		in.browse(t, a, chromeUA, engagementBeacon("unknown1", 1000, 10))   // no such page view
		in.browse(t, b, chromeUA, engagementBeacon("pagesolo", 60000, 100)) // a bounce stays one
		at(20 * time.Second)
		in.browse(t, a, chromeUA, pageViewPID("/two", "pagetwo2"))
		in.browse(t, a, chromeUA, pageViewPID("/two", "pagetwo2")) // sent twice: one row
		in.browse(t, a, chromeUA, engagementBeacon("pagetwo2", 2000, 100))
		// a beacon accepted before its page view (two requests of one
		// page a moment apart) waits for it within the batch
		at(25 * time.Second)
		in.browse(t, a, chromeUA, engagementBeacon("pagethr3", 1500, 30))
		in.browse(t, a, chromeUA, pageViewPID("/three", "pagethr3"))
		flush(t, in.p)
		st := in.p.Stats()
		if err := in.stop(t.Context()); err != nil {
			t.Fatal(err)
		}

		// after a restart the page view is read back from the store
		in = e.start(t, pipeline.Config{Now: clk.Now})
		at(40 * time.Minute) // past the session timeout: still its page view's session
		in.browse(t, a, chromeUA, engagementBeacon("pageone1", 9000, 50))
		in.browse(t, a, chromeUA, engagementBeacon("pageone1", 9000, 50)) // again: nothing new
		flush(t, in.p)

		app := e.app()
		var rows []engagementRow
		if err := app.DB().Select("path", "session", "engagedMs", "scrollDepth").From(schema.Events).OrderBy("timestamp").All(&rows); err != nil {
			t.Fatal(err)
		}
		want := []engagementRow{{"/", "", 9000, 60}, {"/solo", "", 60000, 100}, {"/two", "", 2000, 100}, {"/three", "", 1500, 30}}
		if len(rows) != len(want) {
			t.Fatalf("events rows %+v, want %+v", rows, want)
		}
		for i := range want {
			want[i].Session = rows[i].Session
			if rows[i] != want[i] {
				t.Errorf("page view %d: %+v, want %+v", i, rows[i], want[i])
			}
		}
		type sess struct {
			EngagedMs    int    `db:"engagedMs"`
			EventCount   int    `db:"eventCount"`
			IsEngaged    bool   `db:"isEngaged"`
			ExitPath     string `db:"exitPath"`
			LastActivity string `db:"lastActivity"`
		}
		var sa, sb sess
		q := func(id string, s *sess) {
			if err := app.DB().Select("engagedMs", "eventCount", "isEngaged", "exitPath", "lastActivity").From(schema.Sessions).
				Where(dbx.HashExp{"id": id}).One(s); err != nil {
				t.Fatal(err)
			}
		}
		q(rows[0].Session, &sa)
		q(rows[1].Session, &sb)
		if sa != (sess{12500, 3, true, "/three", pbTime(t0.Add(25 * time.Second))}) {
			t.Errorf("visitor A's session %+v: want 12500 ms engaged, 3 events, exit /three at 0:25", sa)
		}
		if sb != (sess{60000, 1, false, "/solo", pbTime(t0)}) {
			t.Errorf("visitor B's session %+v: want 60000 ms engaged, still a bounce", sb)
		}
		if n := count(t, app, schema.Sessions, nil); n != 2 {
			t.Errorf("%d sessions, want 2 (a beacon opens none)", n)
		}
		var bounces int
		if err := app.DB().Select("COALESCE(SUM(bounces), 0)").From(schema.DashSum).Row(&bounces); err != nil {
			t.Fatal(err)
		}
		if bounces != 1 {
			t.Errorf("dash_sum bounces %d, want 1", bounces)
		}
		if st.Stored != 4 || st.Replayed != 1 || st.Engagements != 5 || st.Dropped[pipeline.ReasonEngagementOrphan] != 2 {
			t.Errorf("first instance: stored %d, replayed %d, engagements %d, dropped %v; want 4 (one replayed), 5, 2 orphans",
				st.Stored, st.Replayed, st.Engagements, st.Dropped)
		}
		if st := in.p.Stats(); st.Stored != 0 || st.Engagements != 2 || st.QueueDepth != 0 {
			t.Errorf("second instance: %+v", st)
		}
	})
}
