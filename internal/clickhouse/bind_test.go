package clickhouse_test

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
)

type path string // a named string type, bound like a string

func TestBindWritesEachValueAsItsLiteral(t *testing.T) {
	when := time.UnixMilli(1700000000123)
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"nil", "SELECT ?", []any{nil}, "SELECT NULL"},
		{"string", "SELECT ?", []any{"it's"}, `SELECT 'it\'s'`},
		{"backslash", "SELECT ?", []any{`a\b`}, `SELECT 'a\\b'`},
		{"control bytes", "SELECT ?", []any{"\x00\t\n\x1f\x7f"}, `SELECT '\x00\x09\x0A\x1F\x7F'`},
		{"utf-8 kept", "SELECT ?", []any{"é😀"}, "SELECT 'é😀'"},
		{"invalid utf-8, a U+FFFD per byte", "SELECT ?", []any{"a\xff\xfeb"}, "SELECT 'a\uFFFD\uFFFDb'"},
		{"named string", "SELECT ?", []any{path("/a")}, "SELECT '/a'"},
		{"ident", "SELECT 1 FROM ?.?", []any{clickhouse.Ident("db"), clickhouse.Ident("we`ird")}, "SELECT 1 FROM `db`.`we\\`ird`"},
		{"ints", "SELECT ?, ?, ?", []any{0, int8(-128), int64(math.MaxInt64)}, "SELECT 0, (-128), 9223372036854775807"},
		{"negative after minus is no comment", "SELECT 1-?", []any{-5}, "SELECT 1-(-5)"},
		{"uints", "SELECT ?, ?", []any{uint8(255), uint64(math.MaxUint64)}, "SELECT 255, 18446744073709551615"},
		{"floats", "SELECT ?, ?, ?, ?", []any{1.5, float32(0.1), -2.5, 1e300}, "SELECT 1.5, 0.1, (-2.5), 1e+300"},
		{"bools", "SELECT ?, ?", []any{true, false}, "SELECT 1, 0"},
		{"time as unix milliseconds", "SELECT ?", []any{when}, "SELECT 1700000000123"},
		{"time before 1970", "SELECT ?", []any{time.UnixMilli(-1)}, "SELECT (-1)"},
		{"strings", "SELECT ?", []any{[]string{"a", "b'c"}}, `SELECT ['a','b\'c']`},
		{"empty strings", "SELECT ?", []any{[]string{}}, `SELECT []`},
		{"? in a string is no placeholder", "SELECT '?', ?", []any{1}, "SELECT '?', 1"},
		{"? in an escaped string", `SELECT 'a\'?', ?`, []any{1}, `SELECT 'a\'?', 1`},
		{"? in a quoted name", "SELECT 1 AS `?`, 2 AS \"?\", ?", []any{3}, "SELECT 1 AS `?`, 2 AS \"?\", 3"},
		{"? in a comment", "SELECT ? -- why?\n, /* ? */ ?", []any{1, 2}, "SELECT 1 -- why?\n, /* ? */ 2"},
		{"no placeholders", "SELECT 1", nil, "SELECT 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := clickhouse.Bind(tc.query, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Bind(%q) = %q, want %q", tc.query, got, tc.want)
			}
		})
	}
}

func TestBindRefusesWhatItCannotWrite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		args  []any
		err   string
	}{
		{"too few arguments", "SELECT ?, ?", []any{1}, "more ? placeholders"},
		{"too many arguments", "SELECT ?", []any{1, 2}, "2 arguments for 1"},
		{"NaN", "SELECT ?", []any{math.NaN()}, "NaN"},
		{"infinity", "SELECT ?", []any{math.Inf(-1)}, "infinite"},
		{"a struct", "SELECT ?", []any{struct{}{}}, "cannot bind a struct {}"},
		{"a map", "SELECT ?", []any{map[string]string{}}, "cannot bind"},
		{"a pointer", "SELECT ?", []any{new(int)}, "cannot bind a *int"},
		{"ints slice", "SELECT ?", []any{[]int{1}}, "cannot bind a []int"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := clickhouse.Bind(tc.query, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Bind = %q, %v; want an error with %q", q, err, tc.err)
			}
		})
	}
}

// TestBoundValuesReadBackFromTheServer checks each literal with
// ClickHouse itself: what it reads is the value bound.
func TestBoundValuesReadBackFromTheServer(t *testing.T) {
	db := server.Database(t)
	for _, tc := range []struct {
		arg  any
		want string // the JSON the server returns
	}{
		{nil, "null"},
		{"it's \\ a \x00 \x01 \x7f test", "\"it's \\\\ a \\u0000 \\u0001 \x7f test\""},
		{"é😀", `"é😀"`},
		{int64(math.MinInt64), "-9223372036854775808"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{-1.5, "-1.5"},
		{float32(0.1), "0.1"},
		{1e300, "1e300"},
		{true, "1"},
		{time.UnixMilli(1700000000123), "1700000000123"},
		{[]string{"a", "b'c", ""}, `["a","b'c",""]`},
	} {
		rows, err := clickhouse.Select[struct{ V json.RawMessage }](timeout(t), db, "SELECT ? AS V", tc.arg)
		if err != nil {
			t.Fatalf("%#v: %v", tc.arg, err)
		}
		if got := string(rows[0].V); got != tc.want {
			t.Errorf("SELECT %#v = %s, want %s", tc.arg, got, tc.want)
		}
	}
}

// FuzzBindString binds any string and asks the server for its bytes:
// they are exactly the string's, each byte of invalid UTF-8 read as U+FFFD
// (as Go's []rune conversion reads it). The seed corpus in testdata/ runs
// with every go test; go test -fuzz=FuzzBindString explores further.
func FuzzBindString(f *testing.F) {
	db := server.Database(f)
	f.Fuzz(func(t *testing.T, s string) {
		rows, err := clickhouse.Select[struct {
			H string
			N uint64
		}](timeout(t), db, "SELECT hex(?) AS H, length(?) AS N", s, s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want := string([]rune(s))
		if got := rows[0].H; got != strings.ToUpper(hex.EncodeToString([]byte(want))) {
			t.Fatalf("%q: the server read %s, want the bytes of %q", s, got, want)
		}
		if rows[0].N != uint64(len(want)) {
			t.Fatalf("%q: the server read %d bytes, want %d", s, rows[0].N, len(want))
		}
	})
}

// TestListIsWhatTheServerReads: an IN list of awkward strings selects
// exactly them, and an empty one nothing.
func TestListIsWhatTheServerReads(t *testing.T) {
	db := server.Database(t)
	vals := []string{"a'b", `c\d`, "\x00e", "f\ng", "", "é"}
	type row struct {
		S string `json:"s"`
	}
	got, err := clickhouse.Select[row](timeout(t), db,
		"SELECT s FROM (SELECT arrayJoin(?) AS s) WHERE s IN "+clickhouse.List(vals[:3])+" ORDER BY s", append(vals, "other"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].S != "\x00e" || got[1].S != "a'b" || got[2].S != `c\d` {
		t.Errorf("IN %s selected %q", clickhouse.List(vals[:3]), got)
	}
	none, err := clickhouse.Select[row](timeout(t), db, "SELECT s FROM (SELECT arrayJoin(?) AS s) WHERE s IN "+clickhouse.List(nil), vals)
	if err != nil || len(none) != 0 {
		t.Errorf("IN an empty list: %q, %v", none, err)
	}
}
