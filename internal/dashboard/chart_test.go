package dashboard

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/stats"
)

// TestChartDrawsALineForEveryPointCount: a polyline needs two points, so
// a series of one (today, in its first hour) is drawn across the chart;
// a running last step is drawn apart (dashed), and the lines still span
// the chart.
func TestChartDrawsALineForEveryPointCount(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, partial := range []bool{false, true} {
		for _, n := range []int{1, 2, 24} {
			var series []stats.Point
			for i := range n {
				series = append(series, stats.Point{Time: day.Add(time.Duration(i) * time.Hour), PageViews: 4 + i, Visitors: 2})
			}
			c := buildChart(series, nil, "hour", partial, chartMetricOf(""))
			for name, line := range map[string][2]string{"page views": {c.PVLine, c.PVPartial}, "visitors": {c.VisLine, c.VisPartial}} {
				pts := strings.Fields(line[0] + " " + line[1])
				if len(pts) < 2 || !strings.HasPrefix(pts[0], "0.0,") || !strings.HasPrefix(pts[len(pts)-1], "1000.0,") {
					t.Errorf("%d points: %s line %q does not span the chart", n, name, line)
				}
				if dashed := line[1] != ""; dashed != (partial && n > 1) {
					t.Errorf("%d points, partial %v: %s dashed segment %q", n, partial, name, line[1])
				}
			}
			if !strings.HasSuffix(c.Area, " Z") || len(c.Columns) != n || c.Columns[n-1].Partial != partial {
				t.Errorf("%d points: area %q, %d columns", n, c.Area, len(c.Columns))
			}
		}
	}
}

// TestNiceScale: 1, 2 or 5 times a power of ten, at most 5 steps, the
// peak inside (the example: 210 reads 0–250 by 50).
func TestNiceScale(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ peak, top, step int }{
		{0, 4, 1}, {1, 2, 1}, {3, 3, 1}, {5, 5, 1}, {7, 8, 2}, {10, 10, 2}, {99, 100, 20}, {100, 100, 20},
		{101, 150, 50}, {210, 250, 50}, {999, 1000, 200}, {123456, 150000, 50000},
	} {
		top, step := niceScale(tt.peak)
		if top != tt.top || step != tt.step {
			t.Errorf("niceScale(%d) = %d by %d, want %d by %d", tt.peak, top, step, tt.top, tt.step)
		}
		if top < tt.peak || top/step > 5 && tt.peak > 0 {
			t.Errorf("niceScale(%d): %d steps to %d", tt.peak, top/step, top)
		}
	}
}

// TestChartLabels: at most 7 x labels, first and last included, named by
// the step; the y labels are the grid's values from the top.
func TestChartLabels(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 12, 8, 0, 0, 0, 0, time.UTC)
	var months []stats.Point
	for i := range 13 {
		months = append(months, stats.Point{Time: start.AddDate(0, i, 0), PageViews: 210 * i / 12, Visitors: 3})
	}
	c := buildChart(months, nil, "month", true, chartMetricOf(""))
	if len(c.XLabels) != 7 || c.XLabels[0] != "Dec 2025" || c.XLabels[6] != "Dec 2026" {
		t.Errorf("month labels %v", c.XLabels)
	}
	if strings.Join(c.YLabels, " ") != "250 200 150 100 50 0" || len(c.Grid) != len(c.YLabels) || c.Grid[0] != "0.5" || c.Grid[5] != "299.5" {
		t.Errorf("y labels %v at %v", c.YLabels, c.Grid)
	}
	if c.UnitLabel != "Month" || !strings.HasSuffix(c.Columns[12].Title, "(so far)") {
		t.Errorf("unit %q, last title %q", c.UnitLabel, c.Columns[12].Title)
	}
	if got := stepLabel(start.Add(5*time.Hour), "hour", start, false); got != "05:00" {
		t.Errorf("hour label %q", got)
	}
	if got := stepLabel(start.AddDate(0, 0, 1).Add(5*time.Hour), "hour", start, false); got != "Dec 9 05:00" {
		t.Errorf("hour label of the next day %q", got)
	}
	if got := stepLabel(start, "week", start, false); got != "Week of Dec 8" {
		t.Errorf("week label %q", got)
	}
}

