package dashboard_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// overviewCardRE reads a card of the overview: its visitors, change and
// sparkline's points.
var overviewCardRE = regexp.MustCompile(`(?s)<h2><a href="([^"]*)">[^<]*</a></h2>.*?<dd class="vis">([^<]*)</dd>.*?` +
	`<p class="kpi-change (\w+) \w+"[^>]*><span aria-hidden="true">[^<]*</span> ([^<]*) <span.*?` +
	`(?:<polyline points="([^"]*)"/>|</li>)`)

// TestOverviewPeriod: the overview shows each website's visitors for the
// chosen period (default today) with the change against the previous
// period and a sparkline of its steps; a stored site name is escaped in
// the sparkline's title. It logs the median time of the page with 20
// websites.
func TestOverviewPeriod(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@overview.example", "owner-password-1")
	const hostile = `<script>alert(1)</script>`
	shop := addSite(t, e.app, hostile+" shop", "overview-shop.example", owner.Id)
	e.traffic(t, shop, 8)
	for i := range 19 {
		site := addSite(t, e.app, fmt.Sprintf("Site %02d", i), fmt.Sprintf("s%02d.overview.example", i), owner.Id)
		seedCountries(t, e.app, site, map[string]int{"DE": 1 + i%3, "FR": 1})
	}
	c := e.client(t)
	c.mustLogin("owner@overview.example", "owner-password-1")

	for _, tt := range []struct{ query, period string }{{"", "today"}, {"?period=7d", "7d"}, {"?period=30d", "30d"}} {
		r := c.get("/dashboard/" + tt.query)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", tt.query, r.StatusCode, r.body)
		}
		if !strings.Contains(r.body, `<option value="`+tt.period+`" selected>`) {
			t.Errorf("%s: the picker does not show %s", tt.query, tt.period)
		}
		cards := overviewCardRE.FindAllStringSubmatch(r.body, -1)
		if len(cards) != 20 {
			t.Fatalf("%s: %d cards read, want 20", tt.query, len(cards))
		}
		i := slices.IndexFunc(cards, func(m []string) bool { return strings.HasSuffix(m[1], shop.Id+"?period="+tt.period) })
		if i < 0 {
			t.Fatalf("%s: no card of the shop linking to its page for the period", tt.query)
		}
		rep := report(t, e.app, shop.Id, tt.period)
		card := cards[i]
		if card[2] != num(rep.Visitors.Value) {
			t.Errorf("%s: visitors %q, the report counts %v", tt.query, card[2], rep.Visitors.Value)
		}
		// nothing before the traffic: the change is "new", not +100%
		if card[3] != "up" || card[4] != "new" {
			t.Errorf("%s: change %s %q, want up new", tt.query, card[3], card[4])
		}
		// a line needs two points: in today's first hour (one step) there
		// is no sparkline
		want := len(rep.Series)
		if want < 2 {
			want = 0
		}
		if n := len(strings.Fields(card[5])); n != want {
			t.Errorf("%s: %d sparkline points, want %d (the report has %d steps)", tt.query, n, want, len(rep.Series))
		}
	}
	r := c.get("/dashboard/?period=7d")
	if strings.Contains(r.body, hostile) || !strings.Contains(r.body, `<title>&lt;script&gt;alert(1)&lt;/script&gt; shop: visitors per day, `) {
		t.Error("the site name is not escaped in the sparkline's title")
	}
	if r := c.get("/dashboard/?period=nope"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("bad period: %d, want 400", r.StatusCode)
	}

	// the time of the page with 20 websites (the report of each)
	for _, period := range []string{"today", "30d"} {
		var took []time.Duration
		for range 9 {
			start := time.Now()
			if r := c.get("/dashboard/?period=" + period); r.StatusCode != http.StatusOK {
				t.Fatal(r.StatusCode)
			}
			took = append(took, time.Since(start))
		}
		slices.Sort(took)
		t.Logf("overview of 20 websites, %s: median %v (min %v, max %v)", period, took[len(took)/2], took[0], took[len(took)-1])
	}
}
