package stats_test

import (
	"context"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// pastSession stores one visitor's session with one page view, active a
// minute before at, and returns the website and session.
func pastSession(t *testing.T, app core.App, at time.Time) (site, sess *core.Record) {
	t.Helper()
	dt := func(t time.Time) types.DateTime { d, _ := types.ParseDateTime(t); return d }
	site = pbtest.Save(t, app, schema.Websites, map[string]any{"name": "past", "domain": "past.example"})
	v := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v1", "name": "Ada"})
	sess = pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site.Id, "visitor": v.Id, "seq": 1,
		"isNewVisitor": true, "eventCount": 1, "entryPath": "/then", "exitPath": "/then",
		"startedAt": dt(at.Add(-10 * time.Minute)), "lastActivity": dt(at.Add(-time.Minute))})
	pbtest.Save(t, app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView",
		"path": "/then", "timestamp": dt(at.Add(-time.Minute))})
	return site, sess
}

// Every query reads the present from its now argument: with a clock set
// in the past, data of that time is live and in range, and with the wall
// clock it is not.
func TestQueriesUseTheGivenClock(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	past := time.Date(2021, 3, 4, 12, 0, 0, 0, time.UTC)
	site, sess := pastSession(t, app, past)
	ctx := context.Background()
	db := app.DB()

	for _, tt := range []struct {
		name         string
		now          time.Time
		active, rows int
	}{
		{"clock at the data", past, 1, 1},
		{"clock before the data", past.Add(-20 * time.Minute), 0, 0},
		{"wall clock", time.Now(), 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if n, err := stats.ActiveUsers(ctx, db, site.Id, tt.now); err != nil || n != tt.active {
				t.Errorf("ActiveUsers = %d, %v; want %d", n, err, tt.active)
			}
			today, err := stats.ParsePeriod("today", "", "", tt.now)
			if err != nil {
				t.Fatal(err)
			}
			r, err := stats.Query(ctx, app, site.Id, stats.Request{Period: today, Top: 10, Now: tt.now})
			if err != nil {
				t.Fatal(err)
			}
			if r.ActiveUsers != tt.active || int(r.PageViews.Value) != tt.rows || int(r.Visitors.Value) != tt.rows {
				t.Errorf("Query: active %d, page views %v, visitors %v; want %d, %d, %d",
					r.ActiveUsers, r.PageViews.Value, r.Visitors.Value, tt.active, tt.rows, tt.rows)
			}
			list, err := stats.Sessions(ctx, app, site.Id, stats.Request{Period: today}, 10, 0)
			if err != nil || len(list) != tt.rows {
				t.Fatalf("Sessions = %d rows, %v; want %d", len(list), err, tt.rows)
			}
			if tt.rows > 0 && (list[0].ID != sess.Id || list[0].UserName != "Ada") {
				t.Errorf("Sessions[0] = %+v; want session %s of Ada", list[0], sess.Id)
			}
		})
	}

	got, err := stats.SessionByID(ctx, db, site.Id, sess.Id)
	if err != nil || got.EntryPath != "/then" || !got.IsNew {
		t.Fatalf("SessionByID = %+v, %v", got, err)
	}
	if _, err := stats.SessionByID(ctx, db, "another-site", sess.Id); err != stats.ErrSessionNotFound {
		t.Errorf("SessionByID of another website: %v; want ErrSessionNotFound", err)
	}
	events, err := stats.SessionTimeline(ctx, db, sess.Id, 10)
	if err != nil || len(events) != 1 || events[0].Path != "/then" || events[0].EventData != "" {
		t.Errorf("SessionTimeline = %+v, %v", events, err)
	}
}
