package adopt_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/adopt"
	"github.com/skopos-go/skopos/internal/adopt/adopttest"
	"github.com/skopos-go/skopos/schema/collections"
)

func bootstrap(t *testing.T, dir string) core.App {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.ResetBootstrapState() })
	return app
}

// run adopts as `skopos serve` does: Prepare, the schema migration,
// Finish.
func run(ctx context.Context, app core.App, log *slog.Logger) error {
	if err := adopt.Prepare(ctx, app, log, 0); err != nil {
		return err
	}
	if _, err := collections.Apply(app); err != nil {
		return err
	}
	return adopt.Finish(ctx, app, log, 0)
}

func TestAdoptionSummarizesEveryDayAndKeepsTheReferenceRows(t *testing.T) {
	t.Parallel()
	dir := adopttest.CopyFixture(t)
	app := bootstrap(t, dir)
	tables := adopttest.ReferenceTables(t, app.DB())
	before := adopttest.ReferenceRows(t, app.DB(), tables)
	want := adopttest.Expected(t, app.DB())
	if len(want) != 24 {
		t.Fatalf("the fixture has %d days; its README says 21 + 3", len(want))
	}
	var out bytes.Buffer
	if err := run(context.Background(), app, slog.New(slog.NewTextHandler(&out, nil))); err != nil {
		t.Fatal(err)
	}
	adopttest.SameDays(t, adopttest.Summarized(t, app.DB()), want)
	total := 0
	for _, d := range want {
		total += d.PageViews
	}
	if total != 1878+244+364+309 {
		t.Errorf("page views %d: the README's raw 1 878 plus the three daily_stats days", total)
	}
	after := adopttest.ReferenceRows(t, app.DB(), tables)
	for table, h := range before {
		if after[table] != h {
			t.Errorf("table %s: the reference's rows changed", table)
		}
	}
	var pending int
	_ = app.DB().NewQuery(`SELECT (SELECT COUNT(*) FROM sessions WHERE seq < 1 OR startedAt = '')
		+ (SELECT COUNT(*) FROM events WHERE website = '' OR timestamp = '')`).Row(&pending)
	if pending != 0 {
		t.Errorf("%d rows without their derived fields", pending)
	}
	// the five sessions whose events the Node SDK lost count as visits
	var empty int
	_ = app.DB().NewQuery(`SELECT COUNT(*) FROM sessions WHERE eventCount = 0 AND id NOT IN (SELECT session FROM events)`).Row(&empty)
	if empty != 5 {
		t.Errorf("%d sessions without events; the README says 5", empty)
	}
	if !strings.Contains(out.String(), adopt.BackupPrefix) {
		t.Errorf("the log does not say where the backup is:\n%s", out.String())
	}
	backups, _ := filepath.Glob(filepath.Join(dir, "backups", adopt.BackupPrefix+"*.zip"))
	if len(backups) != 1 {
		t.Errorf("backups %v; want one", backups)
	}
	if ok, err := adopt.Adopted(app.DB()); !ok || err != nil {
		t.Errorf("Adopted = %v, %v after the adoption", ok, err)
	}
	if ok, _ := adopt.Pending(app.DB()); ok {
		t.Error("still pending after the adoption")
	}
}

// cancelAfter cancels a context at the n-th log record: an adoption
// stopped in the middle, as by a kill between two transactions.
type cancelAfter struct {
	slog.Handler
	n      *int
	cancel context.CancelFunc
}

func (h cancelAfter) Handle(ctx context.Context, r slog.Record) error {
	if *h.n--; *h.n == 0 {
		h.cancel()
	}
	return nil
}

func TestAdoptionStoppedAnywhereFinishesTheSameOnRestart(t *testing.T) {
	t.Parallel()
	fixture := bootstrap(t, adopttest.CopyFixture(t))
	want := adopttest.Expected(t, fixture.DB())
	// stop after the 2nd, 4th and 6th log record: after the backup, in
	// the fills, after the summaries
	stops := []int{2, 4, 6}
	if raceEnabled { // an adoption takes ~20 s under the race detector (SQLite in Go)
		stops = []int{4}
	}
	for _, stopAt := range stops {
		t.Run(fmt.Sprint("stop at record ", stopAt), func(t *testing.T) {
			t.Parallel()
			dir := adopttest.CopyFixture(t)
			app := bootstrap(t, dir)
			ctx, cancel := context.WithCancel(context.Background())
			n := stopAt
			err := run(ctx, app, slog.New(cancelAfter{slog.NewTextHandler(io.Discard, nil), &n, cancel}))
			if err == nil {
				t.Fatalf("the adoption ran to its end despite the stop at record %d", stopAt)
			}
			if ok, _ := adopt.Pending(app.DB()); !ok {
				t.Fatal("a stopped adoption is not pending")
			}
			if err := run(context.Background(), app, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
				t.Fatal(err)
			}
			adopttest.SameDays(t, adopttest.Summarized(t, app.DB()), want)
			backups, _ := filepath.Glob(filepath.Join(dir, "backups", adopt.BackupPrefix+"*.zip"))
			if len(backups) != 1 {
				t.Errorf("backups %v; want the first attempt's only", backups)
			}
		})
	}
}

func TestInspectChangesNoByte(t *testing.T) {
	t.Parallel()
	dir := adopttest.CopyFixture(t)
	path := filepath.Join(dir, "data.db")
	sum := func() [32]byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()
	plan, err := adopt.Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if sum() != before {
		t.Error("Inspect changed the file")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("Inspect left files behind: %v", entries)
	}
	var out bytes.Buffer
	plan.Print(&out)
	for _, want := range []string{"a Skopos Node installation", "sessions: adopt; add fields", "reuse indexes idx_BBjn5D3Idx as idx_skopos_sessions_website_created",
		"dash_sum: create", "fill sessions.seq: 366 rows", "fill events.website: 1996 rows", "3 days from daily_stats"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the plan does not say %q:\n%s", want, out.String())
		}
	}
	if !plan.Node || plan.SummaryDays != 21 {
		t.Errorf("plan: node %v, %d summary days; want a Node installation with 21 days of raw rows", plan.Node, plan.SummaryDays)
	}
}
