package clickhouse_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
)

func TestServerErrorsAreErrors(t *testing.T) {
	db := server.Database(t)
	missing := clickhouse.New(clickhouse.Options{URL: server.URL(t), Database: "no_such_database"})
	for _, tc := range []struct {
		name string
		run  func(context.Context) error
		code int
		msg  string
	}{
		{"unknown table", func(ctx context.Context) error { return db.Exec(ctx, "SELECT * FROM nope") }, 60, "nope doesn't exist"},
		{"syntax", func(ctx context.Context) error { return db.Exec(ctx, "SELEC 1") }, 62, "Syntax error"},
		{"unknown database", func(ctx context.Context) error { return missing.Ping(ctx) }, 0, ""}, // /ping needs none
		{"unknown database in a query", func(ctx context.Context) error {
			_, err := clickhouse.Select[map[string]any](ctx, missing, "SELECT 1")
			return err
		}, 81, "no_such_database"},
		{"insert into a missing table", func(ctx context.Context) error {
			return db.Insert(ctx, "nope", []map[string]any{{"a": 1}})
		}, 60, "nope doesn't exist"},
		{"a throw after the first rows were sent", func(ctx context.Context) error {
			// more than the server's output buffer before the throw, so
			// that the status line says 200
			_, err := clickhouse.Select[struct{ N uint64 }](ctx, db,
				"SELECT number AS N, throwIf(number = 100000) AS x FROM system.numbers LIMIT 110000 SETTINGS max_block_size = 1000")
			return err
		}, 395, "Value passed to 'throwIf' function is non zero"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(timeout(t))
			if tc.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *clickhouse.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *clickhouse.Error", err)
			}
			if ce.Code != tc.code || !strings.Contains(ce.Message, tc.msg) {
				t.Errorf("err = %+v, want code %d and a message with %q", ce, tc.code, tc.msg)
			}
			if strings.Contains(ce.Message, "e.what()") || strings.HasPrefix(ce.Message, "DB::Exception") {
				t.Errorf("message %q keeps the exception's decoration", ce.Message)
			}
		})
	}
}

func TestHTTPErrorsThatAreNoServerErrorsAreNoError(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer proxy.Close()
	err := clickhouse.New(clickhouse.Options{URL: proxy.URL}).Exec(timeout(t), "SELECT 1")
	var ce *clickhouse.Error
	if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "502") || !strings.Contains(err.Error(), "upstream down") {
		t.Fatalf("err = %v, want a plain error with the status and the body", err)
	}
}

func TestAQueryEndsWithItsContext(t *testing.T) {
	db := server.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// sleep(3) is 18.16's longest; the query ends with it server side
	_, err := clickhouse.Select[map[string]any](ctx, db, "SELECT sleep(3)")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if err := db.Insert(ctx, "t", []map[string]any{{"a": 1}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("insert with a cancelled context: %v", err)
	}
	if err := db.Exec(ctx, "SELECT 1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("exec with a cancelled context: %v", err)
	}
}

func TestUsersAuthenticateWithTheirPassword(t *testing.T) {
	url := server.URL(t)
	good := clickhouse.New(clickhouse.Options{URL: url, User: chtest.User, Password: chtest.Password})
	// 18.16 has no currentUser(): the query finds itself among the running
	rows, err := clickhouse.Select[struct{ U string }](timeout(t), good,
		"SELECT user AS U FROM system.processes WHERE query LIKE '%find this query%'")
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].U != chtest.User {
		t.Errorf("user %q, want %q", rows[0].U, chtest.User)
	}
	bad := clickhouse.New(clickhouse.Options{URL: url, User: chtest.User, Password: "wrong"})
	var ce *clickhouse.Error
	if err := bad.Exec(timeout(t), "SELECT 1"); !errors.As(err, &ce) || ce.Code != 193 {
		t.Fatalf("wrong password: %v, want code 193", err)
	}
}

func TestSelectDecodesRowsIntoStructsAndMaps(t *testing.T) {
	db := server.Database(t)
	type row struct {
		N    uint64
		Name string `json:"name"`
	}
	got, err := clickhouse.Select[row](timeout(t), db, "SELECT number AS N, toString(number) AS name FROM system.numbers LIMIT ?;  ", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2] != (row{2, "2"}) {
		t.Errorf("rows %+v", got)
	}
	maps, err := clickhouse.Select[map[string]any](timeout(t), db, "SELECT toUInt64(18446744073709551615) AS big -- the largest")
	if err != nil {
		t.Fatal(err)
	}
	if n := maps[0]["big"]; n != any(jsonNumber("18446744073709551615")) {
		t.Errorf("big = %#v, want every digit", n)
	}
	none, err := clickhouse.Select[row](timeout(t), db, "SELECT 1 AS N, '' AS name WHERE 0")
	if err != nil || len(none) != 0 {
		t.Errorf("no rows: %v, %v", none, err)
	}
}

type jsonNumber = json.Number

func TestParseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want clickhouse.Options
		bad  bool
	}{
		{in: "http://127.0.0.1:8123", want: clickhouse.Options{URL: "http://127.0.0.1:8123", Database: "skopos"}},
		{in: "https://u:p%40ss@ch.example:8443/analytics", want: clickhouse.Options{URL: "https://ch.example:8443", Database: "analytics", User: "u", Password: "p@ss"}},
		{in: " http://ch/ ", want: clickhouse.Options{URL: "http://ch", Database: "skopos"}},
		{in: "ch.example:8123", bad: true},
		{in: "tcp://ch:9000", bad: true},
		{in: "http://ch/a/b", bad: true},
		{in: "http://", bad: true},
	} {
		got, err := clickhouse.ParseURL(tc.in)
		if tc.bad != (err != nil) || !tc.bad && got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.in, got, err)
		}
	}
}
