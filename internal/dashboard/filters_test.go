package dashboard_test

// Filters, campaigns and custom event properties on the site and events
// pages, over HTTP against a real PocketBase with the Skopos plugin (data
// through the real endpoint).

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// campaignVisits sends one page view per query through the endpoint, each
// from its own address (its own session), and waits for them.
func (e *env) campaignVisits(t *testing.T, site *core.Record, queries ...string) {
	t.Helper()
	before := count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id})
	for i, q := range queries {
		e.beacon(t, fmt.Sprintf(`{"type":"pageView","url":"https://%s/landing?%s"}`, site.GetString("domain"), q),
			fmt.Sprintf("198.51.100.%d", i+1), browsertest.Chrome)
	}
	testwait.Until(t, "campaign visits stored", func() bool {
		return count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id}) == before+len(queries)
	})
}

var kpiRE = regexp.MustCompile(`(?s)id="kpi-(\w+)">.*?<span class="kpi-value">([^<]*)</span>`)

// kpis reads the KPI cards of a site page.
func kpis(body string) map[string]string {
	out := map[string]string{}
	for _, m := range kpiRE.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// report is stats.Query for the dashboard's default clock and UTC days.
func report(t *testing.T, app core.App, siteID, period string, fs ...stats.Filter) *stats.Report {
	t.Helper()
	now := time.Now()
	p, err := stats.ParsePeriod(period, "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := stats.Query(context.Background(), app, siteID, stats.Request{Period: p, Filters: fs, Top: 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// attr is s as html/template writes it into an attribute or text.
func attr(s string) string {
	return strings.ReplaceAll(template.HTMLEscapeString(s), "+", "&#43;")
}

func TestSiteFilters(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Shop", "shop.example", "")
	e.traffic(t, site, 12)
	e.campaignVisits(t, site, "utm_source=news&utm_medium=email&utm_campaign=launch",
		"utm_source=news&utm_medium=email&utm_campaign=launch", "utm_source=ads&utm_medium=cpc")
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	base := "/dashboard/sites/" + site.Id

	// every key of the cards filters, keeping the period
	r := c.get(base + "?period=7d")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("site page: %d\n%s", r.StatusCode, r.body)
	}
	for _, want := range []string{
		`href="` + attr(base+"?filter=browser%3AFirefox&period=7d") + `">Firefox</a>`,
		`href="` + attr(base+"?filter=page%3A%2Fpricing&period=7d") + `">/pricing</a>`,
		`href="` + attr(base+"?filter=referrer%3Agoogle.com&period=7d") + `">google.com</a>`,
		`href="` + attr(base+"?filter=event%3Asignup&period=7d") + `">signup</a>`,
		`href="` + attr(base+"?filter=utm_source%3Anews&period=7d") + `">news</a>`,
		`href="` + attr(base+"?filter=utm_medium%3Acpc&period=7d") + `">cpc</a>`,
		`href="` + attr(base+"?filter=utm_campaign%3Alaunch&period=7d") + `">launch</a>`,
		`href="` + attr(base+"/events?name=signup&period=7d") + `"`, // the drill-down stays
		`id="card-campaigns"`, `id="goals-link"`, `id="funnels-link"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("site page lacks %s", want)
		}
	}
	if strings.Contains(r.body, `id="filters"`) {
		t.Error("chips shown without filters")
	}
	if got, want := count(t, e.app, schema.Sessions, dbx.NewExp("website = {:w} AND json_extract(utm, '$.utm_source') = 'news'", dbx.Params{"w": site.Id})), 2; got != want {
		t.Fatalf("%d sessions from the news campaign stored, want %d", got, want)
	}

	type chipWant struct{ dim, op, value string }
	tests := []struct {
		name    string
		filters []string
		chips   []chipWant
	}{
		{"session dimension", []string{"browser:Firefox"}, []chipWant{{"Browser", "is", "Firefox"}}},
		{"negated", []string{"browser:!Firefox"}, []chipWant{{"Browser", "is not", "Firefox"}}},
		{"campaign", []string{"utm_source:news"}, []chipWant{{"UTM source", "is", "news"}}},
		{"two, events and sessions", []string{"page:/pricing", "browser:!Safari"},
			[]chipWant{{"Page", "is", "/pricing"}, {"Browser", "is not", "Safari"}}},
		{"custom event", []string{"event:signup"}, []chipWant{{"Custom event", "is", "signup"}}},
		{"account", []string{"user:abc", "identified:yes", "meta.plan:pro"},
			[]chipWant{{"User:", "", "abc"}, {"Identified:", "", "yes"}, {"plan", "=", "pro"}}},
		{"account negated", []string{"user:!<b>x</b>", "identified:!yes", "meta.team.size:!10", "browser:Firefox"},
			[]chipWant{{"User:", "not", "<b>x</b>"}, {"Identified:", "", "no"}, {"team.size", "is not", "10"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{"period": {"7d"}, "filter": tt.filters}
			r := c.get(base + "?" + q.Encode())
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%d\n%s", r.StatusCode, r.body)
			}
			var fs []stats.Filter
			for _, raw := range tt.filters {
				f, err := stats.ParseFilter(raw)
				if err != nil {
					t.Fatal(err)
				}
				fs = append(fs, f)
				// the period form keeps the filter
				if !strings.Contains(r.body, `<input type="hidden" name="filter" value="`+attr(raw)+`">`) {
					t.Errorf("no hidden input for %s", raw)
				}
			}
			for _, want := range tt.chips {
				chip := `<span class="chip-dim">` + want.dim + `</span> <span class="chip-op">` + want.op +
					`</span> <span class="chip-val">` + attr(want.value) + `</span>`
				if !strings.Contains(r.body, chip) {
					t.Errorf("no chip %v", want)
				}
			}
			// every figure is the filtered report's
			rep := report(t, e.app, site.Id, "7d", fs...)
			got := kpis(r.body)
			for id, m := range map[string]stats.Metric{"pageViews": rep.PageViews, "visitors": rep.Visitors, "newVisitors": rep.NewVisitors} {
				if got[id] != num(m.Value) {
					t.Errorf("KPI %s = %q, want %v", id, got[id], m.Value)
				}
			}
			if _, ok := got["jsErrors"]; ok {
				t.Error("JS errors KPI shown with filters")
			}
			all := report(t, e.app, site.Id, "7d")
			if rep.Visitors.Value == all.Visitors.Value && rep.PageViews.Value == all.PageViews.Value {
				t.Errorf("filters %v change nothing: the test data does not exercise them", tt.filters)
			}
			// the sessions list follows the filters
			if !strings.Contains(r.body, `href="`+attr(base+"/sessions?"+q.Encode())+`" id="sessions-link"`) {
				t.Error("sessions link does not keep the period and filters")
			}
		})
	}

	// a key link replaces the filter of its dimension and keeps the others
	r = c.get(base + "?period=today&filter=browser:!Safari&filter=utm_source:news")
	if want := attr(base + "?filter=utm_source%3Anews&filter=browser%3AChrome&period=today"); !strings.Contains(r.body, want) {
		t.Errorf("Chrome's link under a browser filter is not %s", want)
	}
	// a chip's links: remove it, or negate it
	for _, want := range []string{
		`class="chip-remove" href="` + attr(base+"?filter=utm_source%3Anews&period=today") + `"`,
		`class="chip-toggle" href="` + attr(base+"?filter=browser%3ASafari&filter=utm_source%3Anews&period=today") + `"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("chips lack %s", want)
		}
	}

	// bad filters are the user's error, named
	for _, tt := range []struct{ filter, want string }{
		{"nope:x", "unknown dimension"},
		{"browser", "use &lt;dimension&gt;:&lt;value&gt;"},
		{"goal:No such goal", "no goal named"},
	} {
		r := c.get(base + "?period=7d&filter=" + url.QueryEscape(tt.filter))
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, tt.want) {
			t.Errorf("filter %q: %d, want 400 saying %q\n%s", tt.filter, r.StatusCode, tt.want, r.body)
		}
	}

	// the custom event's properties, with the page's filters
	r = c.get(base + "/events?period=7d&name=signup&filter=browser:Firefox")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("events page: %d\n%s", r.StatusCode, r.body)
	}
	p, _ := stats.ParsePeriod("7d", "", "", time.Now())
	props, err := stats.Properties(context.Background(), e.app, site.Id, "signup",
		stats.Request{Period: p, Filters: []stats.Filter{{Dim: "browser", Value: "Firefox"}}})
	if err != nil || len(props["plan"]) == 0 {
		t.Fatalf("properties %v %v", props, err)
	}
	for _, v := range props["plan"] {
		want := `<span class="key-text">` + v.Value + `</span></td><td class="n">` + num(float64(v.Count)) + `</td>`
		if !strings.Contains(r.body, want) {
			t.Errorf("events page lacks plan %s = %d", v.Value, v.Count)
		}
	}
	if !strings.Contains(r.body, `<caption><code class="val">plan</code></caption>`) ||
		!strings.Contains(r.body, `<span class="chip-val">Firefox</span>`) {
		t.Errorf("events page lacks the property table or the chip:\n%s", r.body)
	}
	if r := c.get(base + "/events?period=7d&name=signup&filter=x:y"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("events page with a bad filter: %d", r.StatusCode)
	}
}

// TestChartMetricStaysChosen: with a metric chosen, the period form,
// the filter links and the tabs keep it; its own tile goes back to the
// default chart.
func TestChartMetricStaysChosen(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Metric", "metric.example", "")
	e.traffic(t, site, 4)
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	base := "/dashboard/sites/" + site.Id
	r := c.get(base + "?period=7d&metric=bounce")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%d", r.StatusCode)
	}
	for _, want := range []string{
		`<input type="hidden" name="metric" value="bounce">`,                                     // the period form
		attr(base + "?filter=" + url.QueryEscape("browser:Chrome") + "&metric=bounce&period=7d"), // a card row
		`tab.pages=entryPage`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the page with metric=bounce lacks %s", want)
		}
	}
	if !regexp.MustCompile(`href="[^"]*metric=bounce[^"]*tab\.pages=entryPage|href="[^"]*tab\.pages=entryPage[^"]*metric=bounce`).MatchString(r.body) {
		t.Error("the tabs drop the metric")
	}
	if !strings.Contains(r.body, `href="`+attr(base+"?period=7d")+`"`) {
		t.Error("no link back to the default chart (the chosen tile's)")
	}
}
