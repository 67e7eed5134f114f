package main_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/testwait"
)

var clickhouseServer chtest.Server

// TestClickHouseMigrateCopiesTheHistoryOnce: `skopos clickhouse migrate`
// on a data dir with events copies its events and sessions into a
// ClickHouse database it creates the tables in; run again it copies
// nothing; without a server it fails with one line.
func TestClickHouseMigrateCopiesTheHistoryOnce(t *testing.T) {
	t.Parallel()
	db := clickhouseServer.Database(t) // skips without clickhouse-server; the command creates the tables
	dir := t.TempDir()
	s := serve(t, dir, "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	const visitors, views = 5, 3
	for v := range visitors {
		for i := range views {
			sendPageView(t, s.URL, fmt.Sprintf("198.51.100.%d", v+1), androidUA, fmt.Sprintf("/p%d", i))
		}
	}
	pb := client(t, s.URL)
	testwait.Until(t, "the page views stored", func() bool {
		var rows []struct{ ID string }
		return listAll(t, pb, "events", "", &rows) == visitors*views
	})
	s.Stop()

	url := clickhouseServer.URL(t) + "/" + db.Database()
	stdout, stderr, code := run(t, "clickhouse", "migrate", "--url", url, "--dir", dir, "--page", "4")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("copied this run: %d sessions, %d events, 0 JS error groups", visitors, visitors*views)) {
		t.Fatalf("migrate exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for table, want := range map[string]int{"events": visitors * views, "sessions FINAL": visitors} {
		got, err := clickhouse.Select[struct {
			N int `json:"n"`
		}](t.Context(), db, "SELECT toInt64(count()) AS n FROM "+table)
		if err != nil || got[0].N != want {
			t.Errorf("%s: %v rows (%v), want %d", table, got, err, want)
		}
	}
	stdout, stderr, code = run(t, "clickhouse", "migrate", "--url", url, "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "copied this run: 0 sessions, 0 events, 0 JS error groups") {
		t.Errorf("second migrate exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	_, stderr, code = run(t, "clickhouse", "migrate", "--dir", dir)
	if code != 1 || !strings.Contains(stderr, "no server: give --url or set SKOPOS_CLICKHOUSE_URL") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("migrate without a server: exit %d, stderr %q", code, stderr)
	}
}
