package plugin_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// chServer is the ClickHouse of this test binary (TestMain closes it).
var chServer chtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	chServer.Close()
	os.Exit(code)
}

// chCount counts rows of a ClickHouse table of website.
func chCount(t *testing.T, ch *clickhouse.Client, table, website string) int {
	t.Helper()
	n, err := ch.Count(context.Background(), table, "website = ?", website)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// With the ClickHouse events store the server writes events there, not
// to SQLite; retention deletes a site's old rows there and keeps the
// visitors whose sessions ClickHouse still holds (SQLite's own check
// would see no session and delete every old visitor); deleting a
// website deletes its rows there.
func TestClickHouseStoreRetentionAndDeletion(t *testing.T) {
	t.Parallel()
	db := chServer.Database(t) // the server creates the tables
	srv := startEmbeddedWith(t, plugin.Config{ClickHouseURL: chServer.URL(t) + "/" + db.Database()})
	app := srv.App()
	site := srv.AddWebsite(t, "ch.example")
	site.Set("dataRetentionDays", 30)
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	const n = 3
	for i := range n {
		post(t, srv, fmt.Sprintf(`{"type":"pageView","url":"https://ch.example/p%d"}`, i),
			map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i+1)})
	}
	testwait.Until(t, "the page views in ClickHouse", func() bool { return chCount(t, db, "events", site.Id) == n })
	if got := countEvents(t, app, dbx.HashExp{"website": site.Id}); got != 0 {
		t.Errorf("%d events in SQLite, want none", got)
	}
	// the visitors are months old, their sessions recent; one more old
	// visitor has no session at all
	old := time.Now().UTC().AddDate(0, -3, 0).Format("2006-01-02 15:04:05.000Z")
	orphan := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "orphan"}).Id
	if _, err := app.DB().Update(schema.Visitors, dbx.Params{"created": old}, dbx.HashExp{"website": site.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	res, err := plugin.RunRetention(context.Background(), app, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := app.DB().Select("id").From(schema.Visitors).Where(dbx.HashExp{"website": site.Id}).Column(&left); err != nil {
		t.Fatal(err)
	}
	if res[schema.Visitors] != 1 || len(left) != n || slices.Contains(left, orphan) {
		t.Errorf("retention deleted %d visitors, left %v; want the one without sessions (%s) deleted and %d left", res[schema.Visitors], left, orphan, n)
	}
	if got := chCount(t, db, "events", site.Id); got != n {
		t.Errorf("retention left %d recent events in ClickHouse, want %d", got, n)
	}
	// a month and more later every row is past the limit
	if _, err := plugin.RunRetention(context.Background(), app, time.Now().AddDate(0, 0, 32)); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "sessions"} {
		if got := chCount(t, db, table, site.Id); got != 0 {
			t.Errorf("%s: %d rows in ClickHouse after retention, want 0", table, got)
		}
	}

	gone := srv.AddWebsite(t, "gone.example")
	post(t, srv, `{"type":"pageView","url":"https://gone.example/"}`, map[string]string{"X-Forwarded-For": "198.51.100.9"})
	testwait.Until(t, "the page view in ClickHouse", func() bool { return chCount(t, db, "events", gone.Id) == 1 })
	if err := app.Delete(gone); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"events", "sessions"} {
		if got := chCount(t, db, table, gone.Id); got != 0 {
			t.Errorf("%s: %d rows of a deleted website in ClickHouse, want 0", table, got)
		}
	}
}
