// Package adopttest holds, for tests, the Skopos Node installation fixture
// and the checks of an adoption: every day's figures against the raw rows
// (and daily_stats), the reference's rows unchanged.
package adopttest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
)

// Fixture is the path of a Skopos Node installation's data.db (see the
// README.md next to it).
func Fixture() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "node-era", "data.db")
}

// CopyFixture copies the fixture into a new data dir.
func CopyFixture(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(Fixture())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ReferenceRows hashes every row of the reference's tables, in the
// columns the reference created.
func ReferenceRows(t *testing.T, db dbx.Builder, tables map[string][]string) map[string][32]byte {
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

// ReferenceTables lists the fixture's data tables and their columns.
func ReferenceTables(t *testing.T, db dbx.Builder) map[string][]string {
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

// Day is one UTC day's figures: page views and sessions (visits).
type Day struct{ PageViews, Sessions int }

// Expected returns the data dir's figures per UTC day from its raw rows, and its
// daily_stats rows for days without raw rows.
func Expected(t *testing.T, db dbx.Builder) map[string]Day {
	t.Helper()
	out := map[string]Day{}
	var rows []struct {
		Day string `db:"day"`
		N   int    `db:"n"`
	}
	add := func(q string, f func(*Day, int)) {
		if err := db.NewQuery(q).All(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			d := out[r.Day]
			f(&d, r.N)
			out[r.Day] = d
		}
	}
	add(`SELECT substr(created, 1, 10) AS day, COUNT(*) AS n FROM events WHERE type = 'pageView' GROUP BY day`, func(d *Day, n int) { d.PageViews = n })
	add(`SELECT substr(created, 1, 10) AS day, COUNT(*) AS n FROM sessions GROUP BY day`, func(d *Day, n int) { d.Sessions = n })
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
			out[s.Day] = Day{s.PV, s.V}
		}
	}
	return out
}

// Summarized reads the figures per UTC day from the summaries.
func Summarized(t *testing.T, db dbx.Builder) map[string]Day {
	t.Helper()
	var rows []struct {
		Day string `db:"day"`
		PV  int    `db:"pv"`
		V   int    `db:"v"`
	}
	if err := db.NewQuery(`SELECT substr(date, 1, 10) AS day, SUM(pageViews) AS pv, SUM(visitors) AS v FROM dash_sum GROUP BY day`).All(&rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]Day{}
	for _, r := range rows {
		out[r.Day] = Day{r.PV, r.V}
	}
	return out
}

func SameDays(t *testing.T, got, want map[string]Day) {
	t.Helper()
	for d, w := range want {
		if got[d] != w {
			t.Errorf("%s: summaries say %d page views, %d sessions; the data dir says %d and %d", d, got[d].PageViews, got[d].Sessions, w.PageViews, w.Sessions)
		}
	}
	for d, g := range got {
		if _, ok := want[d]; !ok && g != (Day{}) {
			t.Errorf("%s: summaries say %+v; the data dir has nothing", d, g)
		}
	}
}
