package clickhouse_test

import (
	"context"
	"os"
	"testing"

	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/testwait"
)

var server chtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	server.Close()
	os.Exit(code)
}

// timeout is the context of a test's calls to the server.
func timeout(t testing.TB) context.Context { return testwait.Context(t) }

// storeDatabase returns a database of its own for t with the store's
// tables (Schema) in it.
func storeDatabase(t testing.TB) *clickhouse.Client { return server.StoreDatabase(t) }
