package plugin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

func TestRetentionDeletesOnlyOldDataOfSitesWithALimit(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	old := now.AddDate(0, 0, -40) // before the 30-day cutoff
	recent := now.AddDate(0, 0, -5)

	limited := srv.AddWebsite(t, "limited.example")
	limited.Set("dataRetentionDays", 30)
	if err := app.Save(limited); err != nil {
		t.Fatal(err)
	}
	keepAll := srv.AddWebsite(t, "keep.example") // dataRetentionDays 0: keep everything

	save := func(collection string, data map[string]any) *core.Record {
		t.Helper()
		col, _ := app.FindCollectionByNameOrId(collection)
		r := core.NewRecord(col)
		r.Load(data)
		if err := app.Save(r); err != nil {
			t.Fatalf("%s: %v", collection, err)
		}
		return r
	}
	seed := func(site *core.Record, tag string, at time.Time, seq int) {
		v := save(schema.Visitors, map[string]any{"website": site.Id, "visitorId": tag + site.Id})
		// visitors' created is an autodate: set it behind PocketBase's back
		if _, err := app.DB().Update(schema.Visitors, dbx.Params{"created": at.Format("2006-01-02 15:04:05.000Z")}, dbx.HashExp{"id": v.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
		s := save(schema.Sessions, map[string]any{"website": site.Id, "visitor": v.Id, "seq": seq, "startedAt": at, "lastActivity": at})
		save(schema.Events, map[string]any{"website": site.Id, "session": s.Id, "type": "pageView", "path": "/" + tag, "timestamp": at})
		save(schema.JSErrors, map[string]any{"website": site.Id, "errorHash": tag + site.Id, "count": 1, "lastSeen": at})
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		save(schema.DashSum, map[string]any{"website": site.Id, "date": day, "pageViews": 1})
		save(schema.DashSumItems, map[string]any{"website": site.Id, "date": day, "dimension": "page", "key": "/" + tag, "count": 1})
	}
	for _, site := range []*core.Record{limited, keepAll} {
		seed(site, "old", old, 1)
		seed(site, "new", recent, 1)
	}

	res, err := plugin.RunRetention(context.Background(), app, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range schema.Names[1:] { // every collection but websites
		if res[c] != 1 {
			t.Errorf("%s: %d deleted, want 1 (the limited site's old row)", c, res[c])
		}
		count := func(site *core.Record) int {
			var n int
			_ = app.DB().Select("count(*)").From(c).Where(dbx.HashExp{"website": site.Id}).Row(&n)
			return n
		}
		if n := count(limited); n != 1 {
			t.Errorf("%s of the limited site: %d left, want 1 (the recent row)", c, n)
		}
		if n := count(keepAll); n != 2 {
			t.Errorf("%s of the site without a limit: %d left, want 2", c, n)
		}
	}
}

// Notifications sent, folded or given up more than DeliveriesKept ago
// go; pending ones and recent ones stay.
func TestRetentionPrunesOldDeliveries(t *testing.T) {
	t.Parallel()
	srv := startEmbeddedWith(t, plugin.Config{Notify: plugin.NotifyConfig{Off: true}, SEO: plugin.SEOConfig{Off: true}})
	app := srv.App()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	site := srv.AddWebsite(t, "notified.example")
	rule := pbtest.Save(t, app, schema.NotifyRules, map[string]any{"website": site.Id, "eventType": "new_session", "recipientEmail": "a@example.com", "isActive": true})
	old := now.Add(-plugin.DeliveriesKept - 48*time.Hour)
	var keep []string
	for i, c := range []struct {
		status string
		at     time.Time
		kept   bool
	}{{"sent", old, false}, {"digested", old, false}, {"failed", old, false}, {"pending", old, true}, {"sent", now.Add(-time.Hour), true}} {
		d := pbtest.Save(t, app, schema.NotifyDeliveries, map[string]any{"rule": rule.Id, "eventKey": fmt.Sprint("k", i), "channel": "email", "status": c.status})
		if _, err := app.DB().Update(schema.NotifyDeliveries, dbx.Params{"created": c.at.Format("2006-01-02 15:04:05.000Z")}, dbx.HashExp{"id": d.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
		if c.kept {
			keep = append(keep, d.Id)
		}
	}
	res, err := plugin.RunRetention(context.Background(), app, now)
	if err != nil || res[schema.NotifyDeliveries] != 3 {
		t.Fatalf("deleted %d deliveries (%v), want 3", res[schema.NotifyDeliveries], err)
	}
	var left []string
	if err := app.DB().Select("id").From(schema.NotifyDeliveries).OrderBy("created").Column(&left); err != nil || len(left) != 2 || left[0] != keep[0] || left[1] != keep[1] {
		t.Fatalf("left %v, want %v", left, keep)
	}
}