// TestMetricScales: a percentage axis is 0–100 % by 20 above half, else
// nice steps; a duration axis steps as a clock divides (30s, 1m, 5m) and
// names its values briefly.
func TestMetricScales(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ peak, top, step float64 }{
		{0, 100, 20}, {33.3, 40, 10}, {50, 50, 10}, {50.1, 100, 20}, {100, 100, 20}, {7.5, 8, 2},
	} {
		if top, step := percentScale(tt.peak); top != tt.top || step != tt.step {
			t.Errorf("percentScale(%v) = %v by %v, want %v by %v", tt.peak, top, step, tt.top, tt.step)
		}
	}
	for _, tt := range []struct{ peak, top, step float64 }{
		{0, 60, 15}, {4, 4, 1}, {45, 50, 10}, {60, 60, 15}, {95, 120, 30}, {290, 300, 60}, {301, 360, 120},
		{1000, 1200, 300}, {5400, 5400, 1800}, {7200, 7200, 1800}, {86400 * 3, 86400 * 3, 86400},
	} {
		top, step := durationScale(tt.peak)
		if top != tt.top || step != tt.step {
			t.Errorf("durationScale(%v) = %v by %v, want %v by %v", tt.peak, top, step, tt.top, tt.step)
		}
		if top < tt.peak || top/step > 5 {
			t.Errorf("durationScale(%v): %v steps to %v", tt.peak, top/step, top)
		}
	}
	for v, want := range map[float64]string{0: "0s", 45: "45s", 60: "1m", 90: "1m 30s", 3600: "1h", 5400: "1h 30m", 3661: "1h 1m 1s"} {
		if got := axisDuration(v); got != want {
			t.Errorf("axisDuration(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestChartMetricAndPrevious: a chosen metric draws one line in its unit
// with the previous period's beside it, one point per step; the axis
// fits both; every step names its figure and the previous one's with
// its date; a previous series of another length is left out.
func TestChartMetricAndPrevious(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	var cur, prev []stats.Point
	for i := range 7 {
		cur = append(cur, stats.Point{Time: start.AddDate(0, 0, i), PageViews: 10, Visitors: 4, BounceRate: 25, AvgDurationSeconds: 40})
		prev = append(prev, stats.Point{Time: start.AddDate(0, 0, i-7), PageViews: 30, Visitors: 5, BounceRate: 62.5, AvgDurationSeconds: 95})
	}
	bounce := buildChart(cur, prev, "day", true, chartMetricOf("bounce"))
	if bounce.VisLine != "" || bounce.VisPartial != "" || bounce.PVPartial == "" || bounce.Title != "Bounce rate" {
		t.Errorf("bounce: visitors %q/%q, partial %q, title %q", bounce.VisLine, bounce.VisPartial, bounce.PVPartial, bounce.Title)
	}
	if got := strings.Join(bounce.YLabels, " "); got != "100% 80% 60% 40% 20% 0%" {
		t.Errorf("bounce axis %s", got)
	}
	if n := len(strings.Fields(bounce.PrevLine)); n != len(cur) {
		t.Errorf("previous line of %d points, want %d", n, len(cur))
	}
	c := bounce.Columns[0]
	if c.Value != "25%" || c.Prev != "62.5%" || c.PrevLabel != "Feb 23, 2026" ||
		c.PrevText != "Previous bounce rate (Feb 23, 2026): 62.5%" || !strings.HasSuffix(c.Title, "; "+c.PrevText) {
		t.Errorf("bounce step 0: %+v", c)
	}
	dur := buildChart(cur, prev, "day", false, chartMetricOf("duration"))
	if got := strings.Join(dur.YLabels, " "); got != "2m 1m 30s 1m 30s 0s" {
		t.Errorf("duration axis %s", got)
	}
	if c := dur.Columns[6]; c.Value != "40s" || c.Prev != "1m 35s" {
		t.Errorf("duration step 6: %+v", c)
	}
	// by default both counts, the previous page views, and an axis that
	// reaches their peak (30, not 10)
	def := buildChart(cur, prev, "day", false, chartMetricOf("no such metric"))
	if def.Metric != "" || def.VisLine == "" || def.YLabels[0] != "30" || def.Columns[0].Value != "" ||
		def.Columns[0].PrevText != "Previous page views (Feb 23, 2026): 30" {
		t.Errorf("default: metric %q, axis %v, step 0 %+v", def.Metric, def.YLabels, def.Columns[0])
	}
	if short := buildChart(cur, prev[1:], "day", false, chartMetricOf("visitors")); short.PrevLine != "" || short.Columns[0].PrevText != "" {
		t.Errorf("a previous series of 6 steps for 7 was drawn: %q", short.PrevLine)
	}
}

// TestMetricLinks: the tiles of the chart's metrics link to the page with
// their metric, the rest of the query kept; the chosen one is current and
// links back to the default; other tiles are not links.
func TestMetricLinks(t *testing.T) {
	t.Parallel()
	kpis := []kpi{{ID: "pageViews"}, {ID: "visitors"}, {ID: "newVisitors"}, {ID: "bounceRate"}, {ID: "avgDuration"}}
	self := func(q url.Values) string { return "/s?" + q.Encode() }
	metricLinks(kpis, chartMetricOf("bounce"), url.Values{"period": {"7d"}, "filter": {"country:DE"}}, self)
	want := []string{"/s?filter=country%3ADE&metric=pageviews&period=7d", "/s?filter=country%3ADE&metric=visitors&period=7d", "",
		"/s?filter=country%3ADE&period=7d", "/s?filter=country%3ADE&metric=duration&period=7d"}
	for i, k := range kpis {
		if k.Href != want[i] || k.Current != (k.ID == "bounceRate") {
			t.Errorf("%s: %q current %v, want %q", k.ID, k.Href, k.Current, want[i])
		}
	}
}
