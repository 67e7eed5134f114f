package stats_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// breakdownApp is a site with 3 000 events over the 10 days up to now
// (the bench fixture's rows and summaries), and five page views of paths
// with LIKE wildcards (rows and summaries) on its first session.
func breakdownApp(t *testing.T, now time.Time) (core.App, string) {
	t.Helper()
	app := pbtest.Start(t, pbtest.Options{}).App()
	site := pbtest.Save(t, app, schema.Websites, map[string]any{"name": "bd", "domain": "bd.example"})
	if err := fill(app, site.Id, 3000, now.Add(-240*time.Hour), 240*time.Hour); err != nil {
		t.Fatal(err)
	}
	at := now.Add(-239 * time.Hour).UTC() // in the first session
	day := at.Format("2006-01-02") + " 00:00:00.000Z"
	for i, path := range []string{"/100%_off", "/50%", "/a_b", "/axb", "/A_B"} {
		ts := at.Format(pbTime)
		if _, err := app.DB().Insert(schema.Events, dbx.Params{"id": fmt.Sprintf("w%014d", i), "session": "s00000000000000",
			"website": site.Id, "type": "pageView", "path": path, "timestamp": ts, "created": ts, "updated": ts}).Execute(); err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB().Insert(schema.DashSumItems, dbx.Params{"id": fmt.Sprintf("w%014d", i), "website": site.Id,
			"date": day, "dimension": "page", "key": path, "count": 1}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	return app, site.Id
}

// every pages through a whole breakdown, checking that each page holds
// the limit (but the last) and says the same total.
func every(t *testing.T, app core.App, site string, req stats.BreakdownRequest) []stats.BreakdownRow {
	t.Helper()
	var out []stats.BreakdownRow
	total := -1
	for req.Offset = 0; ; req.Offset += req.Limit {
		page, err := stats.Breakdown(context.Background(), app, site, req)
		if err != nil {
			t.Fatalf("%s offset %d: %v", req.Dimension, req.Offset, err)
		}
		if total >= 0 && page.Total != total {
			t.Fatalf("%s: total %d at offset %d, %d before", req.Dimension, page.Total, req.Offset, total)
		}
		total = page.Total
		out = append(out, page.Rows...)
		if len(page.Rows) < req.Limit {
			if len(out) != total {
				t.Fatalf("%s: %d rows over the pages, total %d", req.Dimension, len(out), total)
			}
			return out
		}
	}
}

func keys(rows []stats.BreakdownRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Key)
	}
	return out
}

// The first page sorted by the metric is the report's top list, in every
// zone (summaries alone, summaries and raw edges, raw rows) and under
// filters; paging through covers every key once, in order.
func TestBreakdownEqualsTopLists(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	app, site := breakdownApp(t, now)
	ctx := context.Background()
	dims := slices.DeleteFunc(slices.Clone(schema.Dimensions), func(d string) bool { return d == "jsError" })
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Kolkata"} {
		loc, err := stats.Location(zone)
		if err != nil {
			t.Fatal(err)
		}
		for _, filters := range [][]stats.Filter{nil, {{Dim: "country", Value: "DE"}}, {{Dim: "page", Value: "/pricing"}}} {
			p, err := stats.ParsePeriodIn("7d", "", "", now, loc)
			if err != nil {
				t.Fatal(err)
			}
			req := stats.Request{Period: p, Filters: filters, Now: now, Top: 10}
			rep, err := stats.Query(ctx, app, site, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, dim := range dims {
				name := fmt.Sprintf("%s %v %s", zone, filters, dim)
				page, err := stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: dim})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				var got []stats.Item
				for _, r := range page.Rows {
					got = append(got, stats.Item{Key: r.Key, Count: r.Count()})
				}
				if want := rep.Top[dim]; !slices.Equal(got, want) && (len(got) > 0 || len(want) > 0) {
					t.Errorf("%s: breakdown %v, top %v", name, got, want)
				}
				all := every(t, app, site, stats.BreakdownRequest{Request: req, Dimension: dim, Limit: 7})
				if len(all) < len(page.Rows) || !slices.Equal(all[:len(page.Rows)], page.Rows) {
					t.Errorf("%s: the pages of 7 start %v, the first page of 10 is %v", name, all[:min(10, len(all))], page.Rows)
				}
				byKey := every(t, app, site, stats.BreakdownRequest{Request: req, Dimension: dim, Sort: "key", Limit: 100})
				if len(byKey) != len(all) || !slices.IsSorted(keys(byKey)) {
					t.Errorf("%s: by key %v (%d keys by count)", name, keys(byKey), len(all))
				}
			}
			// a visitors share is of the visitors
			page, err := stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: "country"})
			if err != nil {
				t.Fatal(err)
			}
			sum := 0.0
			for _, r := range page.Rows {
				if r.Visitors == 0 || r.PageViews != 0 || page.Metric != "visitors" {
					t.Errorf("country row %+v, metric %s", r, page.Metric)
				}
				want := float64((2000*r.Visitors+int(rep.Visitors.Value))/(2*int(rep.Visitors.Value))) / 10
				if r.Percent != want {
					t.Errorf("%s %v: %s %.1f %%, want %.1f", zone, filters, r.Key, r.Percent, want)
				}
				sum += r.Percent
			}
			if sum < 99.5 || sum > 100.5 {
				t.Errorf("%s %v: the countries' shares add up to %.1f", zone, filters, sum)
			}
		}
	}
}

