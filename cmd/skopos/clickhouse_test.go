package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/chtest"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/proctest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/internal/wire"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/plugin"
)

var clickhouseServer chtest.Server

// TestClickHouseMigrateCopiesTheHistoryOnce: `skopos clickhouse migrate`
// on a data dir with events copies its events and sessions into a
// ClickHouse database it creates the tables in; run again it copies
// nothing; without a server it fails with one line.
func TestClickHouseMigrateCopiesTheHistoryOnce(t *testing.T) {
	t.Parallel()
	db := clickhouseServer.Database(t) // skips without clickhouse-server; the command creates the tables
	dir := t.TempDir()
	s := serve(t, dir, "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	const visitors, views = 5, 3
	for v := range visitors {
		for i := range views {
			sendPageView(t, s.URL, fmt.Sprintf("198.51.100.%d", v+1), androidUA, fmt.Sprintf("/p%d", i))
		}
	}
	pb := client(t, s.URL)
	testwait.Until(t, "the page views stored", func() bool {
		var rows []struct{ ID string }
		return listAll(t, pb, "events", "", &rows) == visitors*views
	})
	s.Stop()

	url := clickhouseServer.URL(t) + "/" + db.Database()
	stdout, stderr, code := run(t, "clickhouse", "migrate", "--url", url, "--dir", dir, "--page", "4")
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("copied this run: %d sessions, %d events, 0 JS error groups", visitors, visitors*views)) {
		t.Fatalf("migrate exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for table, want := range map[string]int{"events": visitors * views, "sessions FINAL": visitors} {
		got, err := clickhouse.Select[struct {
			N int `json:"n"`
		}](t.Context(), db, "SELECT toInt64(count()) AS n FROM "+table)
		if err != nil || got[0].N != want {
			t.Errorf("%s: %v rows (%v), want %d", table, got, err, want)
		}
	}
	stdout, stderr, code = run(t, "clickhouse", "migrate", "--url", url, "--dir", dir)
	if code != 0 || !strings.Contains(stdout, "copied this run: 0 sessions, 0 events, 0 JS error groups") {
		t.Errorf("second migrate exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	_, stderr, code = run(t, "clickhouse", "migrate", "--dir", dir)
	if code != 1 || !strings.Contains(stderr, "no server: give --url or set SKOPOS_CLICKHOUSE_URL") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("migrate without a server: exit %d, stderr %q", code, stderr)
	}
}

// weekOfTraffic is eight days of page views and custom events (signups
// with a plan and revenue, downloads) ending an hour before now, from
// visitors in Germany (two regions), the US and France on four devices,
// with referrers and JS errors, as SDK batches of the ingest route: the events carry
// their time, so two servers given the same batches store the same rows.
func weekOfTraffic(tid string) [][]pipeline.Event {
	r := rand.New(rand.NewPCG(31, 8))
	uas := []string{browserUA,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	}
	nets := []string{"198.51.100.%d", "198.51.100.%d", "203.0.113.%d", "192.0.2.%d"}
	refs := []string{"", "https://www.google.com/", "https://news.ycombinator.com/item?id=1", ""}
	end := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	var evs, jsErrs []pipeline.Event
	for d := 7; d >= 0; d-- {
		for i := range 30 {
			at := end.AddDate(0, 0, -d).Add(-time.Duration(r.IntN(18*60)) * time.Minute)
			ip := netip.MustParseAddr(fmt.Sprintf(nets[r.IntN(len(nets))], 1+r.IntN(250)))
			ua := uas[r.IntN(len(uas))]
			vis := visitorid.Hash(tid, ip.String(), ua+fmt.Sprint(i%20), nil)
			for v := range 1 + r.IntN(5) {
				ev := pipeline.Event{ID: pipeline.NewID(), Kind: pipeline.PageView, Time: at.Add(time.Duration(v) * 50 * time.Second),
					TrackingID: tid, Visitor: vis, IP: ip, UA: ua, Path: fmt.Sprintf("/p/%02d", 1+r.IntN(12)), ScreenWidth: -1, ScreenHeight: -1}
				if v == 0 {
					ev.Referrer = refs[r.IntN(len(refs))]
				}
				evs = append(evs, ev)
				switch r.IntN(6) {
				case 0:
					c := ev
					c.ID, c.Kind, c.Name, c.Time = pipeline.NewID(), pipeline.Custom, "signup", ev.Time.Add(10*time.Second)
					c.Data = map[string]any{"plan": []string{"pro", "free"}[r.IntN(2)]}
					c.RevenueAmount, c.RevenueCurrency = int64(100*(1+r.IntN(50))), "EUR"
					evs = append(evs, c)
				case 2:
					c := ev
					c.ID, c.Kind, c.Time = pipeline.NewID(), pipeline.JSError, ev.Time.Add(5*time.Second)
					c.ErrorMessage, c.StackTrace = []string{"TypeError: x is undefined", "ReferenceError: y"}[r.IntN(2)], "at f (app.js:1:2)"
					jsErrs = append(jsErrs, c)
				case 1:
					c := ev
					c.ID, c.Kind, c.Name, c.Time = pipeline.NewID(), pipeline.Custom, "download", ev.Time.Add(20*time.Second)
					c.Data = map[string]any{"file": fmt.Sprintf("f%d.pdf", r.IntN(3))}
					evs = append(evs, c)
				}
			}
		}
	}
	var batches [][]pipeline.Event
	for start := 0; start < len(evs); start += 300 {
		batches = append(batches, evs[start:min(start+300, len(evs))])
	}
	// a JS error group keeps the url and time of the chunk written last
	// (SQLite) or of its latest occurrence (ClickHouse): in one batch, the
	// servers group them in one chunk whatever their load
	return append(batches, jsErrs)
}

// recordIDs are PocketBase record ids, which each store makes its own.
var recordIDs = regexp.MustCompile(`\b[a-z0-9]{15}\b`)

// superuserGet is the body of a GET of path as the superuser (200 only).
func superuserGet(t *testing.T, srvURL, path string) string {
	t.Helper()
	resp, err := http.Post(srvURL+"/api/collections/_superusers/auth-with-password", "application/json",
		strings.NewReader(fmt.Sprintf(`{"identity":%q,"password":%q}`, adminEmail, adminPassword)))
	if err != nil {
		t.Fatal(err)
	}
	var auth struct {
		Token string `json:"token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&auth)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, srvURL+path, nil)
	req.Header.Set("Authorization", auth.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, body, err)
	}
	return string(body)
}

// pageNoise is what differs between two servers' renderings of the same
// figures: record ids, CSRF tokens and CSP nonces.
var pageNoise = regexp.MustCompile(`\b[a-z0-9]{15}\b|name="csrf" value="[^"]+"|nonce="[^"]+"`)

// firstDifference shows where a and b first differ.
func firstDifference(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("sqlite     …%.300s\nclickhouse …%.300s", a[max(0, i-20):], b[max(0, i-20):])
}

// TestServeOnClickHouseAnswersAsOnSQLite is issue 31's black-box check: the
// same traffic sent to a `skopos serve` on SQLite and to one with
// SKOPOS_CLICKHOUSE_URL gives byte-identical stats API responses: a day,
// a week with filters, goals, a funnel, a breakdown, properties, revenue.
func TestServeOnClickHouseAnswersAsOnSQLite(t *testing.T) {
	t.Parallel()
	db := clickhouseServer.Database(t) // the server creates the tables
	geoDB := geotest.Write(t, "GeoLite2-City", []geotest.Network{
		{CIDR: "198.51.100.0/25", Value: geotest.City("DE", "BY")},
		{CIDR: "198.51.100.128/25", Value: geotest.City("DE", "BE")},
		{CIDR: "203.0.113.0/25", Value: geotest.City("US", "CA")},
		{CIDR: "192.0.2.0/24", Value: geotest.City("FR", "")},
	})
	env := []string{"SKOPOS_ADMIN_EMAIL=" + adminEmail, "SKOPOS_ADMIN_PASSWORD=" + adminPassword, "SKOPOS_RATE_LIMIT=off",
		"SKOPOS_GEOIP_DB=" + geoDB}
	servers := []*proctest.Server{
		serve(t, t.TempDir(), env...),
		serve(t, t.TempDir(), append(env, "SKOPOS_CLICKHOUSE_URL="+clickhouseServer.URL(t)+"/"+db.Database())...),
	}
	const id, tid = "chsamesite00001", "tid-same-on-both"
	funnel := `[{"name":"Home","type":"page","match":"/p/01"},{"name":"Any","type":"page","match":"/p/*"},{"name":"Signup","type":"event","match":"signup"}]`
	batches := weekOfTraffic(tid)
	sent := 0
	for _, b := range batches {
		for _, ev := range b {
			if ev.Kind == pipeline.PageView {
				sent++
			}
		}
	}
	clients := make([]*pbrest.Client, len(servers))
	for i, s := range servers {
		pb := client(t, s.URL)
		clients[i] = pb
		ctx := context.Background()
		if err := pb.CreateRecord(ctx, "websites", map[string]any{"id": id, "name": "Same", "domain": "same.example", "trackingId": tid}, nil); err != nil {
			t.Fatal(err)
		}
		for _, g := range []map[string]any{
			{"id": "chsamegoal00001", "name": "Signup", "type": "event", "match": "signup"},
			{"id": "chsamegoal00002", "name": "Pages", "type": "page", "match": "/p/0*"},
		} {
			g["website"] = id
			if err := pb.CreateRecord(ctx, "goals", g, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := pb.CreateRecord(ctx, "funnels", map[string]any{"id": "chsamefunnel001", "website": id, "name": "Signup path",
			"steps": json.RawMessage(funnel)}, nil); err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			var body bytes.Buffer
			if err := wire.Encode(&body, pipeline.BatchID(b), b); err != nil {
				t.Fatal(err)
			}
			var ans wire.Answer
			hdr := http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}
			if err := pb.DoRaw(ctx, http.MethodPost, wire.IngestPath, body.Bytes(), hdr, &ans); err != nil || ans.Accepted != len(b) {
				t.Fatalf("ingest: %+v, %v", ans, err)
			}
		}
	}
	get := func(i int, q string) string {
		t.Helper()
		var raw json.RawMessage
		if err := clients[i].Do(context.Background(), http.MethodGet, q, nil, &raw); err != nil {
			t.Fatalf("%s on %s: %v", q, []string{"sqlite", "clickhouse"}[i], err)
		}
		return string(raw)
	}
	// a filtered report reads the raw rows: on ClickHouse, once shipped
	stored := plugin.StatsPath + "?site=" + tid + "&period=30d&filter=page:!/none"
	for i := range servers {
		testwait.Until(t, "the week stored", func() bool {
			var rep struct {
				PageViews struct{ Value float64 } `json:"pageViews"`
			}
			err := clients[i].Do(context.Background(), http.MethodGet, stored, nil, &rep)
			return err == nil && int(rep.PageViews.Value) == sent
		})
	}
	queries := []string{
		plugin.StatsPath + "?period=yesterday",
		plugin.StatsPath + "?period=7d",
		plugin.StatsPath + "?period=7d&filter=country:DE",
		plugin.StatsPath + "?period=7d&filter=country:!DE&filter=device:mobile",
		plugin.StatsPath + "?period=7d&filter=page:/p/03",
		plugin.StatsPath + "?period=7d&filter=goal:Signup",
		plugin.StatsPath + "?period=7d&filter=event:download&filter=region:DE-BY",
		plugin.StatsPath + "?period=7d&filter=referrer:Direct&interval=hour",
		plugin.StatsPath + "?period=custom&from=" + time.Now().UTC().AddDate(0, 0, -6).Format(time.DateOnly) + "&to=" +
			time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly) + "&filter=browser:Safari",
		plugin.FunnelPath + "?funnel=chsamefunnel001&period=7d",
		plugin.FunnelPath + "?funnel=chsamefunnel001&period=7d&filter=country:DE",
		plugin.BreakdownPath + "?dimension=page&period=7d&filter=country:DE",
		plugin.BreakdownPath + "?dimension=browser&period=7d&filter=goal:Signup&sort=visitors",
		plugin.PropertiesPath + "?event=signup&period=7d",
		plugin.PropertiesPath + "?event=download&period=7d&filter=country:US",
		plugin.RevenuePath + "?by=goal&period=7d",
		plugin.RevenuePath + "?by=page&period=7d&filter=device:!mobile",
	}
	equal := 0
	for _, q := range queries {
		q += "&site=" + tid
		want, got := get(0, q), get(1, q)
		switch {
		case got != want:
			t.Errorf("%s:\nclickhouse %s\nsqlite     %s", q, got, want)
		case len(want) < 60:
			t.Errorf("%s: a short answer %s, the traffic does not reach it", q, want)
		default:
			equal++
		}
	}
	// what is stored per visitor and per row: the visitors list, a
	// visitor's export, the CSV exports (record ids are the stores' own)
	type visitorRow struct {
		ID        string `json:"id"`
		VisitorID string `json:"visitorId"`
	}
	var lists [2]struct {
		Rows []json.RawMessage `json:"rows"`
	}
	for i := range lists {
		if err := json.Unmarshal([]byte(get(i, plugin.VisitorsPath+"?site="+tid+"&period=7d&sort=sessions&limit=500")), &lists[i]); err != nil {
			t.Fatal(err)
		}
	}
	// ties in the order fall to the record ids: compared by visitorId
	byVisitor := func(rows []json.RawMessage) map[string]string {
		out := map[string]string{}
		for _, r := range rows {
			var v visitorRow
			_ = json.Unmarshal(r, &v)
			out[v.VisitorID] = strings.Replace(string(r), v.ID, "", 1)
		}
		return out
	}
	if a, b := byVisitor(lists[0].Rows), byVisitor(lists[1].Rows); len(a) < 50 || !reflect.DeepEqual(a, b) {
		t.Errorf("visitors list: %d visitors on sqlite, %d on clickhouse, or rows differ", len(a), len(b))
	}
	for _, kind := range []string{"events", "sessions", "summary"} {
		q := plugin.ExportPath + "?site=" + tid + "&period=7d&kind=" + kind
		csv := [2]string{}
		for i := range csv {
			csv[i] = recordIDs.ReplaceAllString(superuserGet(t, servers[i].URL, q), "")
		}
		if csv[0] != csv[1] || strings.Count(csv[0], "\n") < 8 {
			t.Errorf("%s export differs or is short:\nclickhouse %.600s\nsqlite     %.600s", kind, csv[1], csv[0])
		}
	}

	// an erasure of the same visitor (by its visitorId) on both leaves
	// the same figures
	// the dashboard's pages over the raw rows
	dash := [2]*http.Client{dashboardClient(t, servers[0].URL), dashboardClient(t, servers[1].URL)}
	page := func(i int, path string) string {
		t.Helper()
		return pageNoise.ReplaceAllString(getPage(t, dash[i], servers[i].URL+path), "")
	}
	site := "/dashboard/sites/" + id
	sessions := getPage(t, dash[0], servers[0].URL+site+"/sessions?period=7d")
	sid := regexp.MustCompile(`/sessions/([a-z0-9]{15})`).FindStringSubmatch(sessions)
	if sid == nil {
		t.Fatalf("no session link on the sessions page")
	}
	pages := []string{site + "?period=7d", site + "?period=7d&filter=country:DE", site + "/events?name=signup&period=7d",
		site + "/errors?period=7d&message=" + url.QueryEscape("TypeError: x is undefined"), site + "/breakdown/page?period=7d&filter=country:DE", site + "/sessions?period=7d&filter=device:mobile",
		site + "/sessions/" + sid[1], site + "/sessions/" + sid[1] + "/delete", site + "/goals?period=7d",
		site + "/funnels/chsamefunnel001?period=7d&filter=country:!FR"}
	// JS errors are grouped and written every half minute
	for i := range servers {
		testwait.Until(t, "the JS error groups stored", func() bool {
			return strings.Contains(page(i, site+"/errors?period=7d&message="+url.QueryEscape("ReferenceError: y")), "app.js:1:2")
		})
	}
	for _, p := range pages {
		want, got := page(0, p), page(1, p)
		if want != got {
			t.Errorf("dashboard %s differs:\n%s", p, firstDifference(want, got))
		}
	}

	var mostSessions visitorRow
	_ = json.Unmarshal(lists[0].Rows[0], &mostSessions)
	visitorOf := func(i int) string {
		for _, r := range lists[i].Rows {
			var v visitorRow
			if _ = json.Unmarshal(r, &v); v.VisitorID == mostSessions.VisitorID {
				return v.ID
			}
		}
		t.Fatalf("no visitor %s on server %d", mostSessions.VisitorID, i)
		return ""
	}
	if want, got := page(0, site+"/visitors/"+visitorOf(0)+"/delete"), page(1, site+"/visitors/"+visitorOf(1)+"/delete"); want != got {
		t.Errorf("dashboard: a visitor's erasure page differs:\n%s", firstDifference(want, got))
	}
	erased := [2]string{}
	for i := range servers {
		var res json.RawMessage
		if err := clients[i].Do(context.Background(), http.MethodDelete, plugin.VisitorsPath+"/"+visitorOf(i)+"?site="+tid, nil, &res); err != nil {
			t.Fatalf("erase on %d: %v", i, err)
		}
		erased[i] = string(res)
	}
	if erased[0] != erased[1] || !strings.Contains(erased[0], `"sessions":`) {
		t.Errorf("erasure: clickhouse %s, sqlite %s", erased[1], erased[0])
	}
	for _, q := range queries[:4] {
		q += "&site=" + tid
		if want, got := get(0, q), get(1, q); got != want {
			t.Errorf("after the erasure, %s:\nclickhouse %s\nsqlite     %s", q, got, want)
		}
	}

	// today ends now, which the answers name: the rest must be equal
	q := plugin.StatsPath + "?period=today&filter=device:!desktop&site=" + tid
	var today [2]map[string]any
	for i := range today {
		if err := json.Unmarshal([]byte(get(i, q)), &today[i]); err != nil {
			t.Fatal(err)
		}
		delete(today[i], "period")
	}
	if !reflect.DeepEqual(today[0], today[1]) {
		t.Errorf("%s:\nclickhouse %v\nsqlite     %v", q, today[1], today[0])
	}
	t.Logf("%d page views in %d batches; %d of %d stats responses byte-identical", sent, len(batches), equal, len(queries))
}
