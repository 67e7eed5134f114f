package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/stats"
)

// TestChartDrawsALineForEveryPointCount: a polyline needs two points, so
// a series of one (today, in its first hour) is drawn across the chart.
func TestChartDrawsALineForEveryPointCount(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 2, 24} {
		var series []stats.Point
		for i := range n {
			series = append(series, stats.Point{Time: day.Add(time.Duration(i) * time.Hour), PageViews: 4 + i, Visitors: 2})
		}
		c := buildChart(series, "hour")
		for name, line := range map[string]string{"page views": c.PVLine, "visitors": c.VisLine} {
			pts := strings.Fields(line)
			if len(pts) < 2 || !strings.HasPrefix(pts[0], "0.0,") || !strings.HasPrefix(pts[len(pts)-1], "1000.0,") {
				t.Errorf("%d points: %s line %q does not span the chart", n, name, line)
			}
		}
		if !strings.HasSuffix(c.Area, " Z") || len(c.Columns) != n {
			t.Errorf("%d points: area %q, %d columns", n, c.Area, len(c.Columns))
		}
	}
}
