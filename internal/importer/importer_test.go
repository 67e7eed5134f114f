package importer_test

import (
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/importer"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// day is what the stats API must show for a period of imported days:
// the totals and the breakdowns (every dimension not listed is empty).
type day struct {
	pageViews, visitors, newVisitors, returning int
	engagementRate, bounceRate, avgDuration     float64
	top                                         map[string][]stats.Item
}

// ownSession stores one session with one page view of site at at.
func ownSession(t *testing.T, app core.App, site string, at time.Time) {
	t.Helper()
	dt, _ := types.ParseDateTime(at)
	v := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site, "visitorId": "own"})
	s := pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site, "visitor": v.Id, "seq": 1,
		"isNewVisitor": true, "eventCount": 1, "entryPath": "/own", "exitPath": "/own", "startedAt": dt, "lastActivity": dt})
	pbtest.Save(t, app, schema.Events, map[string]any{"website": site, "session": s.Id, "type": "pageView",
		"path": "/own", "timestamp": dt})
}

// query is the stats API's report of the UTC days from–to.
func query(t *testing.T, app core.App, site, from, to string) *stats.Report {
	t.Helper()
	p, err := stats.ParsePeriod("custom", from, to, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	r, err := stats.Query(context.Background(), app, site, stats.Request{Period: p, Top: 20, Now: p.To})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// check compares a report with want.
func check(t *testing.T, name string, r *stats.Report, want day) {
	t.Helper()
	got := day{int(r.PageViews.Value), int(r.Visitors.Value), int(r.NewVisitors.Value), int(r.ReturningVisitors.Value),
		r.EngagementRate.Value, r.BounceRate.Value, r.AvgDuration.Value, map[string][]stats.Item{}}
	for dim, items := range r.Top {
		if len(items) > 0 {
			got.top[dim] = items
		}
	}
	if got.pageViews != want.pageViews || got.visitors != want.visitors || got.newVisitors != want.newVisitors ||
		got.returning != want.returning || got.engagementRate != want.engagementRate || got.bounceRate != want.bounceRate ||
		got.avgDuration != want.avgDuration {
		t.Errorf("%s: totals %+v;\nwant %+v", name, got, want)
	}
	for _, dim := range schema.Dimensions {
		if !reflect.DeepEqual(got.top[dim], want.top[dim]) {
			t.Errorf("%s: top %s = %v; want %v", name, dim, got.top[dim], want.top[dim])
		}
	}
}

func items(kv ...any) []stats.Item {
	var out []stats.Item
	for i := 0; i < len(kv); i += 2 {
		out = append(out, stats.Item{Key: kv[i].(string), Count: kv[i+1].(int)})
	}
	return out
}

// dump is every summary row of the database and the imported sources,
// every column, in id order.
func dump(t *testing.T, app core.App) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		"SELECT * FROM dash_sum ORDER BY id",
		"SELECT * FROM dash_sum_items ORDER BY id",
		"SELECT * FROM " + schema.State + " ORDER BY id",
	} {
		var rows []dbx.NullStringMap
		if err := app.DB().NewQuery(q).All(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			for _, k := range slices.Sorted(maps.Keys(r)) {
				fmt.Fprintf(&b, "%s=%s ", k, r[k].String)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestImportPlausibleShowsItsDaysInTheStatsAndSkipsOwnDays(t *testing.T) {
	t.Parallel()
	app, site := start(t)
	// the site's own data starts on the export's last day
	ownSession(t, app, site, time.Date(2024, 1, 3, 10, 0, 0, 0, time.UTC))

	data := readPlausible(t, "testdata/plausible")
	res, err := importer.Write(app, site, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Days != 3 || !slices.Equal(res.Imported, []string{"2024-01-01", "2024-01-02"}) ||
		!slices.Equal(res.SkippedOwn, []string{"2024-01-03"}) || len(res.SkippedOther) != 0 || res.Rows == 0 {
		t.Fatalf("result %+v", res)
	}

	// figures of imported_visitors; engaged = visits − bounces
	check(t, "2024-01-01", query(t, app, site, "2024-01-01", "2024-01-01"), day{
		pageViews: 30, visitors: 10, engagementRate: 60, bounceRate: 40, avgDuration: 60,
		top: map[string][]stats.Item{
			"page":         items("/", 20, "/pricing", 10),
			"entryPage":    items("/", 8, "/pricing", 2),
			"exitPage":     items("/", 6, "/pricing", 4),
			"referrer":     items("Direct", 7, "google.com", 3),
			"utm_source":   items("newsletter", 2),
			"utm_medium":   items("email", 2),
			"utm_campaign": items("jan", 2),
			"country":      items("DE", 6, "US", 4),
			"device":       items("desktop", 8, "mobile", 2),
			"browser":      items("Chrome", 7, "Edge", 3),
			"os":           items("Windows", 6, "macOS", 4),
			"customEvent":  items("Signup", 3, "Outbound Link: Click", 2),
		},
	})
	r := query(t, app, site, "2024-01-01", "2024-01-02")
	check(t, "2024-01-01 – 02", r, day{
		pageViews: 42, visitors: 16, engagementRate: 62.5, bounceRate: 37.5, avgDuration: 53, // 840 s / 16
		top: map[string][]stats.Item{
			"page":         items("/", 32, "/pricing", 10),
			"entryPage":    items("/", 14, "/pricing", 2),
			"exitPage":     items("/", 12, "/pricing", 4),
			"referrer":     items("Direct", 13, "google.com", 3),
			"utm_source":   items("newsletter", 2),
			"utm_medium":   items("email", 2),
			"utm_campaign": items("jan", 2),
			"country":      items("DE", 6, "FR", 6, "US", 4),
			"device":       items("desktop", 8, "mobile", 8),
			"browser":      items("Chrome", 7, "Safari", 6, "Edge", 3),
			"os":           items("Linux", 6, "Windows", 6, "macOS", 4),
			"customEvent":  items("Signup", 4, "Outbound Link: Click", 2),
		},
	})
	if r.Imported == nil || !slices.Equal(r.Imported.Days, []string{"2024-01-01", "2024-01-02"}) ||
		!slices.Equal(r.Imported.Sources, []string{"Plausible"}) {
		t.Errorf("imported = %+v", r.Imported)
	}
	// nothing was imported into the own day (its summaries are the
	// pipeline's, which this test does not run)
	own := query(t, app, site, "2024-01-03", "2024-01-03")
	if own.PageViews.Value != 0 || own.Visitors.Value != 0 || own.Imported != nil {
		t.Errorf("own day: page views %v, visitors %v, imported %+v", own.PageViews.Value, own.Visitors.Value, own.Imported)
	}
	// a filter reads raw rows: no imported day is in its figures
	p, _ := stats.ParsePeriod("custom", "2024-01-01", "2024-01-02", time.Now())
	f, err := stats.Query(context.Background(), app, site, stats.Request{Period: p, Filters: []stats.Filter{{Dim: "country", Value: "DE"}}, Now: p.To})
	if err != nil || f.PageViews.Value != 0 || f.Imported != nil {
		t.Errorf("filtered: %v page views, imported %+v, %v", f.PageViews.Value, f.Imported, err)
	}
}

func TestImportAgainWritesNothingFromTheDirectoryOrTheZip(t *testing.T) {
	t.Parallel()
	app, site := start(t)
	data := readPlausible(t, "testdata/plausible")
	first, err := importer.Write(app, site, data, 0)
	if err != nil || len(first.Imported) != 3 {
		t.Fatalf("first import: %+v, %v", first, err)
	}
	before := dump(t, app)

	zipped := zipDir(t, "testdata/plausible")
	for _, path := range []string{"testdata/plausible", zipped} {
		res, err := importer.Write(app, site, readPlausible(t, path), 0)
		if err != nil || res.Rows != 0 || len(res.Imported) != 3 {
			t.Errorf("%s again: %+v, %v; want 0 rows written, 3 days", path, res, err)
		}
		if after := dump(t, app); after != before {
			t.Errorf("%s again changed the rows:\n%s\nwas\n%s", path, after, before)
		}
	}

	// a corrected export replaces what the first one wrote: a page gone
	// is deleted, a count changed is updated
	dir := copyDir(t, "testdata/plausible")
	pages := filepath.Join(dir, "imported_pages_20240101_20240103.csv")
	rewrite(t, pages, func(s string) string {
		return strings.Replace(strings.Replace(s, "2024-01-01,example.com,/pricing,3,3,10,55,2\n", "", 1), ",7,20,", ",7,21,", 1)
	})
	if res, err := importer.Write(app, site, readPlausible(t, dir), 0); err != nil || res.Rows != 2 {
		t.Fatalf("corrected export: %+v, %v; want 2 rows written", res, err)
	}
	r := query(t, app, site, "2024-01-01", "2024-01-01")
	if got := r.Top["page"]; !reflect.DeepEqual(got, items("/", 21)) {
		t.Errorf("pages after the corrected export: %v", got)
	}
}

func TestImportMalformedFilesNameFileAndLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, file    string
		edit          func(string) string
		wantFile      string
		wantLine      int
		wantInMessage string
	}{
		{"not a number", "imported_pages_20240101_20240103.csv",
			func(s string) string { return strings.Replace(s, ",8,7,20,", ",8,7,lots,", 1) },
			"imported_pages_20240101_20240103.csv", 2, `pageviews: "lots"`},
		{"bad date", "imported_visitors_20240101_20240103.csv",
			func(s string) string { return strings.Replace(s, "2024-01-02,", "02/01/2024,", 1) },
			"imported_visitors_20240101_20240103.csv", 3, "not a date"},
		{"missing column", "imported_sources_20240101_20240103.csv",
			func(s string) string { return strings.Replace(s, ",visits,", ",sessions,", 1) },
			"imported_sources_20240101_20240103.csv", 1, "missing column visits"},
		{"wrong field count", "imported_devices_20240101_20240103.csv",
			func(s string) string {
				return strings.Replace(s, "2024-01-02,Mobile,5,6,240,2,12", "2024-01-02,Mobile,5,6", 1)
			},
			"imported_devices_20240101_20240103.csv", 5, "wrong number of fields"},
		{"unknown file", "imported_cities_20240101_20240103.csv", nil,
			"imported_cities_20240101_20240103.csv", 0, "not a file of Plausible's CSV export"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := copyDir(t, "testdata/plausible")
			path := filepath.Join(dir, tt.file)
			if tt.edit == nil {
				if err := os.WriteFile(path, []byte("date,city\n2024-01-01,Berlin\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				rewrite(t, path, tt.edit)
			}
			_, err := importer.ReadPlausible(dir)
			var fe *importer.FormatError
			if !errors.As(err, &fe) || fe.File != tt.wantFile || fe.Line != tt.wantLine || !strings.Contains(err.Error(), tt.wantInMessage) {
				t.Fatalf("error %v; want %s line %d with %q", err, tt.wantFile, tt.wantLine, tt.wantInMessage)
			}
		})
	}
	// Umami: a bad timestamp, by line
	dir := t.TempDir()
	rewriteTo(t, "testdata/umami/export.csv", filepath.Join(dir, "export.csv"), func(s string) string {
		return strings.Replace(s, "2024-02-01 11:00:00", "yesterday", 1)
	})
	_, err := importer.ReadUmami(filepath.Join(dir, "export.csv"))
	if err == nil || err.Error() != `export.csv: line 5: created_at: "yesterday" is not a date and time` {
		t.Errorf("umami error %v", err)
	}
}

// A failure while writing rolls the whole import back.
func TestImportFailingMidwayWritesNothing(t *testing.T) {
	t.Parallel()
	app, site := start(t)
	data := readPlausible(t, "testdata/plausible")
	before := dump(t, app)
	// a row of another site that holds the id the last day's row needs
	id := pipeline.SumItemID(site, time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC), "page", "/blog")
	if _, err := app.DB().NewQuery(`INSERT INTO dash_sum_items (id, website, date, dimension, key, count)
		VALUES ({:id}, 'other', '2024-01-03 00:00:00.000Z', 'page', '/blog', 1)`).Bind(dbx.Params{"id": id}).Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := importer.Write(app, site, data, 0); err == nil || !strings.Contains(err.Error(), "2024-01-03") {
		t.Fatalf("write: %v; want the failure of 2024-01-03", err)
	}
	if _, err := app.DB().NewQuery("DELETE FROM dash_sum_items WHERE id = {:id}").Bind(dbx.Params{"id": id}).Execute(); err != nil {
		t.Fatal(err)
	}
	if after := dump(t, app); after != before {
		t.Errorf("a failed import left rows:\n%s", after)
	}
}

func TestImportSkipsDaysWithSummariesOfTheirOwn(t *testing.T) {
	t.Parallel()
	app, site := start(t)
	// a summary row another migration wrote (daily_stats of a Node-era
	// installation whose raw rows are gone)
	if _, err := app.DB().NewQuery(`INSERT INTO dash_sum (id, website, date, pageViews, visitors)
		VALUES ({:id}, {:w}, '2024-01-02 00:00:00.000Z', 5, 2)`).
		Bind(dbx.Params{"id": pipeline.SumID(site, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)), "w": site}).Execute(); err != nil {
		t.Fatal(err)
	}
	data := readPlausible(t, "testdata/plausible")
	res, err := importer.Write(app, site, data, 0)
	if err != nil || !slices.Equal(res.Imported, []string{"2024-01-01", "2024-01-03"}) || !slices.Equal(res.SkippedOther, []string{"2024-01-02"}) {
		t.Fatalf("result %+v, %v", res, err)
	}
	if r := query(t, app, site, "2024-01-02", "2024-01-02"); r.PageViews.Value != 5 || r.Imported != nil {
		t.Errorf("the other day: %v page views, imported %+v", r.PageViews.Value, r.Imported)
	}
}

func TestImportUmamiAggregatesItsEventsPerUTCDay(t *testing.T) {
	t.Parallel()
	app, site := start(t)
	gz := filepath.Join(t.TempDir(), "export.csv.gz")
	gzipFile(t, "testdata/umami/export.csv", gz)
	for _, path := range []string{"testdata/umami/export.csv", "testdata/umami", gz} {
		data, err := importer.ReadUmami(path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := importer.Write(app, site, data, 0)
		if err != nil || !slices.Equal(res.Imported, []string{"2024-02-01", "2024-02-02"}) {
			t.Fatalf("%s: %+v, %v", path, res, err)
		}
		if path != "testdata/umami/export.csv" && res.Rows != 0 {
			t.Errorf("%s: %d rows written again; want 0", path, res.Rows)
		}
	}
	// visits v1 (3 events, 120 s), v2 (a bounce), v3 (the first visit's
	// session returning at 23:59:30, its second page view after midnight)
	check(t, "2024-02-01", query(t, app, site, "2024-02-01", "2024-02-01"), day{
		pageViews: 4, visitors: 3, newVisitors: 2, returning: 1, engagementRate: 66.7, bounceRate: 33.3, avgDuration: 57, // 170 s / 3
		top: map[string][]stats.Item{
			"page":        items("/", 2, "/blog", 1, "/pricing", 1),
			"entryPage":   items("/", 2, "/blog", 1),
			"exitPage":    items("/blog", 1, "/docs", 1, "/pricing", 1),
			"referrer":    items("Direct", 2, "google.com", 1),
			"utm_source":  items("ads", 1),
			"utm_medium":  items("cpc", 1),
			"country":     items("DE", 2, "FR", 1),
			"device":      items("desktop", 2, "mobile", 1),
			"browser":     items("Chrome", 2, "Mobile Safari", 1),
			"os":          items("macOS", 2, "iOS", 1),
			"language":    items("en-US", 2, "fr-FR", 1),
			"customEvent": items("signup", 1),
		},
	})
	// v4 (a bounce; its event of type 3 is not counted) and v3's page view
	check(t, "2024-02-02", query(t, app, site, "2024-02-02", "2024-02-02"), day{
		pageViews: 2, visitors: 1, newVisitors: 1, bounceRate: 100,
		top: map[string][]stats.Item{
			"page":      items("/", 1, "/docs", 1),
			"entryPage": items("/", 1),
			"exitPage":  items("/", 1),
			"referrer":  items("news.ycombinator.com", 1),
			"country":   items("DE", 1),
			"device":    items("desktop", 1),
			"browser":   items("Firefox", 1),
			"os":        items("Windows", 1),
			"language":  items("de-DE", 1),
		},
	})
}

func TestImportCapsTheKeysOfADay(t *testing.T) {
	t.Parallel()
	app, site := start(t)
	data := readPlausible(t, "testdata/plausible/imported_pages_20240101_20240103.csv")
	if _, err := importer.Write(app, site, data, 1); err != nil {
		t.Fatal(err)
	}
	r := query(t, app, site, "2024-01-01", "2024-01-01")
	if got := r.Top["page"]; !reflect.DeepEqual(got, items("/", 20, pipeline.OtherKey, 10)) {
		t.Errorf("pages with 1 key a day: %v", got)
	}
}

// start starts a PocketBase with one website.
func start(t *testing.T) (core.App, string) {
	t.Helper()
	srv := pbtest.Start(t, pbtest.Options{})
	return srv.App(), srv.AddWebsite(t, "example.com").Id
}

func readPlausible(t *testing.T, path string) *importer.Data {
	t.Helper()
	data, err := importer.ReadPlausible(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func zipDir(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "example_com_20240104.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		w, err := zw.Create(e.Name())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rewriteTo(t, filepath.Join(dir, e.Name()), filepath.Join(out, e.Name()), func(s string) string { return s })
	}
	return out
}

func rewrite(t *testing.T, path string, edit func(string) string) {
	t.Helper()
	rewriteTo(t, path, path, edit)
}

func rewriteTo(t *testing.T, from, to string, edit func(string) string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
}
