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

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/adopt"
	"github.com/skopos-go/skopos/schema/collections"
)

// Fixture is a Skopos Node installation's data.db (see its README.md).
const Fixture = "testdata/node-era/data.db"

// copyFixture copies the fixture into a new data dir.
func copyFixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(Fixture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

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
	if err := adopt.Prepare(ctx, app, log); err != nil {
		return err
	}
	if _, err := collections.Apply(app); err != nil {
		return err
	}
	return adopt.Finish(ctx, app, log, 0)
}

// referenceRows hashes every row of the reference's tables, in the
// columns the reference created.
func referenceRows(t *testing.T, db dbx.Builder, tables map[string][]string) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	for table, cols := range tables {
		rows, err := db.NewQuery("SELECT " + strings.Join(cols, ", ") + " FROM `" + table + "` ORDER BY rowid").Rows()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(h, "%v\n", vals)
		}
		rows.Close()
		out[table] = [32]byte(h.Sum(nil))
	}
	return out
}

// referenceTables lists the fixture's data tables and their columns.
func referenceTables(t *testing.T, db dbx.Builder) map[string][]string {
	t.Helper()
	var names []string
	if err := db.NewQuery(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\_%' ESCAPE '\' AND name NOT LIKE 'sqlite%'`).Column(&names); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, n := range names {
		var cols []string
		if err := db.NewQuery("SELECT '`' || name || '`' FROM pragma_table_info({:t})").Bind(dbx.Params{"t": n}).Column(&cols); err != nil {
			t.Fatal(err)
		}
		out[n] = cols
	}
	return out
}

type dayFigures struct{ pageViews, sessions int }

// expected are the fixture's figures per UTC day: its raw rows, and its
// daily_stats rows for days without raw rows.
func expected(t *testing.T, db dbx.Builder) map[string]dayFigures {
	t.Helper()
	out := map[string]dayFigures{}
	var rows []struct {
		Day string `db:"day"`
		N   int    `db:"n"`
	}
	add := func(q string, f func(*dayFigures, int)) {
		if err := db.NewQuery(q).All(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			d := out[r.Day]
			f(&d, r.N)
			out[r.Day] = d
		}
	}
	add(`SELECT substr(created, 1, 10) AS day, COUNT(*) AS n FROM events WHERE type = 'pageView' GROUP BY day`, func(d *dayFigures, n int) { d.pageViews = n })
	add(`SELECT substr(created, 1, 10) AS day, COUNT(*) AS n FROM sessions GROUP BY day`, func(d *dayFigures, n int) { d.sessions = n })
	var stats []struct {
		Day string `db:"date"`
		PV  int    `db:"pageViews"`
		V   int    `db:"visitors"`
	}
	if err := db.NewQuery(`SELECT substr(date, 1, 10) AS date, pageViews, visitors FROM daily_stats`).All(&stats); err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if _, raw := out[s.Day]; !raw {
			out[s.Day] = dayFigures{s.PV, s.V}
		}
	}
	return out
}

// summarized reads the figures per UTC day from the summaries.
func summarized(t *testing.T, db dbx.Builder) map[string]dayFigures {
	t.Helper()
	var rows []struct {
		Day string `db:"day"`
		PV  int    `db:"pv"`
		V   int    `db:"v"`
	}
	if err := db.NewQuery(`SELECT substr(date, 1, 10) AS day, SUM(pageViews) AS pv, SUM(visitors) AS v FROM dash_sum GROUP BY day`).All(&rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]dayFigures{}
	for _, r := range rows {
		out[r.Day] = dayFigures{r.PV, r.V}
	}
	return out
}

func sameDays(t *testing.T, got, want map[string]dayFigures) {
	t.Helper()
	for d, w := range want {
		if got[d] != w {
			t.Errorf("%s: summaries say %d page views, %d sessions; the data dir says %d and %d", d, got[d].pageViews, got[d].sessions, w.pageViews, w.sessions)
		}
	}
	for d, g := range got {
		if _, ok := want[d]; !ok && g != (dayFigures{}) {
			t.Errorf("%s: summaries say %+v; the data dir has nothing", d, g)
		}
	}
}

func TestAdoptionSummarizesEveryDayAndKeepsTheReferenceRows(t *testing.T) {
	t.Parallel()
	dir := copyFixture(t)
	app := bootstrap(t, dir)
	tables := referenceTables(t, app.DB())
	before := referenceRows(t, app.DB(), tables)
	want := expected(t, app.DB())
	if len(want) != 24 {
		t.Fatalf("the fixture has %d days; its README says 21 + 3", len(want))
	}
	var out bytes.Buffer
	if err := run(context.Background(), app, slog.New(slog.NewTextHandler(&out, nil))); err != nil {
		t.Fatal(err)
	}
	sameDays(t, summarized(t, app.DB()), want)
	total := 0
	for _, d := range want {
		total += d.pageViews
	}
	if total != 1878+244+364+309 {
		t.Errorf("page views %d: the README's raw 1 878 plus the three daily_stats days", total)
	}
	after := referenceRows(t, app.DB(), tables)
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
	clean := bootstrap(t, copyFixture(t))
	if err := run(context.Background(), clean, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	want := summarized(t, clean.DB())
	// stop after the 2nd … 6th log record: within the numbering, the
	// fills, the summaries
	for stopAt := 2; stopAt <= 6; stopAt++ {
		t.Run(fmt.Sprint("stop at record ", stopAt), func(t *testing.T) {
			t.Parallel()
			dir := copyFixture(t)
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
			sameDays(t, summarized(t, app.DB()), want)
			backups, _ := filepath.Glob(filepath.Join(dir, "backups", adopt.BackupPrefix+"*.zip"))
			if len(backups) != 1 {
				t.Errorf("backups %v; want the first attempt's only", backups)
			}
		})
	}
}

func TestInspectChangesNoByte(t *testing.T) {
	t.Parallel()
	dir := copyFixture(t)
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
