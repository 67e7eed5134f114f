package plugin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/summarytest"
)

// TestUpgradeMakesDailySummariesHourly starts the server on a database
// with the daily summaries of a version before schema v5 (the hourly
// migration not applied yet): the migration rebuilds them hourly.
func TestUpgradeMakesDailySummariesHourly(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	site := localstore.WebsiteFromRecord(srv.AddWebsite(t, "shop.example"))

	// one session from 13:10 to 14:25 UTC, written by a pipeline with its
	// own clock (the server's runs on the wall clock)
	var mu sync.Mutex
	now := time.Date(2026, 11, 20, 13, 10, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sites := pipeline.NewSites()
	s, err := sites.Put(site)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Store: localstore.New(app), Sites: sites, Now: clock, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i, path := range []string{"/", "/a", "/b", "/a"} {
		mu.Lock()
		now = time.Date(2026, 11, 20, 13, 10, 0, 0, time.UTC).Add(time.Duration(i) * 25 * time.Minute)
		mu.Unlock()
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		r.RemoteAddr = "198.51.100.7:5000"
		browsertest.Headers(r.Header, firefoxUA)
		if err := p.TrackBrowser(r, []byte(`{"type":"pageView","url":"https://shop.example`+path+`"}`),
			func(string) *pipeline.Site { return s }); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	summarytest.Check(t, app.DB(), "as written")

	// the database as an upgrade finds it
	summarytest.CollapseToDaily(t, app)
	if _, err := app.DB().Delete("_migrations", dbx.HashExp{"file": "1764115208_skopos_hourly_summaries.go"}).Execute(); err != nil {
		t.Fatal(err)
	}
	hours := func() []string {
		var dates []string
		if err := srv.App().DB().NewQuery("SELECT date FROM dash_sum ORDER BY date").Column(&dates); err != nil {
			t.Fatal(err)
		}
		return dates
	}
	if got := hours(); len(got) != 1 || got[0] != "2026-11-20 00:00:00.000Z" {
		t.Fatalf("daily rows %v", got)
	}

	srv.Restart()
	summarytest.Check(t, srv.App().DB(), "after the upgrade")
	if got := hours(); len(got) != 3 || got[1] != "2026-11-20 13:00:00.000Z" || got[2] != "2026-11-20 14:00:00.000Z" {
		// hour 0 stays (the daily row's id), counting nothing
		t.Errorf("hourly rows %v, want hours 0, 13 and 14", got)
	}
	var applied int
	_ = srv.App().DB().NewQuery("SELECT COUNT(*) FROM _migrations WHERE file = '1764115208_skopos_hourly_summaries.go'").Row(&applied)
	if applied != 1 {
		t.Errorf("the hourly migration is applied %d times", applied)
	}
}
