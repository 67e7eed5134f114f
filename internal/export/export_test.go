package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/export"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

const pbTime = "2006-01-02 15:04:05.000Z"

// fill inserts n events of site spread over span from from (one session
// per 10 events) with SQL; tie events share one timestamp. Paths and event
// names cycle through a few values, some of them formulas.
func fill(app core.App, site string, n, tie int, from time.Time, span time.Duration) error {
	return app.RunInTransaction(func(tx core.App) error {
		exec := func(q string) error {
			if _, err := tx.DB().NewQuery(q).Execute(); err != nil {
				return fmt.Errorf("insert: %w", err)
			}
			return nil
		}
		at := func(i int) string {
			if i < tie {
				return from.Format(pbTime)
			}
			return from.Add(time.Duration(int64(span) / int64(n) * int64(i))).Format(pbTime)
		}
		var sb strings.Builder
		batch := func(prefix string, count int, row func(i int)) error {
			for i := range count {
				if sb.Len() > 0 {
					sb.WriteByte(',')
				}
				row(i)
				if (i+1)%500 == 0 || i == count-1 {
					if err := exec(prefix + sb.String()); err != nil {
						return err
					}
					sb.Reset()
				}
			}
			return nil
		}
		err := batch(`INSERT INTO sessions (id, website, visitor, seq, startedAt, lastActivity, entryPath, exitPath, eventCount,
			isEngaged, isNewVisitor, browser, os, device, language, country, referrer, utm, created, updated) VALUES `,
			max(n/10, 1), func(s int) {
				last := min(10*s+9, n-1)
				fmt.Fprintf(&sb, `('s%014d','%s','v%014d',%d,'%s','%s','/','/p',%d,1,1,'Firefox','Linux','desktop','en-US','DE',
					'https://ref.example/','{"utm_source":"news"}','%[5]s','%[5]s')`, s, site, s/2, s%2+1, at(10*s), at(last), last-10*s+1)
			})
		if err != nil {
			return err
		}
		return batch(`INSERT INTO events (id, session, website, type, path, eventName, eventData, timestamp, created, updated) VALUES `,
			n, func(i int) {
				fmt.Fprintf(&sb, `('e%014d','s%014d','%s','custom','/p%d','=cmd%d','{"n":%d}','%s','%[7]s','%[7]s')`,
					i, i/10, site, i%500, i%7, i, at(i))
			})
	})
}

func addSite(t testing.TB, app core.App) string {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		t.Fatal(err)
	}
	site := core.NewRecord(col)
	site.Load(map[string]any{"name": "export", "domain": "export.example"})
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	return site.Id
}

// TestWriteKeepsEveryRowAcrossPages exports more rows than a page holds,
// with more rows sharing one timestamp than a page holds: every row once,
// in (time, id) order, flushed page by page.
func TestWriteKeepsEveryRowAcrossPages(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	site := addSite(t, app)
	now := time.Now().UTC()
	from := now.Add(-2 * time.Hour).Truncate(time.Second)
	n, tie := 2*export.PageSize+500, export.PageSize+200
	if err := fill(app, site, n, tie, from, time.Hour); err != nil {
		t.Fatal(err)
	}
	p, err := stats.ParsePeriod("today", "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	if from.Before(p.From) { // just after midnight: the day before too
		p, _ = stats.ParsePeriod("24h", "", "", now)
	}
	for _, tc := range []struct {
		kind  export.Kind
		rows  int
		pages int
	}{
		{export.Events, n, n/export.PageSize + 1},
		{export.Sessions, n / 10, 1},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			var buf bytes.Buffer
			flushes := 0
			if err := export.Write(context.Background(), app, &buf, func() { flushes++ }, site, tc.kind, stats.Request{Period: p, Now: now}); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows)-1 != tc.rows || flushes != tc.pages {
				t.Fatalf("%d rows in %d flushes, want %d in %d", len(rows)-1, flushes, tc.rows, tc.pages)
			}
			ids := make([]string, 0, tc.rows)
			col := slices.Index(rows[0], "id")
			for _, r := range rows[1:] {
				ids = append(ids, r[col])
			}
			if !slices.IsSorted(ids) || len(slices.Compact(ids)) != tc.rows {
				t.Fatalf("ids not each once in order")
			}
			if tc.kind == export.Events && rows[1][slices.Index(rows[0], "eventName")] != "'=cmd0" {
				t.Errorf("event name %q not neutralized", rows[1][4])
			}
		})
	}
}

func TestNeutralize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                     "",
		"/pricing":             "/pricing",
		"=HYPERLINK(\"x\")":    "'=HYPERLINK(\"x\")",
		"+1":                   "'+1",
		"-2+3":                 "'-2+3",
		"@SUM(A1)":             "'@SUM(A1)",
		"\t=1":                 "'\t=1",
		"\r=1":                 "'\r=1",
		"a=1":                  "a=1",
		"signup":               "signup",
		"'already quoted":      "'already quoted",
		`{"plan":"=cmd|' /C"}`: `{"plan":"=cmd|' /C"}`,
	} {
		if got := export.Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want export.Kind
		ok   bool
	}{{"", export.Events, true}, {"events", export.Events, true}, {"sessions", export.Sessions, true},
		{"summary", export.Summary, true}, {"Events", "", false}, {"csv", "", false}} {
		k, err := export.ParseKind(tc.in)
		if k != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseKind(%q) = %q, %v", tc.in, k, err)
		}
	}
}

