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
// may be read by hour); the running step is drawn dashed; the previous
// period is a line of as many points at every step; hovering a step shows
// the crosshair and a tooltip with both series' values and the previous
// one; a KPI tile (click or Enter) switches the chart's metric and unit.
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
		// the previous period beside the series, one point per step (a
		// single step is drawn across the chart: two)
		prev := get(t, ctx, "overlay", chromedp.Evaluate[string](`(() => { const l = document.querySelector(".line.prev"); return l ? String(l.getAttribute("points").trim().split(/\s+/).length) : "none" })()`))
		if n := points(); prev != strconv.Itoa(n) && !(n == 1 && prev == "2") {
			t.Errorf("%s: the previous period's line has %s points for %d steps", tt.query, prev, n)
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

	if !strings.Contains(tip, "Previous page views (") {
		t.Errorf("tooltip %q does not name the previous period", tip)
	}

	// the Bounce rate tile switches the chart: one line in percent, the
	// previous period beside it, the period kept, the tile current
	run(t, ctx, "bounce rate", chromedp.Click(css("#kpi-bounceRate a")),
		until(`location.search.includes("metric=bounce") && document.readyState === "complete" && !!document.querySelector(".plot")`))
	if q := get(t, ctx, "query", chromedp.Evaluate[string](`location.search`)); !strings.Contains(q, "period=7d") {
		t.Errorf("the metric link lost the period: %s", q)
	}
	state := get(t, ctx, "bounce chart", chromedp.Evaluate[string](`[
		document.getElementById("chart-h").textContent,
		[...document.querySelectorAll(".y-axis span")].map(s => s.textContent).join(" "),
		String(document.querySelectorAll(".line.prev").length), String(document.querySelectorAll(".line.vis").length),
		document.querySelector("#kpi-bounceRate a").getAttribute("aria-current"),
		document.getElementById("chart-legend").textContent].join("|")`))
	f := strings.Split(state, "|")
	if f[0] != "Bounce rate" || !strings.HasSuffix(f[1], "0%") || strings.Count(f[1], "%") != len(strings.Fields(f[1])) ||
		f[2] != "1" || f[3] != "0" || f[4] != "true" || !strings.Contains(f[5], "Previous period") {
		t.Errorf("bounce rate chart: heading, axis, overlay, visitors' lines, tile, legend = %q", f)
	}
	hover := `(() => { const h = document.querySelectorAll(".plot .hit")[6]; h.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
		return h.dataset.value + "|" + h.dataset.prev + "|" + document.querySelector(".chart-tip").textContent })()`
	f = strings.Split(get(t, ctx, "bounce tooltip", chromedp.Evaluate[string](hover)), "|")
	if !strings.HasSuffix(f[0], "%") || !strings.HasPrefix(f[1], "Previous bounce rate (") ||
		!strings.Contains(f[2], "Bounce rate: "+f[0]) || !strings.Contains(f[2], f[1]) || strings.Contains(f[2], "Page views:") {
		t.Errorf("bounce tooltip %q for value %q, previous %q", f[2], f[0], f[1])
	}
	// the tooltip sets text: markup in a step's values stays text
	xss := get(t, ctx, "tooltip text", chromedp.Evaluate[string](`(() => { const h = document.querySelectorAll(".plot .hit")[2];
		h.dataset.value = h.dataset.prev = "<img src=x id=xss>"; h.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
		const tip = document.querySelector(".chart-tip"); return tip.querySelectorAll("img").length + "|" + tip.textContent })()`))
	if !strings.HasPrefix(xss, "0|") || strings.Count(xss, "<img src=x id=xss>") != 2 {
		t.Errorf("tooltip with markup in the values: %q", xss)
	}

	// Enter on the Visit duration tile: durations on the axis; Enter on
	// the current tile goes back to both counts
	run(t, ctx, "visit duration", chromedp.SendKeys(css("#kpi-avgDuration a"), "\r"),
		until(`location.search.includes("metric=duration") && document.readyState === "complete" && !!document.querySelector(".plot")`))
	if axis := get(t, ctx, "duration axis", chromedp.Evaluate[string](`[...document.querySelectorAll(".y-axis span")].map(s => s.textContent).join(" ")`)); !strings.HasSuffix(axis, "0s") || strings.Contains(axis, "%") {
		t.Errorf("duration axis %q", axis)
	}
	run(t, ctx, "back to the counts", chromedp.SendKeys(css("#kpi-avgDuration a"), "\r"),
		until(`!location.search.includes("metric=") && document.readyState === "complete" && !!document.querySelector(".line.vis")`))
}
