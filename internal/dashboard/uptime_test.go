package dashboard_test

// The uptime page and the uptime parts of other pages over HTTP: the
// figures, chart and incidents of stored checks (as the monitor stores
// them), only for the site's owner; the overview's status dot; the
// website settings' monitoring fields; hostile texts escaped.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// evil are texts an attacker controls (a site name, an event name, a
// page's error message), each of which would run if not escaped.
var evil = []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(2)>`}

// saveRecord stores a record of collection with fields.
func saveRecord(t *testing.T, app core.App, collection string, fields map[string]any) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	for k, v := range fields {
		rec.Set(k, v)
	}
	if err := app.Save(rec); err != nil {
		t.Fatalf("save %s: %v", collection, err)
	}
	return rec
}

// monitored stores a monitored website's state and history: ten checks
// in the last day (two down), a resolved incident of 90 minutes and an
// ongoing one.
func monitored(t *testing.T, app core.App, site *core.Record, now time.Time) {
	t.Helper()
	site.Set("uptimeMonitoring", true)
	site.Set("uptimeCheckInterval", 600)
	site.Set("currentStatus", "down")
	site.Set("lastUptimeCheck", now.Add(-time.Minute))
	site.Set("certExpiry", now.Add(5*24*time.Hour))
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		up := i != 3 && i != 9
		saveRecord(t, app, schema.UptimeChecks, map[string]any{"website": site.Id, "isUp": up, "statusCode": 200,
			"responseTime": 100 + 10*i, "timestamp": now.Add(-time.Duration(10-i) * 2 * time.Hour), "error": evil[1]})
	}
	saveRecord(t, app, schema.UptimeIncidents, map[string]any{"website": site.Id, "startTime": now.Add(-5 * time.Hour),
		"endTime": now.Add(-5*time.Hour + 90*time.Minute), "duration": (90 * time.Minute).Milliseconds(), "isResolved": true,
		"error": evil[0], "statusCode": 500})
	saveRecord(t, app, schema.UptimeIncidents, map[string]any{"website": site.Id, "startTime": now.Add(-10 * time.Minute),
		"error": evil[1], "statusCode": 503})
}

func TestUptimePage(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@uptime.example", "ada-password-123")
	addUser(t, e.app, "bob@uptime.example", "bob-password-123")
	site := addSite(t, e.app, evil[0], "shop.uptime.example", ada.Id)
	quiet := addSite(t, e.app, "Quiet", "quiet.uptime.example", ada.Id)
	monitored(t, e.app, site, time.Now())
	c := e.client(t)
	c.mustLogin("ada@uptime.example", "ada-password-123")
	page := "/dashboard/sites/" + site.Id + "/uptime"

	r := c.get(page)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("uptime page: %d\n%s", r.StatusCode, r.body)
	}
	for _, want := range []string{
		`id="uptime-status">Down<`, `id="uptime-24h">80.00%<`, `id="uptime-7d">80.00%<`, `id="uptime-90d">80.00%<`,
		"checked every 10 minutes", `<td class="n">1h 30m</td>`, `<span class="badge warn">ongoing</span>`, `<td class="n">503</td>`,
		`id="uptime-cert" class="alert" role="alert">TLS certificate expires`, `<rect class="down"`, `<polyline class="line pv"`,
		"https://shop.uptime.example/", `href="/dashboard/sites/` + site.Id + `/uptime?period=7d"`,
		`aria-current="page">24 hours<`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("uptime page lacks %q", want)
		}
	}
	noRaw(t, "uptime page", r.body)
	if got := strings.Count(r.body, `<rect class="down"`); got != 2 {
		t.Errorf("%d down marks, want 2", got)
	}
	// the ongoing incident lasts until now: about ten minutes
	if !strings.Contains(r.body, `<td class="n">10m 0`) && !strings.Contains(r.body, `<td class="n">9m 5`) {
		t.Errorf("ongoing incident's duration missing\n%s", between(r.body, `id="incidents"`, "</section>"))
	}
	if r := c.get(page + "?period=90d"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `aria-current="page">90 days<`) {
		t.Errorf("90 days: %d", r.StatusCode)
	}
	if r := c.get(page + "?period=bogus"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, `aria-current="page">24 hours<`) {
		t.Errorf("unknown period: %d", r.StatusCode)
	}

	r = c.get("/dashboard/sites/" + quiet.Id + "/uptime")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `id="uptime-status">Monitoring off<`) ||
		!strings.Contains(r.body, `id="uptime-off">Uptime monitoring is off for this website. <a href="/dashboard/websites/`+quiet.Id+`">`) ||
		!strings.Contains(r.body, "No checks in this period.") {
		t.Errorf("unmonitored site: %d\n%s", r.StatusCode, r.body)
	}

	// the overview's dots, in words too, and the site page's link
	r = c.get("/dashboard/")
	if !strings.Contains(r.body, `<a href="`+page+`" class="status-link"><span class="dot dot-down" aria-hidden="true"></span><span>Uptime: <span class="status-text">Down</span></span></a>`) ||
		!strings.Contains(r.body, `<span class="dot dot-none" aria-hidden="true"></span><span>Uptime: <span class="status-text">Monitoring off</span></span>`) {
		t.Errorf("overview dots\n%s", between(r.body, `id="sites"`, "</ul>"))
	}
	noRaw(t, "overview", r.body)
	if r := c.get("/dashboard/sites/" + site.Id); !strings.Contains(r.body, `href="`+page+`" id="uptime-link"`) {
		t.Error("the site page does not link to the uptime page")
	}

	bob := e.client(t)
	bob.mustLogin("bob@uptime.example", "bob-password-123")
	if r := bob.get(page); r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "80.00%") {
		t.Errorf("another user's uptime page: %d", r.StatusCode)
	}
}

// noRaw fails when body holds a hostile text unescaped.
func noRaw(t *testing.T, what, body string) {
	t.Helper()
	for _, h := range evil {
		if strings.Contains(body, h) {
			t.Errorf("%s: %q unescaped", what, h)
		}
	}
	if strings.Contains(body, "<img src=x") {
		t.Errorf("%s: an injected element", what)
	}
}

func TestWebsiteUptimeSettings(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@settings.example", "ada-password-123")
	site := addSite(t, e.app, "Blog", "blog.settings.example", ada.Id)
	c := e.client(t)
	c.mustLogin("ada@settings.example", "ada-password-123")
	edit := "/dashboard/websites/" + site.Id

	r := c.get(edit)
	if !strings.Contains(r.body, `<input type="checkbox" id="uptimeMonitoring" name="uptimeMonitoring" value="1">`) ||
		!strings.Contains(r.body, `<option value="5" selected>5 minutes</option>`) ||
		!strings.Contains(r.body, `id="uptime-home">https://blog.settings.example/<`) {
		t.Fatalf("settings form\n%s", between(r.body, `class="uptime-fields"`, "</fieldset>"))
	}
	form := url.Values{"name": {"Blog"}, "domain": {"blog.settings.example"}, "reportFrequency": {"none"},
		"uptimeMonitoring": {"1"}, "uptimeCheckInterval": {"15"}}
	if r := c.post(edit, form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.StatusCode, r.body)
	}
	got, err := e.app.FindRecordById(schema.Websites, site.Id)
	if err != nil || !got.GetBool("uptimeMonitoring") || got.GetInt("uptimeCheckInterval") != 900 {
		t.Fatalf("saved: %v %v %v", err, got.GetBool("uptimeMonitoring"), got.GetInt("uptimeCheckInterval"))
	}
	if r := c.get(edit); !strings.Contains(r.body, `value="1" checked>`) || !strings.Contains(r.body, `<option value="15" selected>`) {
		t.Error("the saved settings are not shown")
	}
	form.Set("uptimeCheckInterval", "7")
	form.Del("uptimeMonitoring")
	r = c.post(edit, form)
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="interval-err">Choose one of the intervals.`) {
		t.Errorf("bad interval: %d", r.StatusCode)
	}
	if got, _ := e.app.FindRecordById(schema.Websites, site.Id); !got.GetBool("uptimeMonitoring") {
		t.Error("a refused form changed the website")
	}

	// the add form: monitoring from the start
	r = c.post("/dashboard/websites", url.Values{"name": {"Shop"}, "domain": {"shop.settings.example"},
		"uptimeMonitoring": {"1"}, "uptimeCheckInterval": {"1"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", r.StatusCode, r.body)
	}
	shop, err := e.app.FindFirstRecordByData(schema.Websites, "domain", "shop.settings.example")
	if err != nil || !shop.GetBool("uptimeMonitoring") || shop.GetInt("uptimeCheckInterval") != 60 {
		t.Errorf("added: %v", err)
	}
}
