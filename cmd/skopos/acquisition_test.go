package main_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// TestServeNamesSourcesAndChannels is issue 32's first black-box check:
// visits from a Google search, a Gmail link (the app's android-app://
// referrer) and a utm_medium=cpc link are Organic Search / Google,
// Email / Gmail and Paid Search, in the sessions, the stats API's top
// lists and filters, and the dashboard; and a purchase sent twice with
// one order id counts once in its goal's revenue.
func TestServeNamesSourcesChannelsAndRevenue(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword, "SKOPOS_RATE_LIMIT=off")
	pb := client(t, s.URL)
	tid := s.Line(t, "demo website trackingId: ")
	visits := []struct {
		ip, url, referrer, source, channel string
	}{
		{"192.0.2.1", "/", "https://www.google.com/", "Google", "Organic Search"},
		{"192.0.2.2", "/pricing", "android-app://com.google.android.gm", "Gmail", "Email"},
		{"192.0.2.3", "/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=analytics&utm_content=ad1", "https://www.google.com/", "Google", "Paid Search"},
		{"192.0.2.4", "/docs", "", "Direct", "Direct"},
	}
	for _, v := range visits {
		sendBeacon(t, s.URL, v.ip, browserUA, map[string]any{"type": "pageView", "url": v.url, "referrer": v.referrer})
	}
	var sessions []struct {
		Referrer string `json:"referrer"`
		Source   string `json:"source"`
		Channel  string `json:"channel"`
	}
	testwait.Until(t, "the sessions stored", func() bool { return listAll(t, pb, schema.Sessions, "", &sessions) == len(visits) })
	got := map[string]int{}
	for _, s := range sessions {
		got[s.Source+" / "+s.Channel]++
	}
	for _, v := range visits {
		if k := v.source + " / " + v.channel; got[k] == 0 {
			t.Errorf("no session %s; sessions %+v", k, sessions)
		}
	}

	day := time.Now().UTC().Format(time.DateOnly)
	q := url.Values{"site": {tid}, "from": {day}, "to": {day}}
	var rep struct {
		Visitors struct {
			Value float64 `json:"value"`
		} `json:"visitors"`
		Top map[string][]struct {
			Key   string `json:"key"`
			Count int    `json:"count"`
		} `json:"top"`
	}
	getJSON(t, pb, "/api/skopos/stats", q, &rep)
	count := func(dim, key string) int {
		for _, it := range rep.Top[dim] {
			if it.Key == key {
				return it.Count
			}
		}
		return 0
	}
	for dim, want := range map[string]map[string]int{
		"channel":     {"Organic Search": 1, "Email": 1, "Paid Search": 1, "Direct": 1},
		"source":      {"Google": 2, "Gmail": 1, "Direct": 1},
		"utm_term":    {"analytics": 1},
		"utm_content": {"ad1": 1},
	} {
		for key, n := range want {
			if c := count(dim, key); c != n {
				t.Errorf("top %s %q = %d, want %d (%+v)", dim, key, c, n, rep.Top[dim])
			}
		}
	}

	// a source's drill-down: its referrer hosts and full URLs
	q.Set("filter", "source:Google")
	getJSON(t, pb, "/api/skopos/stats", q, &rep)
	if rep.Visitors.Value != 2 || count("referrer", "google.com") != 2 || count("referrerUrl", "https://www.google.com/") != 2 {
		t.Errorf("source:Google: %v visitors, referrers %+v, URLs %+v", rep.Visitors.Value, rep.Top["referrer"], rep.Top["referrerUrl"])
	}
	q.Set("filter", "channel:!Email")
	getJSON(t, pb, "/api/skopos/stats", q, &rep)
	if rep.Visitors.Value != 3 || count("source", "Gmail") != 0 {
		t.Errorf("channel:!Email: %v visitors, sources %+v", rep.Visitors.Value, rep.Top["source"])
	}

	// a purchase from the Gmail visitor, sent twice with one order id:
	// its goal's total counts it once, under the visit's channel too
	goal := map[string]any{"website": siteID(t, pb, tid), "name": "Purchase", "type": "event", "match": "Purchase"}
	if err := pb.CreateRecord(t.Context(), schema.Goals, goal, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		sendBeacon(t, s.URL, "192.0.2.2", browserUA, map[string]any{"type": "custom", "name": "Purchase", "url": "/checkout",
			"revenue": map[string]any{"amount": "29.90", "currency": "eur"}, "orderId": "o-1"})
	}
	var events []rawEvent
	testwait.Until(t, "the purchases stored", func() bool { return listAll(t, pb, schema.Events, "", &events) == len(visits)+2 })
	for by, key := range map[string]string{"goal": "Purchase", "channel": "Email"} {
		var rev struct {
			Rows []struct {
				Key, Currency, Amount string
				Total                 int64
				Visitors              int
			} `json:"rows"`
		}
		getJSON(t, pb, "/api/skopos/stats/revenue", url.Values{"site": {tid}, "from": {day}, "to": {day}, "by": {by}}, &rev)
		if len(rev.Rows) != 1 || rev.Rows[0].Key != key || rev.Rows[0].Currency != "EUR" || rev.Rows[0].Total != 2990 ||
			rev.Rows[0].Amount != "29.90" || rev.Rows[0].Visitors != 1 {
			t.Errorf("revenue by %s = %+v, want one row: %s, EUR 29.90 (2990), 1 visitor", by, rev.Rows, key)
		}
	}

	page := getPage(t, dashboardClient(t, s.URL), s.URL+"/dashboard/sites/"+siteID(t, pb, tid)+"?from="+day+"&to="+day)
	for _, want := range []string{"Organic Search", "Paid Search", "Gmail", "analytics"} {
		if !strings.Contains(page, want) {
			t.Errorf("the site page does not show %q", want)
		}
	}
}

func siteID(t *testing.T, pb *pbrest.Client, tid string) string {
	t.Helper()
	var site struct {
		ID string `json:"id"`
	}
	if err := pb.FirstRecord(t.Context(), schema.Websites, pbrest.Filter("trackingId = {:t}", pbrest.Params{"t": tid}), &site); err != nil {
		t.Fatal(err)
	}
	return site.ID
}
