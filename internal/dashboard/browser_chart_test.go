package dashboard_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// TestBrowserChart (issue 33): the chart's step follows the period and
// can be switched (12 months are 13 months, or at most 54 weeks; 7 days
// may be read by hour); the running step is drawn dashed; hovering a
// step shows the crosshair and a tooltip with both series' values.
func TestBrowserChart(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Chart", "chart.example", "")
	e.traffic(t, site, 6)
	base := e.dash.URL + "/dashboard/sites/" + site.Id

	ctx := tab(t)
	noDialogs(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)
	points := func() int {
		n, err := strconv.Atoi(get(t, ctx, "points", chromedp.Evaluate[string](`String(document.querySelectorAll(".plot .hit").length)`)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tt := range []struct {
		query, unit string
		min, max    int
	}{
		{"period=12mo", "month", 13, 13},
		{"period=12mo&interval=week", "week", 52, 54},
		{"period=30d&interval=week", "week", 5, 6},
		{"period=7d&interval=hour", "hour", 7 * 24, 7*24 + 1},
		{"period=7d", "day", 7, 7},
		{"period=today", "hour", 1, 25},
	} {
		visit(t, ctx, base+"?"+tt.query, ".plot")
		if n := points(); n < tt.min || n > tt.max {
			t.Errorf("%s: %d points, want %d..%d", tt.query, n, tt.min, tt.max)
		}
		if unit := get(t, ctx, "unit", chromedp.Evaluate[string](`document.querySelector(".chart").dataset.unit`)); unit != tt.unit {
			t.Errorf("%s: by %s, want %s", tt.query, unit, tt.unit)
		}
		if tt.query != "period=today" {
			// every period here reaches today: its last step is still running
			if n := get(t, ctx, "dashed", chromedp.Evaluate[string](`String(document.querySelectorAll(".line.partial").length)`)); n != "2" {
				t.Errorf("%s: %s dashed lines, want 2", tt.query, n)
			}
		}
	}

	// the switch links keep the period and mark the current step
	visit(t, ctx, base+"?period=30d", ".plot")
	links := get(t, ctx, "interval links", chromedp.Evaluate[string](`[...document.querySelectorAll("#chart-intervals a")].map(a => a.textContent + (a.getAttribute("aria-current") ? "*" : "")).join(",")`))
	if links != "Day*,Week,Month" {
		t.Errorf("30 days: interval links %q", links)
	}
	run(t, ctx, "by week", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#chart-intervals a")].find(a => a.textContent === "Week").click()`),
		until(`location.search.includes("interval=week") && document.readyState === "complete"`))
	if n := points(); n < 5 || n > 6 {
		t.Errorf("30 days by week after the click: %d points", n)
	}

	// hover: crosshair and tooltip with both values
	visit(t, ctx, base+"?period=7d", ".plot")
	run(t, ctx, "hover the last step", chromedp.Evaluate[chromedp.Void](
		`document.querySelectorAll(".plot .hit")[6].dispatchEvent(new MouseEvent("mouseover", {bubbles: true}))`))
	tip := get(t, ctx, "tooltip", chromedp.Evaluate[string](`(() => { const t = document.querySelector(".chart-tip"); return t.hidden ? "" : t.textContent })()`))
	last := get(t, ctx, "last step", chromedp.Evaluate[string](`(() => { const h = [...document.querySelectorAll(".plot .hit")][6]; return h.dataset.label + "|" + h.dataset.pv + "|" + h.dataset.vis })()`))
	parts := strings.Split(last, "|")
	if !strings.Contains(tip, parts[0]+" (so far)") || !strings.Contains(tip, "Page views: "+parts[1]) || !strings.Contains(tip, "Visitors: "+parts[2]) {
		t.Errorf("tooltip %q for step %q", tip, last)
	}
	if parts[1] == "0" {
		t.Errorf("today's step shows no page views: the traffic was sent today")
	}
	if v := get(t, ctx, "crosshair", chromedp.Evaluate[string](`document.querySelector(".plot .cross").getAttribute("visibility")`)); v != "visible" {
		t.Errorf("crosshair %q", v)
	}
	screenshot(t, ctx, "chart-hover")
}
