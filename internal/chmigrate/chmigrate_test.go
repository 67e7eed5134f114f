package chmigrate_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/chmigrate"
	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

var server chtest.Server

func TestMain(m *testing.M) {
	code := m.Run()
	server.Close()
	os.Exit(code)
}

// timeout is the context of a test's calls to the server.
func timeout(t testing.TB) context.Context { return testwait.Context(t) }

// fill writes a history through the SQLite store: visitors with page
// views (some engaged), custom events with data, JS errors.
func fill(t *testing.T, app core.App, rec *core.Record) {
	t.Helper()
	sites := pipeline.NewSites()
	site, err := sites.Put(localstore.WebsiteFromRecord(rec))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Store: localstore.New(app), Sites: sites, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	send := func(ip, body string) {
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		r.RemoteAddr = ip + ":50000"
		browsertest.Headers(r.Header, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
		if err := p.TrackBrowser(r, []byte(body), func(string) *pipeline.Site { return site }); err != nil {
			t.Fatal(err)
		}
	}
	for v := range 7 {
		ip := fmt.Sprintf("203.0.113.%d", v+1)
		for i := range 3 {
			send(ip, fmt.Sprintf(`{"type":"pageView","url":"https://example.com/p%d?utm_source=s%d","pid":"pv%02d%02d0000000"}`, i, v%2, v, i))
		}
		send(ip, fmt.Sprintf(`{"type":"engagement","url":"https://example.com/p0","pid":"pv%02d000000000","engagedMs":%d,"scroll":50}`, v, 1000*(v+1)))
		send(ip, `{"type":"custom","name":"signup","url":"https://example.com/p1","customData":{"plan":"pro"}}`)
		if v%3 == 0 {
			send(ip, fmt.Sprintf(`{"type":"jsError","url":"https://example.com/app","errorMessage":"E%d","stackTrace":"at f"}`, v%2))
		}
	}
	if err := p.Close(timeout(t)); err != nil {
		t.Fatal(err)
	}
}

// fingerprint lists a table's ids with the columns that matter, from
// SQLite or (latest versions) ClickHouse.
func sqliteRows(t *testing.T, app core.App, q string) []string {
	t.Helper()
	var out []string
	if err := app.DB().NewQuery(q).Column(&out); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func chRows(t *testing.T, db *clickhouse.Client, q string) []string {
	t.Helper()
	got, err := clickhouse.Select[struct {
		R string `json:"r"`
	}](timeout(t), db, q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range got {
		out = append(out, g.R)
	}
	sort.Strings(out)
	return out
}

// TestCopyIsCompleteAndResumable copies a history in pages of 4 rows,
// interrupted after two pages of events, and once more with the record of
// the last page sent lost (as if the process died between the insert and
// the record): every row arrives once, the same as in SQLite.
func TestCopyIsCompleteAndResumable(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	fill(t, app, srv.AddWebsite(t, "example.com"))
	db := server.StoreDatabase(t)

	stop := errors.New("interrupted")
	pages := 0
	_, err := chmigrate.Copy(timeout(t), app, db, chmigrate.Options{Page: 4, Progress: func(table string, copied, total int64) error {
		if table == schema.Events {
			if pages++; pages == 2 {
				return stop
			}
		}
		return nil
	}})
	if !errors.Is(err, stop) {
		t.Fatalf("Copy: %v, want the interruption", err)
	}
	// lose the record of the last page: the next run meets it in
	// ClickHouse and must not send it again
	if _, err := app.DB().NewQuery(`UPDATE skopos_state SET value = (SELECT CAST(rowid AS TEXT) FROM events ORDER BY rowid LIMIT 1 OFFSET 3)
		WHERE name = 'chmigrate:events@' || {:target}`).Bind(dbx.Params{"target": db.Target()}).Execute(); err != nil {
		t.Fatal(err)
	}
	res, err := chmigrate.Copy(timeout(t), app, db, chmigrate.Options{Page: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events == 0 || res.Sessions != 0 {
		t.Errorf("second run copied %+v: the sessions were done, the events not", res)
	}
	again, err := chmigrate.Copy(timeout(t), app, db, chmigrate.Options{Page: 4})
	if err != nil || again != (chmigrate.Result{}) {
		t.Errorf("third run: %+v, %v; want nothing left to copy", again, err)
	}
	// another database starts from the first row
	other := server.StoreDatabase(t)
	fresh, err := chmigrate.Copy(timeout(t), app, other, chmigrate.Options{})
	if err != nil || fresh.Events == 0 || fresh.Events != res.Events+8 || fresh.Sessions == 0 {
		t.Errorf("into another database: %+v, %v; want every row (%d events)", fresh, err, res.Events+8)
	}

	for _, tc := range []struct{ name, sqlite, ch string }{
		{"events",
			`SELECT id || '|' || session || '|' || type || '|' || path || '|' || eventName || '|' || COALESCE(eventData, '') || '|' || engagedMs || '|' || scrollDepth || '|' || CAST(ROUND((julianday(timestamp) - 2440587.5) * 86400000) AS INTEGER) FROM events`,
			`SELECT concat(id, '|', session, '|', type, '|', path, '|', eventName, '|', eventData, '|', toString(engagedMs), '|', toString(scrollDepth), '|', toString(timestamp)) AS r FROM events`},
		{"sessions",
			`SELECT id || '|' || visitor || '|' || seq || '|' || entryPath || '|' || exitPath || '|' || eventCount || '|' || isEngaged || '|' || engagedMs || '|' || COALESCE(utm, '') FROM sessions`,
			`SELECT concat(id, '|', visitor, '|', toString(seq), '|', entryPath, '|', exitPath, '|', toString(eventCount), '|', toString(isEngaged), '|', toString(engagedMs), '|', utm) AS r FROM sessions FINAL`},
		{"js_errors",
			`SELECT errorHash || '|' || errorMessage || '|' || count FROM js_errors`,
			`SELECT concat(errorHash, '|', any(errorMessage), '|', toString(sum(count))) AS r FROM js_errors GROUP BY errorHash`},
	} {
		want, got := sqliteRows(t, app, tc.sqlite), chRows(t, db, tc.ch)
		if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s:\nclickhouse %q\nsqlite     %q", tc.name, got, want)
		}
	}
}
