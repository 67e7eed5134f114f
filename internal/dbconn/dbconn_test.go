package dbconn_test

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/skopos-go/skopos/internal/dbconn"
)

// TestConnectSettings reads the settings back from a connection: the
// memory map, and PocketBase's own that Connect must keep.
func TestConnectSettings(t *testing.T) {
	t.Parallel()
	db, err := dbconn.Connect(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct{ pragma, want string }{
		{"mmap_size", strconv.Itoa(dbconn.MmapSize)},
		{"journal_mode", "wal"},
		{"busy_timeout", "10000"},
		{"synchronous", "1"},
		{"foreign_keys", "1"},
		{"cache_size", "-32000"},
	} {
		var got string
		if err := db.NewQuery("PRAGMA " + tc.pragma).Row(&got); err != nil {
			t.Fatalf("%s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
		}
	}
}
