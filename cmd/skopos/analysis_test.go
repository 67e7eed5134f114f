package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/internal/wire"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// The analysis API checked black-box against `skopos serve`: known
// browser traffic is sent, the raw rows are read back through
// PocketBase's REST API, and every figure the stats, funnel and
// properties routes answer is computed again here from those rows.

const (
	androidUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	iphoneUA  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

type rawEvent struct {
	ID        string         `json:"id"`
	Session   string         `json:"session"`
	Type      string         `json:"type"`
	Path      string         `json:"path"`
	EventName string         `json:"eventName"`
	EventData map[string]any `json:"eventData"`
	Timestamp string         `json:"timestamp"`
}

type rawSession struct {
	ID        string            `json:"id"`
	Country   string            `json:"country"`
	Device    string            `json:"device"`
	Browser   string            `json:"browser"`
	UTM       map[string]string `json:"utm"`
	StartedAt string            `json:"startedAt"`
}

type topItem struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

type goalFigures struct {
	Name           string  `json:"name"`
	Visitors       int     `json:"visitors"`
	Events         int     `json:"events"`
	ConversionRate float64 `json:"conversionRate"`
}

type statsAnswer struct {
	Period struct {
		Timezone string `json:"timezone"`
	} `json:"period"`
	PageViews struct {
		Value float64 `json:"value"`
	} `json:"pageViews"`
	Visitors struct {
		Value float64 `json:"value"`
	} `json:"visitors"`
	JSErrors *struct {
		Value float64 `json:"value"`
	} `json:"jsErrors"`
	Series []struct {
		Time      string `json:"time"`
		PageViews int    `json:"pageViews"`
		Visitors  int    `json:"visitors"`
	} `json:"series"`
	Top   map[string][]topItem `json:"top"`
	Goals []goalFigures        `json:"goals"`
}

// filterSpec is one filter= parameter as the test evaluates it.
type filterSpec struct {
	dim, value string
	not        bool
}

func (f filterSpec) param() string {
	v := f.value
	if f.not {
		v = "!" + v
	}
	return f.dim + ":" + v
}

func (f filterSpec) onEvents() bool { return f.dim == "page" || f.dim == "event" }

// passes evaluates f on an event and its session, as the README defines
// the dimensions (sessions without a value are "Unknown").
func (f filterSpec) passes(e rawEvent, s rawSession) bool {
	var eq bool
	switch f.dim {
	case "page":
		eq = e.Path == f.value
	case "event":
		eq = e.Type == "custom" && e.EventName == f.value
	case "country":
		eq = orUnknown(s.Country) == f.value
	case "device":
		eq = orUnknown(s.Device) == f.value
	case "browser":
		eq = orUnknown(s.Browser) == f.value
	default:
		panic("filter dimension not handled by the test: " + f.dim)
	}
	return eq != f.not
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// rawData is a website's rows as PocketBase's REST API returns them.
type rawData struct {
	events   []rawEvent
	sessions map[string]rawSession
}

// selection returns, under filters, the events that count (the
// selected events of sessions that pass the session filters) and the
// sessions that count (passing the session filters and, with event
// filters, having at least one selected event).
func (d rawData) selection(filters []filterSpec) (events []rawEvent, sessions map[string]rawSession) {
	evOK := func(e rawEvent) bool {
		for _, f := range filters {
			if f.onEvents() && !f.passes(e, rawSession{}) {
				return false
			}
		}
		return true
	}
	sessOK := func(s rawSession) bool {
		for _, f := range filters {
			if !f.onEvents() && !f.passes(rawEvent{}, s) {
				return false
			}
		}
		return true
	}
	hasEventFilter := false
	for _, f := range filters {
		hasEventFilter = hasEventFilter || f.onEvents()
	}
	withSelected := map[string]bool{}
	for _, e := range d.events {
		if evOK(e) && sessOK(d.sessions[e.Session]) {
			events = append(events, e)
			withSelected[e.Session] = true
		}
	}
	sessions = map[string]rawSession{}
	for id, s := range d.sessions {
		if sessOK(s) && (!hasEventFilter || withSelected[id]) {
			sessions[id] = s
		}
	}
	return events, sessions
}

// topOf orders counts as the API does (count descending, then key) and
// keeps n.
func topOf(counts map[string]int, n int) []topItem {
	out := []topItem{}
	for k, c := range counts {
		out = append(out, topItem{k, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out[:min(n, len(out))]
}

// pct is the API's percentage: one decimal, rounded half up.
func pct(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(int(float64(part)/float64(whole)*1000+0.5)) / 10
}

// sendBeacon posts a browser event of the demo website (localhost) from
// the visitor address ip; path may carry a query string.
func sendBeacon(t *testing.T, srvURL, ip, ua string, payload map[string]any) {
	t.Helper()
	page := "http://localhost:" + srvURL[strings.LastIndex(srvURL, ":")+1:]
	payload["url"] = page + payload["url"].(string)
	body, _ := json.Marshal(payload)
	req, _ := http.NewRequest(http.MethodPost, srvURL+"/api/event", bytes.NewReader(body))
	browsertest.Headers(req.Header, ua)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", page)
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s: status %d", body, resp.StatusCode)
	}
}

// listAll reads every record of collection that filter selects into
// out (a pointer to a slice). Callers count what was decoded: PocketBase
// counts the total in a second query, which may see rows the list did
// not.
func listAll[T any](t *testing.T, pb *pbrest.Client, collection, filter string, out *[]T) int {
	t.Helper()
	*out = nil
	page, err := pb.ListRecords(context.Background(), collection, pbrest.ListQuery{Filter: filter, PerPage: 1000, Sort: "created,id"}, out)
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalItems > 1000 {
		t.Fatalf("%s: %d records, the test reads one page", collection, page.TotalItems)
	}
	return len(*out)
}

func getJSON(t *testing.T, pb *pbrest.Client, path string, q url.Values, out any) {
	t.Helper()
	if err := pb.Do(context.Background(), http.MethodGet, path+"?"+q.Encode(), nil, out); err != nil {
		t.Fatalf("GET %s?%s: %v", path, q.Encode(), err)
	}
}

// TestServeAnalysisFiguresEqualRawRows: filters (event and session
// dimensions, negations), campaigns, goals, a funnel and event
// properties, as `skopos serve` answers them, equal what the raw rows
// imply.
func TestServeAnalysisFiguresEqualRawRows(t *testing.T) {
	t.Parallel()
	geoDB := geotest.Write(t, "GeoLite2-Country", []geotest.Network{
		{CIDR: "198.51.100.0/24", Value: geotest.City("DE", "")},
		{CIDR: "203.0.113.0/24", Value: geotest.City("US", "")},
		{CIDR: "192.0.2.0/24", Value: geotest.City("FR", "")},
	})
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword,
		"SKOPOS_RATE_LIMIT=off", "SKOPOS_GEOIP_DB="+geoDB)
	pb := client(t, s.URL)
	ctx := context.Background()
	trackingID := s.Line(t, "demo website trackingId: ")
	var site struct {
		ID string `json:"id"`
	}
	if err := pb.FirstRecord(ctx, schema.Websites, pbrest.Filter("trackingId = {:t}", pbrest.Params{"t": trackingID}), &site); err != nil {
		t.Fatal(err)
	}

	// ten visitors (address → country by the test's database; user agent
	// → device and browser), each one session: page views (campaigns on
	// the entry URL) and signups sent from the page last viewed
	visitors := []struct {
		ip, ua  string
		actions []string
	}{
		{"198.51.100.1", browserUA, []string{"/", "/pricing", "signup:pro"}},
		{"198.51.100.2", androidUA, []string{"/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "/", "/docs"}},
		{"198.51.100.3", iphoneUA, []string{"/", "/docs", "/pricing", "signup:free"}},
		{"203.0.113.4", browserUA, []string{"/pricing?utm_source=twitter&utm_campaign=launch"}},
		{"203.0.113.5", browsertest.Chrome, []string{"/", "/pricing", "/pricing"}},
		{"203.0.113.6", iphoneUA, []string{"/docs"}},
		{"192.0.2.7", browserUA, []string{"/", "/pricing", "signup:pro"}},
		{"192.0.2.8", androidUA, []string{"/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring", "signup:free"}},
		{"198.51.100.9", browsertest.Chrome, []string{"/?utm_source=newsletter&utm_campaign=autumn", "/docs"}},
		{"203.0.113.10", androidUA, []string{"/", "/"}},
	}
	sent := 0
	last := make([]string, len(visitors)) // the page each visitor is on
	for step := 0; ; step++ {
		more := false
		for i, v := range visitors { // round-robin: a visitor's events are apart in time
			if step >= len(v.actions) {
				continue
			}
			more = true
			a := v.actions[step]
			if plan, ok := strings.CutPrefix(a, "signup:"); ok {
				sendBeacon(t, s.URL, v.ip, v.ua, map[string]any{"type": "custom", "name": "signup", "url": last[i],
					"customData": map[string]any{"plan": plan}})
			} else {
				sendBeacon(t, s.URL, v.ip, v.ua, map[string]any{"type": "pageView", "url": a})
				last[i] = a
			}
			sent++
		}
		if !more {
			break
		}
	}

	var d rawData
	byWebsite := pbrest.Filter("website = {:w}", pbrest.Params{"w": site.ID})
	testwait.Until(t, "every event stored", func() bool {
		return listAll(t, pb, schema.Events, byWebsite, &d.events) == sent
	})
	var sessions []rawSession
	if n := listAll(t, pb, schema.Sessions, byWebsite, &sessions); n != len(visitors) {
		t.Fatalf("%d sessions stored for %d visitors", n, len(visitors))
	}
	d.sessions = map[string]rawSession{}
	for _, x := range sessions {
		d.sessions[x.ID] = x
	}

	// a period of whole UTC days around now (the demo site counts in UTC)
	now := time.Now().UTC()
	period := url.Values{"site": {trackingID}, "from": {now.AddDate(0, 0, -1).Format(time.DateOnly)},
		"to": {now.AddDate(0, 0, 1).Format(time.DateOnly)}}
	// the events CSV of the period holds exactly the stored events
	checkEventsExport(t, s.URL, period, d.events)
	with := func(extra url.Values) url.Values {
		q := url.Values{}
		for k, v := range period {
			q[k] = v
		}
		for k, v := range extra {
			q[k] = v
		}
		return q
	}

	// goals, created through the REST API
	goalDefs := []struct {
		name, typ, match, key, value string
		matches                      func(rawEvent) bool
	}{
		{"Pricing", "page", "/pricing", "", "", func(e rawEvent) bool { return e.Type == "pageView" && e.Path == "/pricing" }},
		{"Pro signup", "event", "signup", "plan", "pro", func(e rawEvent) bool {
			return e.Type == "custom" && e.EventName == "signup" && e.EventData["plan"] == "pro"
		}},
	}
	for _, g := range goalDefs {
		body := map[string]any{"website": site.ID, "name": g.name, "type": g.typ, "match": g.match, "propertyKey": g.key, "propertyValue": g.value}
		if err := pb.CreateRecord(ctx, schema.Goals, body, nil); err != nil {
			t.Fatalf("create goal %s: %v", g.name, err)
		}
	}

	for _, filters := range [][]filterSpec{
		nil,
		{{dim: "page", value: "/pricing"}, {dim: "country", value: "DE"}},
		{{dim: "page", value: "/pricing"}, {dim: "device", value: "mobile", not: true}},
		{{dim: "country", value: "US", not: true}, {dim: "browser", value: "Firefox", not: true}},
		{{dim: "event", value: "signup"}, {dim: "page", value: "/", not: true}},
	} {
		var params []string
		for _, f := range filters {
			params = append(params, f.param())
		}
		t.Run(strings.Join(append([]string{"filters"}, params...), " "), func(t *testing.T) {
			var got statsAnswer
			getJSON(t, pb, "/api/skopos/stats", with(url.Values{"filter": params, "top": {"20"}}), &got)
			events, counted := d.selection(filters)
			pageViews := 0
			pages, customs := map[string]int{}, map[string]int{}
			for _, e := range events {
				if e.Type == "pageView" {
					pageViews++
					pages[e.Path]++
				} else if e.Type == "custom" {
					customs[e.EventName]++
				}
			}
			countries, devices, campaigns := map[string]int{}, map[string]int{}, map[string]int{}
			for _, x := range counted {
				countries[orUnknown(x.Country)]++
				devices[orUnknown(x.Device)]++
				if c := x.UTM["utm_campaign"]; c != "" {
					campaigns[c]++
				}
			}
			if int(got.PageViews.Value) != pageViews || int(got.Visitors.Value) != len(counted) {
				t.Errorf("page views %v, visitors %v; the rows imply %d and %d", got.PageViews.Value, got.Visitors.Value, pageViews, len(counted))
			}
			for dim, want := range map[string][]topItem{
				"page": topOf(pages, 20), "customEvent": topOf(customs, 20), "country": topOf(countries, 20),
				"device": topOf(devices, 20), "utm_campaign": topOf(campaigns, 20),
			} {
				if fmt.Sprint(got.Top[dim]) != fmt.Sprint(want) {
					t.Errorf("top.%s = %v; the rows imply %v", dim, got.Top[dim], want)
				}
			}
			if (got.JSErrors == nil) != (len(filters) > 0) {
				t.Errorf("jsErrors = %v with %d filters: want null exactly when filtered", got.JSErrors, len(filters))
			}
			// goals: the counted sessions that converted, and the goal's
			// events within sessions that pass the filters
			var want []goalFigures
			for _, g := range goalDefs {
				conv, n := map[string]bool{}, 0
				for _, e := range d.events {
					if g.matches(e) {
						if _, ok := counted[e.Session]; ok {
							conv[e.Session] = true
							n++
						}
					}
				}
				want = append(want, goalFigures{g.name, len(conv), n, pct(len(conv), len(counted))})
			}
			if fmt.Sprint(got.Goals) != fmt.Sprint(want) {
				t.Errorf("goals = %+v; the rows imply %+v", got.Goals, want)
			}
			if len(filters) == 0 {
				// the campaigns sent
				if fmt.Sprint(got.Top["utm_campaign"]) != "[{spring 2} {autumn 1} {launch 1}]" {
					t.Errorf("top.utm_campaign = %v, want spring 2, autumn 1, launch 1", got.Top["utm_campaign"])
				}
				if pageViews != sent-4 || len(counted) != len(visitors) {
					t.Errorf("unfiltered: %d page views and %d sessions in the rows, sent %d and %d", pageViews, len(counted), sent-4, len(visitors))
				}
			}
		})
	}

	// event properties of signup, unfiltered and for Germany
	for _, filters := range [][]filterSpec{nil, {{dim: "country", value: "DE"}}} {
		var params []string
		for _, f := range filters {
			params = append(params, f.param())
		}
		var got map[string][]struct {
			Value string `json:"value"`
			Count int    `json:"count"`
		}
		getJSON(t, pb, "/api/skopos/stats/properties", with(url.Values{"event": {"signup"}, "filter": params}), &got)
		events, _ := d.selection(filters)
		plans := map[string]int{}
		for _, e := range events {
			if e.Type == "custom" && e.EventName == "signup" {
				plans[fmt.Sprint(e.EventData["plan"])]++
			}
		}
		if fmt.Sprint(got["plan"]) != fmt.Sprint(topOf(plans, 10)) || len(got) != 1 {
			t.Errorf("properties of signup with %v = %v; the rows imply plan %v", params, got, topOf(plans, 10))
		}
	}

	// a 2-step funnel, created through the REST API: a session reaches
	// step n when its events matched steps 1..n in time order
	var funnel struct {
		ID string `json:"id"`
	}
	steps := []map[string]string{{"name": "Home", "type": "page", "match": "/"}, {"name": "Pricing", "type": "page", "match": "/pricing"}}
	if err := pb.CreateRecord(ctx, schema.Funnels, map[string]any{"website": site.ID, "name": "Home to pricing", "steps": steps}, &funnel); err != nil {
		t.Fatal(err)
	}
	var fr struct {
		Sessions int `json:"sessions"`
		Steps    []struct {
			Name           string  `json:"name"`
			Visitors       int     `json:"visitors"`
			ConversionRate float64 `json:"conversionRate"`
			DropOff        int     `json:"dropOff"`
			DropOffRate    float64 `json:"dropOffRate"`
		} `json:"steps"`
	}
	getJSON(t, pb, "/api/skopos/funnel", with(url.Values{"funnel": {funnel.ID}}), &fr)
	// in time order; a visitor's events were sent apart, so no two of a
	// session share a millisecond (were they to, the server orders them
	// by id)
	ordered := append([]rawEvent(nil), d.events...)
	sort.Slice(ordered, func(i, j int) bool {
		a, b := ordered[i], ordered[j]
		return a.Timestamp < b.Timestamp || a.Timestamp == b.Timestamp && a.ID < b.ID
	})
	next := map[string]int{} // per session, the steps reached
	for _, e := range ordered {
		if n := next[e.Session]; n < len(steps) && e.Type == "pageView" && e.Path == steps[n]["match"] {
			next[e.Session]++
		}
	}
	reached := make([]int, len(steps))
	for _, n := range next {
		for i := range n {
			reached[i]++
		}
	}
	if fr.Sessions != len(d.sessions) || len(fr.Steps) != len(steps) {
		t.Fatalf("funnel: %+v; want %d sessions and %d steps", fr, len(d.sessions), len(steps))
	}
	for i, st := range fr.Steps {
		want := [4]float64{float64(reached[i]), pct(reached[i], reached[0]), 0, 0}
		if i > 0 {
			want[2], want[3] = float64(reached[i-1]-reached[i]), pct(reached[i-1]-reached[i], reached[i-1])
		}
		if got := [4]float64{float64(st.Visitors), st.ConversionRate, float64(st.DropOff), st.DropOffRate}; got != want || st.Name != steps[i]["name"] {
			t.Errorf("funnel step %d %q: visitors, conversion, drop-off, rate = %v; the rows imply %v", i+1, st.Name, got, want)
		}
	}
	if reached[0] == 0 || reached[1] == 0 || reached[1] == reached[0] {
		t.Errorf("the traffic should reach both steps with a drop-off: %v", reached)
	}
}

// TestServeBucketsDaysInTheSiteTimeZone: an event at 03:00 UTC belongs,
// for a site in America/New_York, to the previous local day, in the day
// series of a custom from/to period, summed from the hourly summaries
// (no filter) and from the raw rows (a filter); for the same site in UTC
// it is on its UTC date. The event comes with its time through the SDK
// route (POST /api/skopos/ingest).
func TestServeBucketsDaysInTheSiteTimeZone(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	pb := client(t, s.URL)
	ctx := context.Background()
	var site struct {
		ID         string `json:"id"`
		TrackingID string `json:"trackingId"`
	}
	if err := pb.CreateRecord(ctx, schema.Websites, map[string]any{"name": "Zoned", "domain": "zoned.example"}, &site); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day := today.AddDate(0, 0, -3) // the event's UTC date
	at := day.Add(3 * time.Hour)   // 03:00 UTC: 22:00 or 23:00 the day before in New York
	ev := pipeline.Event{ID: pipeline.NewID(), Kind: pipeline.PageView, Time: at, TrackingID: site.TrackingID,
		Visitor: visitorid.Hash(site.TrackingID, "198.51.100.20", browserUA, nil), IP: netip.MustParseAddr("198.51.100.20"),
		UA: browserUA, Path: "/late", ScreenWidth: -1, ScreenHeight: -1}
	var body bytes.Buffer
	if err := wire.Encode(&body, pipeline.BatchID([]pipeline.Event{ev}), []pipeline.Event{ev}); err != nil {
		t.Fatal(err)
	}
	var ans wire.Answer
	hdr := http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}
	if err := pb.DoRaw(ctx, http.MethodPost, wire.IngestPath, body.Bytes(), hdr, &ans); err != nil || ans.Accepted != 1 {
		t.Fatalf("ingest: %+v, %v", ans, err)
	}
	byWebsite := pbrest.Filter("website = {:w}", pbrest.Params{"w": site.ID})
	testwait.Until(t, "the event stored", func() bool {
		var rows []rawEvent
		return listAll(t, pb, schema.Events, byWebsite, &rows) == 1 && rows[0].Timestamp == at.Format("2006-01-02 15:04:05.000Z")
	})

	// the series of from..to, a day per point: which local date has the
	// page view, summed from summaries (no filter) and from raw rows
	dayOf := func(zone string, filters ...string) string {
		t.Helper()
		q := url.Values{"site": {site.TrackingID}, "from": {day.AddDate(0, 0, -2).Format(time.DateOnly)},
			"to": {day.AddDate(0, 0, 1).Format(time.DateOnly)}, "filter": filters}
		var got statsAnswer
		getJSON(t, pb, "/api/skopos/stats", q, &got)
		if got.Period.Timezone != zone || len(got.Series) != 4 {
			t.Fatalf("period zone %q, %d points; want %s, 4 days", got.Period.Timezone, len(got.Series), zone)
		}
		var dates []string
		for _, p := range got.Series {
			pt, err := time.Parse(time.RFC3339, p.Time)
			if err != nil {
				t.Fatal(err)
			}
			if h, m, _ := pt.Clock(); h != 0 || m != 0 {
				t.Errorf("%s series point %s does not start at a local midnight", zone, p.Time)
			}
			if p.PageViews > 0 || p.Visitors > 0 {
				dates = append(dates, fmt.Sprintf("%s %d/%d", pt.Format(time.DateOnly), p.PageViews, p.Visitors))
			}
		}
		if int(got.PageViews.Value) != 1 || int(got.Visitors.Value) != 1 {
			t.Errorf("%s %v: %v page views, %v visitors in the period; want 1 and 1", zone, filters, got.PageViews.Value, got.Visitors.Value)
		}
		return strings.Join(dates, ", ")
	}
	want := day.Format(time.DateOnly) + " 1/1"
	if got := dayOf("UTC"); got != want {
		t.Errorf("UTC site, summaries: days with traffic %q, want %q", got, want)
	}
	if got := dayOf("UTC", "page:/late"); got != want {
		t.Errorf("UTC site, raw rows: days with traffic %q, want %q", got, want)
	}

	if err := pb.UpdateRecord(ctx, schema.Websites, site.ID, map[string]any{"timezone": "America/New_York"}, nil); err != nil {
		t.Fatal(err)
	}
	want = day.AddDate(0, 0, -1).Format(time.DateOnly) + " 1/1"
	if got := dayOf("America/New_York"); got != want {
		t.Errorf("New York site, summaries: days with traffic %q, want %q (03:00 UTC is the evening before)", got, want)
	}
	if got := dayOf("America/New_York", "page:/late"); got != want {
		t.Errorf("New York site, raw rows: days with traffic %q, want %q", got, want)
	}
}
