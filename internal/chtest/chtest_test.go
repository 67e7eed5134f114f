package chtest_test

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

// databases returns how many databases named name the server has.
func databases(t *testing.T, c *clickhouse.Client, name string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	rows, err := clickhouse.Select[struct{ N uint64 }](ctx, c, "SELECT count() AS N FROM system.databases WHERE name = ?", name)
	if err != nil {
		t.Fatal(err)
	}
	return rows[0].N
}

func TestEachTestHasADatabaseOfItsOwnDroppedAfter(t *testing.T) {
	admin := clickhouse.New(clickhouse.Options{URL: server.URL(t)})
	t.Logf("clickhouse-server started in %v", server.StartupTime())
	var first, second string
	t.Run("first", func(t *testing.T) {
		first = server.Database(t).Database()
		if databases(t, admin, first) != 1 {
			t.Fatalf("database %s not created", first)
		}
	})
	t.Run("second", func(t *testing.T) { second = server.Database(t).Database() })
	if first == second {
		t.Fatalf("both tests got database %s", first)
	}
	for _, db := range []string{first, second} {
		if n := databases(t, admin, db); n != 0 {
			t.Errorf("database %s still there after its test", db)
		}
	}
}

func TestServerAnswersOnLoopbackWithItsVersion(t *testing.T) {
	db := server.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := db.ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ClickHouse %s", v)
}
