// Package dbconn opens PocketBase's SQLite databases the way Skopos
// serves them: PocketBase's own settings plus memory-mapped reads.
package dbconn

import (
	"github.com/pocketbase/dbx"
	// the driver PocketBase's default connection uses
	_ "modernc.org/sqlite"
)

// MmapSize is how many bytes of a database file SQLite reads through a
// memory map (SQLite's own upper bound, 2 GiB - 64 KiB). A filtered
// report reads hundreds of thousands of rows scattered over the events
// table: through the map they are not copied into each connection's page
// cache by a read(2) per page, which measured 30 % of such a report at
// 1 M events (issue 31, BENCHMARKS.md). The map is address space, not
// memory: the kernel's page cache backs it, as it backs the reads.
const MmapSize = 0x7fff0000

// pragmas are PocketBase's (core.DefaultDBConnect, v0.36) plus mmap_size.
const pragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
	"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
	"&_pragma=mmap_size(2147418112)"

// Connect opens the SQLite database at dbPath; it is a
// core.DBConnectFunc.
func Connect(dbPath string) (*dbx.DB, error) {
	return dbx.Open("sqlite", dbPath+pragmas)
}
