package dashboard

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/skopos-go/skopos/internal/stats"
)

// Chart geometry in SVG user units. The SVG stretches to its box
// (preserveAspectRatio none, strokes non-scaling), and the axis labels are
// HTML beside it, so the text stays readable at phone width.
const (
	chartW = 1000.0
	chartH = 300.0
)

type chart struct {
	Empty    bool
	Area     string // path of the page-views area
	PVLine   string // polyline points
	VisLine  string
	YLabels  []string // top, middle, bottom
	XLabels  []string // first, middle, last
	Columns  []chartColumn
	Unit     string
	MaxValue int
}

// chartColumn is an invisible hover target with a tooltip per point.
type chartColumn struct {
	X, W  string
	Title string
	Label string
	PV    int
	Vis   int
}

func buildChart(series []stats.Point, unit string) chart {
	c := chart{Unit: unit}
	if len(series) == 0 {
		c.Empty = true
		return c
	}
	top := 0
	for _, p := range series {
		top = max(top, p.PageViews, p.Visitors)
	}
	top = niceCeil(top)
	c.MaxValue = top
	c.YLabels = []string{formatInt(top), formatInt(top / 2), "0"}
	label := func(i int) string {
		t := series[i].Time // in the website's time zone
		if unit == "hour" {
			return t.Format("Jan 2 15:00")
		}
		return t.Format("Jan 2, 2006")
	}
	c.XLabels = []string{label(0), label(len(series) / 2), label(len(series) - 1)}
	if len(series) == 1 {
		c.XLabels = c.XLabels[:1]
	}

	n := len(series)
	x := func(i int) float64 {
		if n == 1 {
			return chartW / 2
		}
		return float64(i) * chartW / float64(n-1)
	}
	y := func(v int) float64 { return chartH - float64(v)/float64(top)*chartH }
	var pv, vis strings.Builder
	for i, p := range series {
		fmt.Fprintf(&pv, "%s,%s ", f(x(i)), f(y(p.PageViews)))
		fmt.Fprintf(&vis, "%s,%s ", f(x(i)), f(y(p.Visitors)))
	}
	if n == 1 {
		// one point (today in its first hour) would draw no line at all:
		// draw its level across the chart
		p := series[0]
		pv.Reset()
		vis.Reset()
		fmt.Fprintf(&pv, "%[3]s,%[1]s %[2]s,%[1]s", f(y(p.PageViews)), f(chartW), f(0))
		fmt.Fprintf(&vis, "%[3]s,%[1]s %[2]s,%[1]s", f(y(p.Visitors)), f(chartW), f(0))
	}
	c.PVLine = strings.TrimSpace(pv.String())
	c.VisLine = strings.TrimSpace(vis.String())
	first, last := x(0), x(n-1)
	if n == 1 {
		first, last = 0, chartW
	}
	c.Area = "M" + f(first) + "," + f(chartH) + " L" + strings.ReplaceAll(c.PVLine, " ", " L") +
		" L" + f(last) + "," + f(chartH) + " Z"
	step := chartW / float64(max(n-1, 1))
	for i, p := range series {
		left := x(i) - step/2
		c.Columns = append(c.Columns, chartColumn{
			X: f(max(left, 0)), W: f(min(step, chartW-max(left, 0))), Label: label(i),
			Title: fmt.Sprintf("%s: %s page views, %s visitors", label(i), formatInt(p.PageViews), formatInt(p.Visitors)),
			PV:    p.PageViews, Vis: p.Visitors,
		})
	}
	return c
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten (an axis a person
// can read), at least 2 so the middle label is a whole number.
func niceCeil(v int) int {
	if v <= 10 {
		return max(2, v+v%2)
	}
	p := 10
	for p*10 < v {
		p *= 10
	}
	for _, m := range []int{1, 2, 5} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