// BenchmarkExportEvents exports SKOPOS_BENCH_EVENTS events (default
// 20 000; BENCHMARKS.md has 1 000 000) over HTTP to io.Discard and
// reports the peak heap in use during the export above the heap before
// it (sampled every millisecond) and the process's peak RSS (VmHWM): a
// streaming export keeps both flat whatever the number of events.
func BenchmarkExportEvents(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("SKOPOS_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	srv := pbtest.Start(b, pbtest.Options{Plain: true, Setup: func(app core.App) error {
		return plugin.Register(app, nil, plugin.Config{Out: io.Discard})
	}})
	app := srv.App()
	site := addSite(b, app)
	now := time.Now().UTC()
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -29)
	if err := fill(app, site, n, 0, start, now.Sub(start)); err != nil {
		b.Fatal(err)
	}
	var tid string
	if err := app.DB().NewQuery("SELECT trackingId FROM websites WHERE id = {:id}").Bind(dbx.Params{"id": site}).Row(&tid); err != nil {
		b.Fatal(err)
	}
	token := superToken(b, srv)
	run := func() (rows int64) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+plugin.ExportPath+"?site="+tid+"&period=30d&kind=events", nil)
		req.Header.Set("Authorization", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		lines := &lineCounter{}
		if _, err := io.Copy(lines, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		return lines.n - 1
	}
	if got := run(); got != int64(n) { // the same 30 days, every event once
		b.Fatalf("%d rows, want %d", got, n)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	for b.Loop() {
		run()
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(n), "events")
	b.ReportMetric(float64(int64(peak.Load())-int64(base))/(1<<20), "heapGrowthMB")
	if hwm := vmHWM(); hwm > 0 {
		b.ReportMetric(float64(hwm)/1024, "peakRSSMB")
	}
}

type lineCounter struct{ n int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.n += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// vmHWM is the process's peak resident set in KiB (0 where /proc is not).
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

func superToken(b testing.TB, srv *pbtest.Server) string {
	b.Helper()
	body := fmt.Sprintf(`{"identity":%q,"password":%q}`, srv.Email, srv.Password)
	resp, err := http.Post(srv.URL+"/api/collections/_superusers/auth-with-password", "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := jsonDecode(resp.Body, &out); err != nil || out.Token == "" {
		b.Fatalf("superuser login: %d %v", resp.StatusCode, err)
	}
	return out.Token
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// TestEventsCarryEngagementRevenueAndOrigin: a page view's engagement, a
// purchase's revenue and order, and a session's source and channel are
// exported as stored.
func TestEventsCarryEngagementRevenueAndOrigin(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	site := addSite(t, app)
	now := time.Now().UTC()
	vis := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site, "visitorId": "v1"})
	sess := pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site, "visitor": vis.Id, "seq": 1,
		"startedAt": now, "lastActivity": now, "source": "Gmail", "channel": "Email"})
	pbtest.Save(t, app, schema.Events, map[string]any{"website": site, "session": sess.Id, "type": "pageView", "path": "/read",
		"timestamp": now, "engagedMs": 7000, "scrollDepth": 40})
	pbtest.Save(t, app, schema.Events, map[string]any{"website": site, "session": sess.Id, "type": "custom", "eventName": "Purchase",
		"path": "/checkout", "timestamp": now.Add(time.Millisecond), "revenueAmount": 2990, "revenueCurrency": "EUR", "orderId": "o-1"})
	p, err := stats.ParsePeriod("24h", "", "", now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	read := func(kind export.Kind) []map[string]string {
		var buf bytes.Buffer
		if err := export.Write(context.Background(), app, &buf, func() {}, site, kind, stats.Request{Period: p, Now: now}); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var out []map[string]string
		for _, r := range rows[1:] {
			m := map[string]string{}
			for i, h := range rows[0] {
				m[h] = r[i]
			}
			out = append(out, m)
		}
		return out
	}
	evs := read(export.Events)
	if len(evs) != 2 {
		t.Fatalf("%d events exported", len(evs))
	}
	pv, buy := evs[0], evs[1]
	if pv["engagedMs"] != "7000" || pv["scrollDepth"] != "40" || pv["revenueAmount"] != "0" || pv["revenueCurrency"] != "" {
		t.Errorf("page view %v", pv)
	}
	if buy["revenueAmount"] != "2990" || buy["revenueCurrency"] != "EUR" || buy["orderId"] != "o-1" || buy["engagedMs"] != "0" {
		t.Errorf("purchase %v", buy)
	}
	if ss := read(export.Sessions); len(ss) != 1 || ss[0]["source"] != "Gmail" || ss[0]["channel"] != "Email" {
		t.Errorf("sessions %v", ss)
	}
}
