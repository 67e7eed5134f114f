package backfill_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/channel/backfill"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testclock"
)

// traffic writes visits with every kind of origin across a UTC midnight
// through the server's pipeline, and returns the app.
func traffic(t *testing.T) core.App {
	srv := pbtest.Start(t, pbtest.Options{})
	sites := pipeline.NewSites()
	site, err := sites.Put(localstore.WebsiteFromRecord(srv.AddWebsite(t, "acq.example")))
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC))
	p, err := pipeline.New(pipeline.Config{Store: localstore.New(srv.App()), Sites: sites, Now: clk.Now,
		Batch: true, BatchInterval: time.Hour, MaxBatchSize: 100000, RateLimit: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	origins := []struct{ ref, query string }{
		{"", ""}, {"https://www.google.com/", ""}, {"android-app://com.google.android.gm", ""},
		{"https://blog.example.org/post", ""}, {"https://chatgpt.com/", "?utm_source=chatgpt.com"},
		{"", "?utm_source=google&utm_medium=cpc&utm_term=shoes&utm_content=ad1"},
		{"https://l.facebook.com/", "?utm_source=fb&utm_medium=paid_social&utm_content=ad2"},
	}
	for v := range 28 {
		clk.Add(3 * time.Minute) // from 23:03 to 00:24: two UTC days
		o := origins[v%len(origins)]
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		r.RemoteAddr = fmt.Sprintf("198.51.100.%d:5000", v+1)
		browsertest.Headers(r.Header, "")
		body := fmt.Sprintf(`{"type":"pageView","url":"https://acq.example/%s","referrer":%q}`, o.query, o.ref)
		if err := p.TrackBrowser(r, []byte(body), func(string) *pipeline.Site { return site }); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return srv.App()
}

// forget makes the data dir look like one of an earlier version: no
// source or channel on the sessions, no breakdowns of them.
func forget(t *testing.T, app core.App) {
	for _, q := range []string{`UPDATE sessions SET source = '', channel = ''`,
		`DELETE FROM dash_sum_items WHERE dimension IN ('channel', 'source', 'utm_term', 'utm_content')`} {
		if _, err := app.DB().NewQuery(q).Execute(); err != nil {
			t.Fatal(err)
		}
	}
}

func origins(t *testing.T, app core.App) map[string]string {
	var rows []struct {
		ID, Source, Channel string
	}
	if err := app.DB().NewQuery(`SELECT id, source, channel FROM sessions`).All(&rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.ID] = r.Source + " / " + r.Channel
	}
	return out
}

func run(t *testing.T, app core.App, maxKeys int) (sessions, rows int) {
	err := app.RunInTransaction(func(tx core.App) error {
		var err error
		if sessions, err = backfill.Sessions(tx.DB()); err != nil {
			return err
		}
		rows, err = backfill.Items(tx.DB(), maxKeys)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sessions, rows
}

// TestBackfillGivesOldSessionsWhatThePipelineGives: the sessions and
// breakdowns rebuilt equal what the pipeline wrote, and a second run
// changes nothing.
func TestBackfillGivesOldSessionsWhatThePipelineGives(t *testing.T) {
	t.Parallel()
	app := traffic(t)
	summarytest.Check(t, app.DB(), "as the pipeline wrote it")
	want := origins(t, app)
	if want[firstID(t, app)] == " / " {
		t.Fatal("the pipeline stored no source")
	}
	forget(t, app)
	n, rows := run(t, app, 0)
	if n != 28 || rows == 0 {
		t.Errorf("backfilled %d sessions, %d rows; want 28 and some", n, rows)
	}
	if got := origins(t, app); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sources and channels\n%v\nwant\n%v", got, want)
	}
	summarytest.Check(t, app.DB(), "after the backfill")
	if n, _ := run(t, app, 0); n != 0 {
		t.Errorf("second run set %d sessions", n)
	}
	summarytest.Check(t, app.DB(), "after a second run")
}

// TestBackfillCapsADaysKeys: beyond the cap, the least counted keys
// go to "(other)" and the day's total stays the sessions' count.
func TestBackfillCapsADaysKeys(t *testing.T) {
	t.Parallel()
	app := traffic(t)
	forget(t, app)
	run(t, app, 2)
	var rows []struct {
		Day   string `db:"day"`
		Keys  int    `db:"keys"`
		Other int    `db:"other"`
		Total int    `db:"total"`
	}
	err := app.DB().NewQuery(`SELECT substr(date, 1, 10) AS day, COUNT(*) AS keys,
		SUM(CASE WHEN key = '(other)' THEN count ELSE 0 END) AS other, SUM(count) AS total
		FROM dash_sum_items WHERE dimension = 'source' GROUP BY day ORDER BY day`).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	var sessions []int
	_ = app.DB().NewQuery(`SELECT COUNT(*) FROM sessions GROUP BY substr(startedAt, 1, 10) ORDER BY substr(startedAt, 1, 10)`).Column(&sessions)
	if len(rows) != 2 {
		t.Fatalf("source breakdown days: %+v", rows)
	}
	for i, r := range rows {
		if r.Keys != 3 || r.Other == 0 || r.Total != sessions[i] {
			t.Errorf("day %s: %d keys, %d in (other), %d in all; want 2 keys + (other), %d in all", r.Day, r.Keys, r.Other, r.Total, sessions[i])
		}
	}
}

func firstID(t *testing.T, app core.App) string {
	var id string
	if err := app.DB().NewQuery(`SELECT id FROM sessions ORDER BY id LIMIT 1`).Bind(dbx.Params{}).Row(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRegionBackfill: schema v18's backfill gives the days whose
// sessions are stored their region breakdown, as the pipeline would have
// counted it (the summaries check recomputes it from the raw rows), and
// refuses a dimension it cannot rebuild.
func TestRegionBackfill(t *testing.T) {
	t.Parallel()
	app := traffic(t)
	// regions of a City database, and the breakdown an earlier version
	// did not write
	for _, q := range []string{`UPDATE sessions SET state = 'DE-BY' WHERE rowid % 3 = 0`,
		`UPDATE sessions SET state = 'US-CA' WHERE rowid % 3 = 1`, `DELETE FROM dash_sum_items WHERE dimension = 'region'`} {
		if _, err := app.DB().NewQuery(q).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := backfill.ItemsOf(app.DB(), 0, "region")
	if err != nil || rows == 0 {
		t.Fatalf("wrote %d rows: %v", rows, err)
	}
	summarytest.Check(t, app.DB(), "after the region backfill")
	var n int
	if err := app.DB().NewQuery(`SELECT COALESCE(SUM(count), 0) FROM dash_sum_items WHERE dimension = 'region' AND key = 'DE-BY'`).Row(&n); err != nil || n == 0 {
		t.Errorf("DE-BY counted %d times (%v)", n, err)
	}
	if _, err := backfill.ItemsOf(app.DB(), 0, "country"); err == nil {
		t.Error("a breakdown the backfill cannot rebuild was accepted")
	}
}
