package dashboard

import (
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
			c := buildChart(series, "hour", partial)
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
	c := buildChart(months, "month", true)
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
