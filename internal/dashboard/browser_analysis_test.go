package dashboard_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// TestBrowserFiltersGoalsFunnelsAndTimezone drives, in Chromium, what
// issue 17 added to the dashboard: a click on a top-card key filters
// every figure (and the filter survives a period change, negation and
// removal), a goal made with the Goals form shows in the Goals card and
// filters on click, a funnel made with the Funnels form is drawn with a
// bar per step, and the website's time zone moves the chart's days.
func TestBrowserFiltersGoalsFunnelsAndTimezone(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Shop", "shop.example", "")
	e.traffic(t, site, 16)
	base := e.dash.URL + "/dashboard/sites/" + site.Id
	sessions := func(where dbx.Expression) string {
		return num(float64(count(t, e.app, schema.Sessions, dbx.And(dbx.HashExp{"website": site.Id}, where))))
	}
	all := sessions(nil)

	ctx := tab(t)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)
	loaded := func(extra string) chromedp.Action[chromedp.Void] {
		return until(`document.readyState === "complete" && ` + extra)
	}
	visitors := func() string { return text(t, ctx, "#kpi-visitors .kpi-value") }
	var funnelURL string

	t.Run("a top-card key filters", func(t *testing.T) {
		visit(t, ctx, base+"?period=today", ".kpis")
		if got := visitors(); got != all {
			t.Fatalf("visitors %s, want %s", got, all)
		}
		firefox := sessions(dbx.HashExp{"browser": "Firefox"})
		run(t, ctx, "click Firefox",
			chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#card-browser a")].find(a => a.textContent === "Firefox").click()`),
			loaded(`location.search.includes("filter=browser%3AFirefox") && !!document.querySelector("#filters .chip")`))
		if got := visitors(); got != firefox || got == all {
			t.Errorf("filtered by Firefox: visitors %s, want %s (all: %s)", got, firefox, all)
		}
		if got := text(t, ctx, "#filters .chip-text"); got != "Browser is Firefox" {
			t.Errorf("chip %q", got)
		}
		screenshot(t, ctx, "site-filtered-desktop")
		// the period picker keeps the filter
		run(t, ctx, "pick 30d",
			chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("period"); s.value = "30d"; s.dispatchEvent(new Event("change")); })()`),
			loaded(`location.search.includes("period=30d") && !!document.querySelector('#period option[value="30d"][selected]')`))
		if loc := get(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "filter=browser%3AFirefox") {
			t.Errorf("after picking 30d: %s", loc)
		}
		if got := visitors(); got != firefox {
			t.Errorf("30d filtered by Firefox: visitors %s, want %s", got, firefox)
		}
		run(t, ctx, "negate", chromedp.Click(css("#filters .chip-toggle")),
			loaded(`location.search.includes("filter=browser%3A%21Firefox")`))
		if got, want := visitors(), sessions(dbx.Not(dbx.HashExp{"browser": "Firefox"})); got != want {
			t.Errorf("not Firefox: visitors %s, want %s", got, want)
		}
		run(t, ctx, "remove", chromedp.Click(css("#filters .chip-remove")),
			loaded(`!location.search.includes("filter") && !document.getElementById("filters")`))
		if got := visitors(); got != all {
			t.Errorf("without filters: visitors %s, want %s", got, all)
		}
	})

	t.Run("goals card", func(t *testing.T) {
		visit(t, ctx, base+"?period=today", "#card-goals")
		run(t, ctx, "to goals", chromedp.Click(css("#goals-link")), loaded(`!!document.getElementById("goal-form")`))
		run(t, ctx, "add goal",
			chromedp.SendKeys(css("#name"), "Signed up"),
			chromedp.SendKeys(css("#match"), "signup"),
			chromedp.Click(css(`#goal-form button[type="submit"]`)),
			loaded(`!!document.getElementById("created")`))
		screenshot(t, ctx, "goals-desktop")
		var converted int
		if err := e.app.DB().Select("COUNT(DISTINCT session)").From(schema.Events).
			Where(dbx.HashExp{"website": site.Id, "eventName": "signup"}).Row(&converted); err != nil || converted == 0 {
			t.Fatalf("%d sessions with signup (%v)", converted, err)
		}
		visit(t, ctx, base+"?period=today", "#card-goals a")
		if got := text(t, ctx, "#card-goals tbody tr td.n"); got != num(float64(converted)) {
			t.Errorf("Goals card: %s visitors, want %d", got, converted)
		}
		screenshot(t, ctx, "site-goals-desktop")
		run(t, ctx, "click goal", chromedp.Click(css("#card-goals tbody a")),
			loaded(`location.search.includes("filter=goal%3ASigned+up") && !!document.querySelector("#filters .chip")`))
		if got := visitors(); got != num(float64(converted)) {
			t.Errorf("filtered by the goal: visitors %s, want %d", got, converted)
		}
		if got := text(t, ctx, "#filters .chip-text"); got != "Goal is Signed up" {
			t.Errorf("chip %q", got)
		}
	})

	t.Run("funnel chart", func(t *testing.T) {
		visit(t, ctx, base+"/funnels?period=today", "#funnel-form")
		steps := [][3]string{{"Home", "page", "/"}, {"Pricing", "page", "/pricing"}, {"Signed up", "event", "signup"}}
		acts := []chromedp.Action[chromedp.Void]{chromedp.SendKeys(css("#name"), "Signup flow")}
		for i, st := range steps {
			n := string(rune('1' + i))
			acts = append(acts, chromedp.SendKeys(css("#step-"+n+"-name"), st[0]),
				chromedp.SetValue(css("#step-"+n+"-type"), st[1]),
				chromedp.SendKeys(css("#step-"+n+"-match"), st[2]))
		}
		run(t, ctx, "fill the funnel form", acts...)
		screenshot(t, ctx, "funnels-desktop")
		run(t, ctx, "add funnel", chromedp.Click(css(`#funnel-form button[type="submit"]`)),
			loaded(`!!document.getElementById("funnel-chart")`))
		funnelURL = get(t, ctx, "location", chromedp.Location())
		recs, err := e.app.FindAllRecords(schema.Funnels, dbx.HashExp{"website": site.Id})
		if err != nil || len(recs) != 1 {
			t.Fatalf("funnels %v %v", recs, err)
		}
		p, _ := stats.ParsePeriod("today", "", "", time.Now())
		rep, err := stats.Funnel(context.Background(), e.app, site.Id, recs[0].Id, stats.Request{Period: p})
		if err != nil || rep.Steps[2].Visitors == 0 {
			t.Fatalf("funnel %+v %v", rep, err)
		}
		type bar struct {
			Name     string  `json:"name"`
			Visitors string  `json:"visitors"`
			Width    string  `json:"width"`
			Pixels   float64 `json:"pixels"`
		}
		bars := eval[[]bar](t, ctx, `[...document.querySelectorAll("#funnel-chart tr.step")].map(r => ({
			name: r.querySelector(".step-name").textContent, visitors: r.cells[2].textContent,
			width: r.querySelector("rect.fill").getAttribute("width"),
			pixels: r.querySelector("rect.fill").getBoundingClientRect().width}))`)
		if len(bars) != len(steps) {
			t.Fatalf("%d bars, want %d", len(bars), len(steps))
		}
		for i, b := range bars {
			st := rep.Steps[i]
			if b.Name != steps[i][0] || b.Visitors != num(float64(st.Visitors)) || b.Width != fmt.Sprintf("%.1f", st.ConversionRate) ||
				b.Pixels <= 0 || i > 0 && b.Pixels > bars[i-1].Pixels {
				t.Errorf("bar %d: %+v, want %s with %d visitors at %v%%", i+1, b, st.Name, st.Visitors, st.ConversionRate)
			}
		}
		screenshot(t, ctx, "funnel-desktop")
	})

	t.Run("time zone moves the days", func(t *testing.T) {
		// a zone whose date differs from UTC's for every stored page view
		var stamps []string
		if err := e.app.DB().Select("timestamp").From(schema.Events).
			Where(dbx.HashExp{"website": site.Id, "type": "pageView"}).Column(&stamps); err != nil {
			t.Fatal(err)
		}
		var times []time.Time
		for _, s := range stamps {
			d, err := types.ParseDateTime(s)
			if err != nil {
				t.Fatal(err)
			}
			times = append(times, d.Time())
		}
		zone := "Pacific/Kiritimati" // UTC+14: from 10:00 UTC the next day
		if times[0].UTC().Hour() < 12 {
			zone = "Etc/GMT+12" // UTC−12: before noon UTC the day before
		}
		days := func(loc *time.Location) map[string]int {
			out := map[string]int{}
			for _, tm := range times {
				out[tm.In(loc).Format("Jan 2, 2006")]++
			}
			return out
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		shownDays := func() map[string]int {
			rows := eval[[][]string](t, ctx, `[...document.querySelectorAll(".chart-table tbody tr")].map(r => [r.cells[0].textContent, r.cells[1].textContent])`)
			out := map[string]int{}
			for _, r := range rows {
				if r[1] != "0" {
					var n int
					for _, c := range strings.ReplaceAll(r[1], ",", "") {
						n = n*10 + int(c-'0')
					}
					out[strings.TrimSuffix(r[0], " (so far)")] = n
				}
			}
			return out
		}
		visit(t, ctx, base+"?period=7d", ".chart-table")
		if got, want := shownDays(), days(time.UTC); !maps.Equal(got, want) {
			t.Fatalf("UTC days: shown %v, want %v", got, want)
		}
		if maps.Equal(days(time.UTC), days(loc)) {
			t.Fatalf("%s has the same days as UTC for %v", zone, days(loc))
		}
		visit(t, ctx, e.dash.URL+"/dashboard/websites/"+site.Id, "#timezone")
		run(t, ctx, "set zone",
			chromedp.SetValue(css("#timezone"), zone),
			chromedp.Click(css(`#settings button[type="submit"]`)),
			loaded(`!!document.getElementById("saved")`))
		visit(t, ctx, base+"?period=7d", ".chart-table")
		if got := text(t, ctx, "#period-zone"); got != zone {
			t.Errorf("zone next to the period: %q, want %s", got, zone)
		}
		if got, want := shownDays(), days(loc); !maps.Equal(got, want) {
			t.Errorf("%s days: shown %v, want %v", zone, got, want)
		}
	})

	t.Run("phone", func(t *testing.T) {
		run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
		for _, p := range []struct{ name, url, wait string }{
			{"site-filtered-phone", base + "?period=today&filter=browser:Firefox&filter=goal:Signed+up", "#filters"},
			{"goals-phone", base + "/goals", "#goal-form"},
			{"funnels-phone", base + "/funnels", "#funnel-form"},
			{"funnel-phone", funnelURL, "#funnel-chart"},
		} {
			visit(t, ctx, p.url, p.wait)
			if eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
				t.Errorf("%s: the page is wider than the phone", p.name)
			}
			screenshot(t, ctx, p.name)
		}
	})

	t.Run("delete asks first", func(t *testing.T) {
		// the browser's confirmation: Cancel keeps the funnel, OK deletes it
		var accept atomic.Bool
		asked := make(chan string, 4)
		if err := chromedp.Listen(ctx, func(ev any) {
			if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
				asked <- d.Message
				go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept.Load()})
			}
		}); err != nil {
			t.Fatal(err)
		}
		funnels := func() int {
			n, err := e.app.CountRecords(schema.Funnels, dbx.HashExp{"website": site.Id})
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		before := funnels()
		deleteFunnel := func() string {
			visit(t, ctx, base+"/funnels", "#funnels form button")
			// what became of the submit, once every handler has run
			eval[bool](t, ctx, `document.addEventListener("submit", e => setTimeout(() => {
				window.submitted = e.defaultPrevented ? "prevented" : "sent" }), true), true`)
			// the click waits for the dialog's answer: run it aside
			go chromedp.Run(ctx, chromedp.Click(css("#funnels form button")))
			select {
			case msg := <-asked:
				return msg
			case <-time.After(testwait.Timeout()):
				t.Fatal("Delete asked nothing")
			}
			return ""
		}
		if msg := deleteFunnel(); msg != "Delete the funnel Signup flow? Its events stay." {
			t.Errorf("asked %q", msg)
		}
		run(t, ctx, "the submit's fate", until(`window.submitted !== undefined`))
		if got := eval[string](t, ctx, `window.submitted`); got != "prevented" {
			t.Errorf("after Cancel the form was %s", got)
		}
		if n := funnels(); n != before {
			t.Fatalf("Cancel deleted: %d funnels, want %d", n, before)
		}
		accept.Store(true)
		deleteFunnel()
		testwait.Until(t, "the funnel deleted after OK", func() bool { return funnels() == before-1 })
	})
}
