package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// hostileStored are values an owner (or a visitor's browser, for
// campaigns and event properties) can store in what the goals, funnels,
// campaigns, properties and filter chips show: an alert() that opens a
// dialog if it ever runs, plus the page's other hostile values.
var hostileStored = append([]string{`<img src=x onerror=alert(1)>`, `"><script>alert(2)</script>`}, hostile...)

// hostileEvent is the custom event the hostile properties and goals use.
const hostileEvent = "hostile-event"

// hostilePage is a page (relative to /dashboard) and the hostile values
// it must show as text.
type hostilePage struct {
	path  string
	shows []string
}

// seedHostileAnalysis stores goals, a funnel, sessions with campaign
// values and custom events with properties, all made of hostileStored,
// and returns the pages that show them.
func seedHostileAnalysis(t *testing.T, app core.App, site *core.Record) []hostilePage {
	t.Helper()
	now := time.Now().UTC()
	var steps []map[string]string
	for _, h := range hostileStored {
		pbtest.Save(t, app, schema.Goals, map[string]any{"website": site.Id, "name": h, "type": "event", "match": hostileEvent,
			"propertyKey": h, "propertyValue": h})
		pbtest.Save(t, app, schema.Goals, map[string]any{"website": site.Id, "name": h + " page", "type": "page", "match": "/" + h})
		steps = append(steps, map[string]string{"name": h, "type": "event", "match": h})
		vis := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v-utm-" + h})
		sess := pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site.Id, "visitor": vis.Id, "browser": "Chrome",
			"entryPath": "/", "exitPath": "/", "isNewVisitor": true, "seq": 1, "startedAt": now, "lastActivity": now, "eventCount": 2,
			"utm":    map[string]string{"utm_source": h, "utm_medium": h, "utm_campaign": h, "utm_term": h, "utm_content": h},
			"source": h, "channel": h, "referrer": "https://ref.example/" + h})
		pbtest.Save(t, app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView", "path": "/", "timestamp": now})
		pbtest.Save(t, app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "custom", "eventName": hostileEvent,
			"eventData": map[string]any{h: h}, "path": "/", "timestamp": now})
		// a purchase: its goal and its page are shown in the Revenue card
		// and on the goals page
		pbtest.Save(t, app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "custom", "eventName": hostileEvent,
			"eventData": map[string]any{h: h}, "path": "/" + h, "timestamp": now, "revenueAmount": 2999, "revenueCurrency": "USD", "orderId": h})
	}
	steps = steps[:min(len(steps), schema.MaxFunnelSteps)]
	funnelName := hostileStored[0] + hostileStored[1]
	funnel := pbtest.Save(t, app, schema.Funnels, map[string]any{"website": site.Id, "name": funnelName, "steps": steps})
	var stepNames []string
	for _, st := range steps {
		stepNames = append(stepNames, st["name"])
	}
	id := site.Id
	all := hostileStored
	pages := []hostilePage{
		{"/sites/" + id + "?period=today", all}, // goal names, campaigns, sources, channels
		{"/sites/" + id + "/goals", all},        // goal names, properties, page patterns
		{"/sites/" + id + "/funnels", append([]string{funnelName}, stepNames...)},
		{"/sites/" + id + "/funnels/" + funnel.Id + "?period=today&filter=" + url.QueryEscape("event:"+all[0]),
			append([]string{funnelName}, stepNames...)},
		{"/sites/" + id + "/events?period=today&name=" + hostileEvent, all}, // property keys and values
		// the chip, and the one session's property
		{"/sites/" + id + "/events?period=today&name=" + hostileEvent + "&filter=" + url.QueryEscape("utm_source:"+all[1]), all[1:2]},
	}
	for _, h := range all {
		// two chips: a goal, a campaign; the referrer's full URL
		pages = append(pages, hostilePage{"/sites/" + id + "?period=today&filter=" + url.QueryEscape("goal:"+h) +
			"&filter=" + url.QueryEscape("utm_campaign:!"+h), []string{h}})
	}
	return pages
}

// TestAnalysisPagesEscapeStoredValues: every stored or requested value
// the new pages show is escaped in the HTML (the browser test checks that
// none runs).
func TestAnalysisPagesEscapeStoredValues(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Shop", "shop.example", "")
	pages := seedHostileAnalysis(t, e.app, site)
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)

	markup := func(h string) bool { return strings.ContainsAny(h, `<>"'`) }
	check := func(what string, r resp, shows []string) {
		t.Helper()
		for _, h := range hostileStored {
			if markup(h) && strings.Contains(r.body, h) {
				t.Errorf("%s: %q unescaped in the HTML", what, h)
			}
		}
		for _, h := range shows {
			if !strings.Contains(r.body, attr(h)) {
				t.Errorf("%s does not show %q (escaped): the test does not exercise it", what, h)
			}
		}
	}
	for _, p := range pages {
		r := c.get("/dashboard" + p.path)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", p.path, r.StatusCode, r.body)
		}
		check(p.path, r, p.shows)
	}
	// the revenue is there to be escaped: a card on the site page, a line per goal
	if r := c.get("/dashboard/sites/" + site.Id + "?period=today"); !strings.Contains(r.body, `id="card-revenue"`) ||
		!strings.Contains(r.body, `id="revenue-page"`) || !strings.Contains(r.body, "29.99") {
		t.Error("the site page shows no Revenue card by goal and page")
	}
	if r := c.get("/dashboard/sites/" + site.Id + "/goals"); !strings.Contains(r.body, "29.99 USD") {
		t.Error("the goals page shows no goal revenue")
	}
	// forms that come back with what was typed
	for _, h := range hostileStored {
		r := c.post("/dashboard/sites/"+site.Id+"/goals", url.Values{"name": {h}, "type": {"page"}, "match": {h},
			"propertyKey": {h}, "propertyValue": {h}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("goal form %q: %d, want 422", h, r.StatusCode)
		}
		check("goal form", r, []string{h})
		r = c.post("/dashboard/sites/"+site.Id+"/funnels", url.Values{"name": {h}, "stepName": {h, h}, "stepType": {"page", "event"},
			"stepMatch": {h, h}})
		if r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("funnel form %q: %d, want 422", h, r.StatusCode)
		}
		check("funnel form", r, []string{h})
	}
}