// Filtered, the figures are those of the raw rows: an oracle counts them
// with its own SQL.
func TestBreakdownFilteredOracle(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	app, site := breakdownApp(t, now)
	p, err := stats.ParsePeriod("30d", "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	req := stats.Request{Period: p, Filters: []stats.Filter{{Dim: "country", Value: "DE"}, {Dim: "device", Value: "mobile", Not: true}}, Now: now}
	bind := dbx.Params{"w": site, "from": p.From.UTC().Format(pbTime), "to": p.To.UTC().Format(pbTime)}
	for dim, q := range map[string]string{
		"page": `SELECT e.path AS key, COUNT(*) AS n FROM events e JOIN sessions s ON s.id = e.session WHERE e.website = {:w}
			AND e.type = 'pageView' AND e.timestamp >= {:from} AND e.timestamp < {:to} AND s.country = 'DE' AND s.device != 'mobile' GROUP BY 1`,
		"browser": `SELECT browser AS key, COUNT(*) AS n FROM sessions WHERE website = {:w} AND startedAt >= {:from} AND startedAt < {:to}
			AND country = 'DE' AND device != 'mobile' GROUP BY 1`,
	} {
		var want []struct {
			Key string `db:"key"`
			N   int    `db:"n"`
		}
		if err := app.DB().NewQuery(q).Bind(bind).All(&want); err != nil || len(want) < 2 {
			t.Fatalf("%s oracle: %v, %v", dim, want, err)
		}
		got := map[string]int{}
		for _, r := range every(t, app, site, stats.BreakdownRequest{Request: req, Dimension: dim, Limit: 50}) {
			got[r.Key] = r.Count()
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d keys, the rows have %d", dim, len(got), len(want))
		}
		for _, w := range want {
			if got[w.Key] != w.N {
				t.Errorf("%s %s: %d, the rows say %d", dim, w.Key, got[w.Key], w.N)
			}
		}
	}
}

// Search is a case-insensitive substring of the key, '%' and '_' plain
// characters, on both sides (summaries and raw rows); and each bound is
// checked.
func TestBreakdownSearchAndBounds(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	app, site := breakdownApp(t, now)
	ctx := context.Background()
	p, err := stats.ParsePeriod("30d", "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, filters := range [][]stats.Filter{nil, {{Dim: "page", Value: "/nope", Not: true}}} {
		req := stats.Request{Period: p, Filters: filters, Now: now}
		for search, want := range map[string][]string{
			"%":   {"/100%_off", "/50%"},
			"_":   {"/100%_off", "/A_B", "/a_b"},
			"a_B": {"/A_B", "/a_b"},
			"%_":  {"/100%_off"},
			"P49": {"/p49", "/p490", "/p491", "/p492", "/p493", "/p494", "/p495", "/p496", "/p497"},
		} {
			page, err := stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: "page", Search: search, Sort: "key"})
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(page.Rows); !slices.Equal(got, want) || page.Total != len(want) {
				t.Errorf("%v search %q: %v (total %d), want %v", filters, search, got, page.Total, want)
			}
		}
		// the percent is of every key, not of the matches
		page, err := stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: "page", Search: "/a_b"})
		if err != nil || len(page.Rows) != 2 || page.Rows[0].Percent >= 1 || page.Rows[0].PageViews != 1 {
			t.Errorf("%v /a_b: %+v, %v", filters, page, err)
		}
	}
	req := stats.Request{Period: p, Now: now}
	page, err := stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: "device", Offset: 1000})
	if err != nil || len(page.Rows) != 0 || page.Total != 3 || page.Limit != 10 {
		t.Errorf("past the end: %+v, %v", page, err)
	}
	page, err = stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: "device", Limit: 1, Order: "asc"})
	if err != nil || len(page.Rows) != 1 || page.Rows[0].Key != "tablet" {
		t.Errorf("fewest first: %+v, %v", page, err)
	}
	page, err = stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: "device", Sort: "key", Order: "desc",
		Limit: stats.MaxBreakdownLimit, Offset: stats.MaxBreakdownOffset})
	if err != nil || page.Total != 3 {
		t.Errorf("the largest limit and offset: %+v, %v", page, err)
	}
	for _, bad := range []stats.BreakdownRequest{
		{Dimension: "nope"}, {Dimension: ""}, {Dimension: "referrerUrl"},
		{Dimension: "page", Limit: -1}, {Dimension: "page", Limit: stats.MaxBreakdownLimit + 1},
		{Dimension: "page", Offset: -1}, {Dimension: "page", Offset: stats.MaxBreakdownOffset + 1},
		{Dimension: "page", Search: strings.Repeat("x", stats.MaxBreakdownSearch+1)},
		{Dimension: "page", Sort: "visitors"}, {Dimension: "country", Sort: "pageviews"}, {Dimension: "page", Sort: "n"},
		{Dimension: "page", Order: "up"},
	} {
		bad.Request = req
		if _, err := stats.Breakdown(ctx, app, site, bad); !errors.Is(err, stats.ErrBadBreakdown) {
			t.Errorf("%+v: %v, want ErrBadBreakdown", bad, err)
		}
	}
	if _, err := stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: "page",
		Search: strings.Repeat("x", stats.MaxBreakdownSearch)}); err != nil {
		t.Errorf("the longest search: %v", err)
	}
	req.Filters = []stats.Filter{{Dim: "country", Value: "DE"}}
	if _, err := stats.Breakdown(ctx, app, site, stats.BreakdownRequest{Request: req, Dimension: "jsError"}); !errors.Is(err, stats.ErrBadBreakdown) {
		t.Errorf("JS errors under filters: %v", err)
	}
}
