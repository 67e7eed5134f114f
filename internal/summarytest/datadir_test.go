package summarytest_test

import (
	"os"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/summarytest"
	_ "modernc.org/sqlite"
)

// TestDataDir checks a real server's database after a run of
// scripts/bench-sdk.sh (or any traffic without server events that spans
// less than the session timeout): SKOPOS_CHECK_DB=<pb_data>/data.db.
// Without it there is nothing to check.
func TestDataDir(t *testing.T) {
	path := os.Getenv("SKOPOS_CHECK_DB")
	if path == "" {
		t.Skip("SKOPOS_CHECK_DB not set")
	}
	db, err := dbx.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var events, sessions int
	_ = db.NewQuery("SELECT COUNT(*) FROM events").Row(&events)
	_ = db.NewQuery("SELECT COUNT(*) FROM sessions").Row(&sessions)
	summarytest.Check(t, db, path)
	bad := summarytest.SessionDrift(t, db, func(string) bool { return false })
	for _, b := range bad[:min(10, len(bad))] {
		t.Error(b)
	}
	t.Logf("%s: %d events, %d sessions, %d session rows differ from their events", path, events, sessions, len(bad))
}
