package dashboard_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/live"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// The dashboard's pages read the present from Options.Now: with the clock
// set in the past, a session of that time is live, today's and listed.
func TestDashboardUsesItsClock(t *testing.T) {
	t.Parallel()
	e := start(t)
	past := time.Date(2021, 3, 4, 12, 0, 0, 0, time.UTC)
	hub := live.NewHub(func() dbx.Builder { return e.app.DB() }, live.Options{})
	t.Cleanup(hub.Close)
	h := dashboard.Handler(e.app, dashboard.Options{Now: func() time.Time { return past }, Live: hub})
	e.handler.Store(&h)

	dt := func(t time.Time) types.DateTime { d, _ := types.ParseDateTime(t); return d }
	put := func(collection string, fields map[string]any) *core.Record {
		t.Helper()
		col, err := e.app.FindCollectionByNameOrId(collection)
		if err != nil {
			t.Fatal(err)
		}
		rec := core.NewRecord(col)
		rec.Load(fields)
		if err := e.app.Save(rec); err != nil {
			t.Fatalf("save %s: %v", collection, err)
		}
		return rec
	}
	site := addSite(t, e.app, "Then", "then.example", "")
	v := put(schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v1"})
	sess := put(schema.Sessions, map[string]any{"website": site.Id, "visitor": v.Id, "seq": 1,
		"isNewVisitor": true, "eventCount": 1, "entryPath": "/then", "exitPath": "/then",
		"startedAt": dt(past.Add(-10 * time.Minute)), "lastActivity": dt(past.Add(-time.Minute))})
	put(schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView",
		"path": "/then", "timestamp": dt(past.Add(-time.Minute))})

	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	tests := []struct {
		path, want string
	}{
		{"/dashboard/sites/" + site.Id + "?period=today", `<span id="active-users"`},
		{"/dashboard/sites/" + site.Id + "/sessions?period=today", "/dashboard/sites/" + site.Id + "/sessions/" + sess.Id},
		{"/dashboard/sites/" + site.Id + "/sessions/" + sess.Id, "/then"},
	}
	for _, tt := range tests {
		r := c.get(tt.path)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, tt.want) {
			t.Errorf("GET %s: %d, body lacks %q\n%s", tt.path, r.StatusCode, tt.want, r.body)
		}
	}
	if r := c.get("/dashboard/sites/" + site.Id + "?period=today"); !strings.Contains(r.body, ">1</span> active now") {
		t.Errorf("site page does not show the past session as active:\n%s", r.body)
	}
	if st, ch := c.openActive("/dashboard/live/active?site=" + site.Id); st != http.StatusOK {
		t.Errorf("active now stream: %d", st)
	} else if m := nextCounts(t, ch); m[site.Id] != 1 {
		t.Errorf("active now stream: %v, want the past session active", m)
	}
}
