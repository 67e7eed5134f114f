package clickhouse_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
)

func TestSchemaRunsOn18_16AndAgainHarmlessly(t *testing.T) {
	db := storeDatabase(t)
	for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: db.Database()}) {
		if err := db.Exec(timeout(t), stmt); err != nil {
			t.Fatalf("again: %v\n%s", err, stmt)
		}
	}
	type table struct{ Name, Engine string }
	got, err := clickhouse.Select[table](timeout(t), db,
		"SELECT name AS Name, engine AS Engine FROM system.tables WHERE database = ? ORDER BY name", db.Database())
	if err != nil {
		t.Fatal(err)
	}
	want := []table{{"engagement", "ReplacingMergeTree"}, {"events", "MergeTree"}, {"js_errors", "MergeTree"}, {"sessions", "ReplacingMergeTree"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("tables %v, want %v", got, want)
	}
}

// TestClusterSchemaIsTheReviewedText pins the cluster DDL to
// testdata/cluster.sql: no cluster (and no ZooKeeper) runs here, so its
// text is what is checked. TestClusterSchemaRunsWithoutReplication runs
// what of it can run on one server.
func TestClusterSchemaIsTheReviewedText(t *testing.T) {
	got := strings.Join(clickhouse.Schema(clickhouse.SchemaOptions{Database: "skopos", Cluster: "analytics"}), ";\n\n") + ";\n"
	golden := filepath.Join("testdata", "cluster.sql")
	if os.Getenv("SKOPOS_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the cluster DDL changed (review it, then SKOPOS_UPDATE_GOLDEN=1 go test -run %s):\n%s", t.Name(), got)
	}
	if single := strings.Join(clickhouse.Schema(clickhouse.SchemaOptions{}), "\n"); strings.Contains(single, "CLUSTER") ||
		strings.Contains(single, "Replicated") || strings.Contains(single, "Distributed") || !strings.Contains(single, "`default`.`events`") {
		t.Errorf("the single-server DDL:\n%s", single)
	}
}

// replicated matches a Replicated engine's ZooKeeper arguments.
var replicated = regexp.MustCompile(`Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(, )?`)

// TestClusterSchemaRunsWithoutReplication runs the cluster DDL on one
// server with what needs ZooKeeper taken out (ON CLUSTER, Replicated):
// the Distributed tables over chtest's one-shard cluster read what the
// local tables hold.
func TestClusterSchemaRunsWithoutReplication(t *testing.T) {
	db := server.Database(t)
	for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: db.Database(), Cluster: chtest.Cluster}) {
		stmt = strings.ReplaceAll(stmt, " ON CLUSTER `"+chtest.Cluster+"`", "")
		stmt = replicated.ReplaceAllString(stmt, "$1(")
		if err := db.Exec(timeout(t), stmt); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}
	for _, table := range []string{"events", "sessions", "js_errors", "engagement"} {
		rows := []map[string]any{{"id": "a", "website": "w"}, {"id": "b", "website": "w"}}
		if table == "engagement" {
			rows = []map[string]any{{"event": "a", "website": "w"}, {"event": "b", "website": "w"}}
		}
		if err := db.Insert(timeout(t), table+"_local", rows); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, table); n != 2 {
			t.Errorf("%s: %d rows through the Distributed table, want 2", table, n)
		}
	}
}

func TestLatestSessionVersionReadAlikeByFinalAndArgMax(t *testing.T) {
	db := storeDatabase(t)
	// three writes of s1 (separate inserts: separate parts, not merged
	// yet) and one of s2
	for _, rows := range [][]map[string]any{
		{{"id": "s1", "website": "w", "eventCount": 1, "version": 1}, {"id": "s2", "website": "w", "eventCount": 1, "version": 1}},
		{{"id": "s1", "website": "w", "eventCount": 3, "isEngaged": true, "version": 3}},
		{{"id": "s1", "website": "w", "eventCount": 2, "isEngaged": true, "version": 2}}, // late: an older version
	} {
		if err := db.Insert(timeout(t), "sessions", rows); err != nil {
			t.Fatal(err)
		}
	}
	for name, q := range latestSessions {
		got, err := clickhouse.Select[sessionTotals](timeout(t), db, q, "w")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := (sessionTotals{Sessions: 2, Events: 4, Engaged: 1}); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	// a condition on a column the versions change holds for the latest
	// version with WHERE (PREWHERE would also see s1's first version, not
	// engaged, until a merge drops it: no test can wait for that)
	got, err := clickhouse.Select[struct{ N uint64 }](timeout(t), db,
		"SELECT count() AS N FROM sessions FINAL WHERE website = ? AND isEngaged = 0", "w")
	if err != nil {
		t.Fatal(err)
	}
	if got[0].N != 1 {
		t.Errorf("sessions not engaged in their latest version: %d, want 1 (s2)", got[0].N)
	}
}

type sessionTotals struct{ Sessions, Events, Engaged uint64 }

// latestSessions are the two ways to read the latest version of each
// session: FINAL, and argMax by version.
var latestSessions = map[string]string{
	"final": `SELECT count() AS Sessions, sum(eventCount) AS Events, sum(isEngaged) AS Engaged
		FROM sessions FINAL WHERE website = ?`,
	"argMax": `SELECT count() AS Sessions, sum(c) AS Events, sum(e) AS Engaged FROM (
		SELECT id, argMax(eventCount, version) AS c, argMax(isEngaged, version) AS e
		FROM sessions WHERE website = ? GROUP BY id)`,
}

// BenchmarkSessionsLatest compares FINAL with argMax over 200 000 sessions
// written twice each, in two parts that are not merged.
func BenchmarkSessionsLatest(b *testing.B) {
	db := storeDatabase(b)
	// as between merges: every version a row of its own
	if err := db.Exec(timeout(b), "SYSTEM STOP MERGES"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Exec(timeout(b), "SYSTEM START MERGES") })
	const n = 200_000
	for version := 1; version <= 2; version++ {
		err := db.Exec(timeout(b), `INSERT INTO sessions (id, website, eventCount, isEngaged, version, created)
			SELECT toString(number), 'w', ?, ?, ?, ? FROM system.numbers LIMIT ?`, version, version == 2, version, 1700000000000, n)
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, name := range []string{"final", "argMax"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				got, err := clickhouse.Select[sessionTotals](timeout(b), db, latestSessions[name], "w")
				if err != nil {
					b.Fatal(err)
				}
				if want := (sessionTotals{n, 2 * n, n}); got[0] != want {
					b.Fatalf("%+v, want %+v", got[0], want)
				}
			}
		})
	}
}
