package clickhouse_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
)

// typed is a table with a column of each type the store uses.
const typed = `CREATE TABLE typed (
    k UInt32, s String, i8 Int8, i64 Int64, u8 UInt8, u64 UInt64,
    f Float64, b UInt8, t Int64, a Array(String), n Nullable(String)
) ENGINE = MergeTree ORDER BY k`

// smallestNormal is the smallest positive normal float64: 18.16 reads
// the subnormal ones below it as 0.
const smallestNormal = 0x1p-1022

type typedRow struct {
	K   uint32
	S   string
	I8  int8
	I64 int64
	U8  uint8
	U64 uint64
	F   float64
	B   uint8
	T   int64
	A   []string
	N   *string
}

func TestInsertedRowsReadBackAsTheyWere(t *testing.T) {
	db := server.Database(t)
	if err := db.Exec(timeout(t), typed); err != nil {
		t.Fatal(err)
	}
	when := time.UnixMilli(1700000000123)
	null := "not null"
	for _, tc := range []struct {
		name string
		row  map[string]any
		want typedRow
	}{
		{"zero values", map[string]any{"k": 1}, typedRow{K: 1, A: []string{}}},
		{"largest", map[string]any{"k": 2, "s": strings.Repeat("x", 1<<16), "i8": int8(math.MaxInt8), "i64": int64(math.MaxInt64),
			"u8": uint8(math.MaxUint8), "u64": uint64(math.MaxUint64), "f": math.MaxFloat64, "b": true, "t": when,
			"a": []string{"a", "b"}, "n": "not null"},
			typedRow{2, strings.Repeat("x", 1<<16), math.MaxInt8, math.MaxInt64, math.MaxUint8, math.MaxUint64, math.MaxFloat64, 1, 1700000000123, []string{"a", "b"}, &null}},
		{"smallest", map[string]any{"k": 3, "i8": int8(math.MinInt8), "i64": int64(math.MinInt64), "f": -smallestNormal,
			"b": false, "t": time.UnixMilli(-1), "n": nil},
			typedRow{K: 3, I8: math.MinInt8, I64: math.MinInt64, F: -smallestNormal, T: -1, A: []string{}}},
		{"escapes", map[string]any{"k": 4, "s": "\"q\" \\ \x00\x01\x1f\x7f\n\t é😀 \u2028", "a": []string{"\"", "\\", "'"}},
			typedRow{K: 4, S: "\"q\" \\ \x00\x01\x1f\x7f\n\t é😀 \u2028", A: []string{"\"", "\\", "'"}}},
		{"invalid utf-8, a U+FFFD per byte", map[string]any{"k": 5, "s": "a\xff\xc3b"},
			typedRow{K: 5, S: "a\uFFFD\uFFFDb", A: []string{}}},
		{"named types and plain ints", map[string]any{"k": uint32(6), "s": path("/p"), "i64": -7, "u64": 7},
			typedRow{K: 6, S: "/p", I64: -7, U64: 7, A: []string{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.Insert(timeout(t), "typed", []map[string]any{tc.row}); err != nil {
				t.Fatal(err)
			}
			got, err := clickhouse.Select[typedRow](timeout(t), db,
				"SELECT k AS K, s AS S, i8 AS I8, i64 AS I64, u8 AS U8, u64 AS U64, f AS F, b AS B, t AS T, a AS A, n AS N FROM typed WHERE k = ?", tc.row["k"])
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tc.want) {
				t.Errorf("read back %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestAFailedInsertWritesNothing(t *testing.T) {
	db := server.Database(t)
	if err := db.Exec(timeout(t), typed); err != nil {
		t.Fatal(err)
	}
	rows := func(bad map[string]any, at int) []map[string]any {
		out := make([]map[string]any, 1000)
		for i := range out {
			out[i] = map[string]any{"k": i, "s": "ok"}
		}
		out[at] = bad
		return out
	}
	for _, tc := range []struct {
		name string
		rows []map[string]any
		err  string // in the error's text
		code int    // the server's error, 0 for one of the client
	}{
		{"a bad value in the first row", rows(map[string]any{"k": math.NaN()}, 0), "row 1: column k: NaN", 0},
		{"a bad value in a later row", rows(map[string]any{"k": 1, "s": struct{}{}}, 900), "row 901: column s: cannot bind", 0},
		{"a name is no value", rows(map[string]any{"s": clickhouse.Ident("x")}, 3), "row 4: column s", 0},
		{"an unknown column", rows(map[string]any{"k": 1, "nope": 1}, 500), "nope", 117},
		{"a string for a number", rows(map[string]any{"k": "x"}, 10), "", 27},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Insert(timeout(t), "typed", tc.rows)
			var ce *clickhouse.Error
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.code != 0 && (!errors.As(err, &ce) || ce.Code != tc.code):
				t.Fatalf("err = %v, want code %d", err, tc.code)
			case tc.code == 0 && errors.As(err, &ce):
				t.Fatalf("err = %v, want the client's", err)
			case !strings.Contains(err.Error(), tc.err):
				t.Fatalf("err = %v, want %q in it", err, tc.err)
			}
			if n := count(t, db, "typed"); n != 0 {
				t.Fatalf("%d rows written", n)
			}
		})
	}
	if err := db.Insert(timeout(t), "no_such_table", nil); err != nil {
		t.Fatalf("inserting no rows: %v", err)
	}
}

func count(t testing.TB, db *clickhouse.Client, table string) uint64 {
	t.Helper()
	rows, err := clickhouse.Select[struct{ N uint64 }](timeout(t), db, "SELECT count() AS N FROM ?", clickhouse.Ident(table))
	if err != nil {
		t.Fatal(err)
	}
	return rows[0].N
}

// eventRows returns n rows of the events table as the writer would send
// them, over 30 days of one website.
func eventRows(n int) []map[string]any {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([]map[string]any, n)
	for i := range rows {
		ts := start.Add(time.Duration(i) * 30 * 24 * time.Hour / time.Duration(n))
		rows[i] = map[string]any{
			"id": fmt.Sprintf("e%014d", i), "session": fmt.Sprintf("s%014d", i/5), "type": "pageView",
			"path": fmt.Sprintf("/blog/post-%d", i%300), "website": "w00000000000001", "timestamp": ts,
			"eventName": "", "eventData": "", "engagedMs": i % 90000, "scrollDepth": i % 101,
			"created": ts, "updated": ts,
		}
	}
	return rows
}

func TestInsertOfAHundredThousandEvents(t *testing.T) {
	db := storeDatabase(t)
	const n = 100_000
	rows := eventRows(n)
	begin := time.Now()
	if err := db.Insert(timeout(t), "events", rows); err != nil {
		t.Fatal(err)
	}
	took := time.Since(begin)
	t.Logf("%d events inserted in %v: %.0f rows/s", n, took.Round(time.Millisecond), n/took.Seconds())
	if got := count(t, db, "events"); got != n {
		t.Fatalf("%d rows, want %d", got, n)
	}
	last, err := clickhouse.Select[struct {
		Path string
		TS   int64
	}](timeout(t), db, "SELECT path AS Path, timestamp AS TS FROM events WHERE id = ?", rows[n-1]["id"])
	if err != nil {
		t.Fatal(err)
	}
	if want := rows[n-1]["timestamp"].(time.Time).UnixMilli(); len(last) != 1 || last[0].Path != rows[n-1]["path"] || last[0].TS != want {
		t.Errorf("last row read back as %+v", last)
	}
}

func BenchmarkInsertEvents(b *testing.B) {
	db := storeDatabase(b)
	const batch = 10_000
	rows := eventRows(batch)
	b.ResetTimer()
	for b.Loop() {
		if err := db.Insert(timeout(b), "events", rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// TestInsertEncodedWritesWhatInsertWrites: a batch encoded now and sent
// later (an outbox) stores the same rows as Insert.
func TestInsertEncodedWritesWhatInsertWrites(t *testing.T) {
	db := storeDatabase(t)
	rows := []map[string]any{
		{"id": "e1", "website": "w", "path": "/a'b\\c", "timestamp": time.UnixMilli(1764547200123).UTC(), "engagedMs": 7},
		{"id": "e2", "website": "w", "path": "/\u00e9", "timestamp": int64(1764547200999), "batch": "b1"},
	}
	body, err := clickhouse.EncodeRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.InsertEncoded(timeout(t), "events", body); err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID        string `json:"id"`
		Path      string `json:"path"`
		Timestamp int64  `json:"timestamp"`
		EngagedMs uint64 `json:"engagedMs"`
		Batch     string `json:"batch"`
	}
	got, err := clickhouse.Select[row](timeout(t), db, "SELECT id, path, timestamp, engagedMs, batch FROM events ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	want := []row{{"e1", "/a'b\\c", 1764547200123, 7, ""}, {"e2", "/\u00e9", 1764547200999, 0, "b1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rows %+v, want %+v", got, want)
	}
	if _, err := clickhouse.EncodeRows([]map[string]any{{"id": struct{}{}}}); err == nil {
		t.Error("a value of an unknown type encoded")
	}
}

// TestCountAndDelete: Delete returns once the mutation left no matching
// row, and keeps the others.
func TestCountAndDelete(t *testing.T) {
	db := storeDatabase(t)
	rows := []map[string]any{{"id": "a", "website": "w", "batch": "b1"}, {"id": "b", "website": "w", "batch": "b1"}, {"id": "c", "website": "w", "batch": "b2"}}
	if err := db.Insert(timeout(t), "events", rows); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Count(timeout(t), "events", "batch = ?", "b1"); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	if err := db.Delete(timeout(t), "events", "batch = ?", "b1"); err != nil {
		t.Fatal(err)
	}
	if n, err := db.Count(timeout(t), "events", "website = ?", "w"); err != nil || n != 1 {
		t.Errorf("after Delete: %d rows, %v; want the other batch's 1", n, err)
	}
}
