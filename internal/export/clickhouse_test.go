package export_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/chtest/twin"
	"github.com/skopos-go/skopos/internal/export"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
)

// chServer is the ClickHouse of this test binary, started by the first
// test that asks for a database (TestMain closes it).
var chServer chtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	chServer.Close()
	os.Exit(code)
}

// TestClickHouseCSVEqualsSQLite sends the same traffic to a SQLite-store
// site and a chstore site and exports each kind over several periods
// from both: the same bytes but for the record ids (the id, session and
// visitor columns, blanked).
func TestClickHouseCSVEqualsSQLite(t *testing.T) {
	ch := chServer.StoreDatabase(t)
	srv := pbtest.Start(t, pbtest.Options{})
	pair := twin.Send(t, srv, ch, 12, nil)
	day := func(d int) string { return pair.T0.AddDate(0, 0, d).Format(time.DateOnly) }
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	var periods []stats.Period
	for _, span := range []struct {
		from, to string
		loc      *time.Location
	}{{day(0), day(11), time.UTC}, {day(3), day(5), berlin}, {day(11), day(11), time.UTC}} {
		p, err := stats.ParsePeriodIn("custom", span.from, span.to, pair.Now, span.loc)
		if err != nil {
			t.Fatal(err)
		}
		periods = append(periods, p)
	}
	csvOf := func(rec *core.Record, kind export.Kind, p stats.Period) string {
		var buf bytes.Buffer
		req := stats.Request{Period: p, Now: pair.Now, ClickHouse: pair.ClickHouseOf(rec)}
		if err := export.Write(twin.Timeout(t), pair.App, &buf, nil, rec.Id, kind, req); err != nil {
			t.Fatalf("%s of %s: %v", kind, rec.GetString("domain"), err)
		}
		rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows[1:] {
			for i, col := range rows[0] {
				if slices.Contains([]string{"id", "session", "visitor"}, col) {
					r[i] = ""
				}
			}
		}
		var out bytes.Buffer
		w := csv.NewWriter(&out)
		_ = w.WriteAll(rows)
		return out.String()
	}
	lines := 0
	for _, kind := range []export.Kind{export.Events, export.Sessions, export.Summary} {
		for _, p := range periods {
			want, got := csvOf(pair.SQLite, kind, p), csvOf(pair.ClickHouse, kind, p)
			if got != want {
				t.Errorf("%s %s..%s in %s:\nclickhouse\n%s\nsqlite\n%s", kind, p.From, p.To, p.Timezone, got, want)
			}
			n := strings.Count(want, "\n") - 1
			if n <= 0 {
				t.Errorf("%s %s..%s: no rows", kind, p.From, p.To)
			}
			lines += n
		}
	}
	t.Logf("%d CSV rows equal", lines)
}

// TestClickHouseKeepsEveryRowAcrossPages is TestWriteKeepsEveryRowAcrossPages
// over ClickHouse: more rows than a page, more of them at one time than a
// page, each once in (time, id) order.
func TestClickHouseKeepsEveryRowAcrossPages(t *testing.T) {
	ch := chServer.StoreDatabase(t)
	now := time.Now().UTC()
	p, err := stats.ParsePeriod("24h", "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	from := now.Add(-2 * time.Hour).Truncate(time.Second)
	n, tie := 2*export.PageSize+500, export.PageSize+200
	at := func(i int) time.Time {
		if i < tie {
			return from
		}
		return from.Add(time.Hour / time.Duration(n) * time.Duration(i))
	}
	var events, sessions []map[string]any
	for i := range n {
		events = append(events, map[string]any{"id": fmt.Sprintf("e%06d", i), "website": "w", "session": fmt.Sprintf("s%05d", i/10),
			"type": "custom", "eventName": "=cmd", "timestamp": at(i)})
		if i%10 == 0 {
			sessions = append(sessions, map[string]any{"id": fmt.Sprintf("s%05d", i/10), "website": "w", "visitor": "v",
				"startedAt": at(i), "lastActivity": at(i), "created": at(i), "version": 1})
		}
	}
	if err := ch.Insert(twin.Timeout(t), "events", events); err != nil {
		t.Fatal(err)
	}
	if err := ch.Insert(twin.Timeout(t), "sessions", sessions); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind        export.Kind
		rows, pages int
	}{{export.Events, n, n/export.PageSize + 1}, {export.Sessions, n / 10, 1}} {
		var buf bytes.Buffer
		flushes := 0
		err := export.Write(twin.Timeout(t), nil, &buf, func() { flushes++ }, "w", tc.kind, stats.Request{Period: p, Now: now, ClickHouse: ch})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows)-1 != tc.rows || flushes != tc.pages {
			t.Fatalf("%s: %d rows in %d flushes, want %d in %d", tc.kind, len(rows)-1, flushes, tc.rows, tc.pages)
		}
		col := slices.Index(rows[0], "id")
		var ids []string
		for _, r := range rows[1:] {
			ids = append(ids, r[col])
		}
		if !slices.IsSorted(ids) || len(slices.Compact(ids)) != tc.rows {
			t.Fatalf("%s: ids not each once in order", tc.kind)
		}
		if tc.kind == export.Events && (rows[1][slices.Index(rows[0], "eventName")] != "'=cmd" || rows[1][slices.Index(rows[0], "visitor")] != "v") {
			t.Errorf("first event %q", rows[1])
		}
	}
}
