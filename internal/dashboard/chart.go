package dashboard

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/stats"
)

// Chart geometry in SVG user units. The SVG stretches to its box
// (preserveAspectRatio none, strokes non-scaling), and the axis labels are
// HTML beside it, so the text stays readable at phone width.
const (
	chartW = 1000.0
	chartH = 300.0
)

// maxXLabels is how many dates the x axis names at most: enough to read
// a month by its weeks, few enough not to collide on a phone.
const maxXLabels = 7

type chart struct {
	Empty   bool
	Area    string // path of the page-views area
	PVLine  string // polyline points of the finished steps
	VisLine string
	// PVPartial and VisPartial continue the lines into the current step,
	// which is not over yet: drawn dashed so that a low last point does
	// not read as a drop
	PVPartial, VisPartial string
	Grid                  []string // y of each horizontal grid line, top first
	YLabels               []string // their values, top first
	XLabels               []string
	Columns               []chartColumn
	Unit                  string
	UnitLabel             string // the table's first column: Hour, Day, Week, Month
	MaxValue              int
	Intervals             []intervalLink
}

// chartColumn is a hover target per point; its data attributes feed the
// crosshair and tooltip of app.js, its <title> the same without script.
type chartColumn struct {
	X, W, Mid string
	Title     string
	Label     string
	PV        int
	Vis       int
	Partial   bool
}

// intervalLink switches the chart's step (stats.Intervals).
type intervalLink struct {
	Label, Href string
	Current     bool
}

// buildChart draws series, whose steps are unit long; partial says the
// last step is still running (the period reaches now).
func buildChart(series []stats.Point, unit string, partial bool) chart {
	c := chart{Unit: unit, UnitLabel: unitLabel(unit)}
	if len(series) == 0 {
		c.Empty = true
		return c
	}
	peak := 0
	for _, p := range series {
		peak = max(peak, p.PageViews, p.Visitors)
	}
	top, step := niceScale(peak)
	c.MaxValue = top
	for v := top; v >= 0; v -= step {
		c.YLabels = append(c.YLabels, formatInt(v))
		c.Grid = append(c.Grid, f(min(max(chartH-float64(v)/float64(top)*chartH, 0.5), chartH-0.5)))
	}
	// the axis names steps briefly; the table and tooltip in full
	label := func(i int) string { return stepLabel(series[i].Time, unit, series[0].Time, true) }
	n := len(series)
	for _, i := range labelIndexes(n, maxXLabels) {
		c.XLabels = append(c.XLabels, stepLabel(series[i].Time, unit, series[0].Time, false))
	}

	x := func(i int) float64 {
		if n == 1 {
			return chartW / 2
		}
		return float64(i) * chartW / float64(n-1)
	}
	y := func(v int) float64 { return chartH - float64(v)/float64(top)*chartH }
	line := func(from, to int, v func(stats.Point) int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "%s,%s ", f(x(i)), f(y(v(series[i]))))
		}
		return strings.TrimSpace(b.String())
	}
	pv := func(p stats.Point) int { return p.PageViews }
	vis := func(p stats.Point) int { return p.Visitors }
	switch {
	case n == 1:
		// one point (today in its first hour) would draw no line at all:
		// draw its level across the chart
		p := series[0]
		c.PVLine = fmt.Sprintf("%[3]s,%[1]s %[2]s,%[1]s", f(y(p.PageViews)), f(chartW), f(0))
		c.VisLine = fmt.Sprintf("%[3]s,%[1]s %[2]s,%[1]s", f(y(p.Visitors)), f(chartW), f(0))
	case partial:
		c.PVLine, c.VisLine = line(0, n-2, pv), line(0, n-2, vis)
		c.PVPartial, c.VisPartial = line(n-2, n-1, pv), line(n-2, n-1, vis)
	default:
		c.PVLine, c.VisLine = line(0, n-1, pv), line(0, n-1, vis)
	}
	first, last := x(0), x(n-1)
	if n == 1 {
		first, last = 0, chartW
	}
	all := c.PVLine
	if c.PVPartial != "" {
		all += " " + strings.SplitN(c.PVPartial, " ", 2)[1]
	}
	c.Area = "M" + f(first) + "," + f(chartH) + " L" + strings.ReplaceAll(all, " ", " L") +
		" L" + f(last) + "," + f(chartH) + " Z"
	w := chartW / float64(max(n-1, 1))
	for i, p := range series {
		left := max(x(i)-w/2, 0)
		col := chartColumn{
			X: f(left), W: f(min(w, chartW-left)), Mid: f(x(i)), Label: label(i),
			PV: p.PageViews, Vis: p.Visitors, Partial: partial && i == n-1,
		}
		col.Title = fmt.Sprintf("%s: %s page views, %s visitors", col.Label, formatInt(p.PageViews), formatInt(p.Visitors))
		if col.Partial {
			col.Title += " (so far)"
		}
		c.Columns = append(c.Columns, col)
	}
	return c
}

// intervalLinks are the steps p can be drawn in, each linking to self
// with it; by hour only up to stats.MaxHourlyDays.
func intervalLinks(p stats.Period, q url.Values, self func(url.Values) string) []intervalLink {
	var out []intervalLink
	for _, iv := range stats.Intervals {
		if _, err := p.WithInterval(iv); err != nil {
			continue
		}
		if iv != "hour" && p.To.Sub(p.From) <= 24*time.Hour+time.Hour && iv != p.Interval {
			continue // one day by day, week or month is one point
		}
		out = append(out, intervalLink{Label: unitLabel(iv), Href: self(with(q, "interval", iv)), Current: iv == p.Interval})
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

func unitLabel(unit string) string {
	switch unit {
	case "hour":
		return "Hour"
	case "week":
		return "Week"
	case "month":
		return "Month"
	}
	return "Day"
}

// stepLabel names the step starting at t (in the site's zone): the hour
// (with its day when the series spans several, or in full), the day, the
// week's first day, or the month; in full with the year.
func stepLabel(t time.Time, unit string, first time.Time, full bool) string {
	switch {
	case unit == "hour" && full:
		return t.Format("Jan 2, 2006 15:00")
	case unit == "hour":
		if t.YearDay() != first.YearDay() || t.Year() != first.Year() {
			return t.Format("Jan 2 15:00")
		}
		return t.Format("15:00")
	case unit == "week" && full:
		return "Week of " + t.Format("Jan 2, 2006")
	case unit == "week":
		return "Week of " + t.Format("Jan 2")
	case unit == "month":
		return t.Format("Jan 2006")
	case full:
		return t.Format("Jan 2, 2006")
	}
	return t.Format("Jan 2")
}

// labelIndexes picks at most k of n indexes, evenly spread, the first
// and the last included.
func labelIndexes(n, k int) []int {
	if n <= k {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, k)
	for j := range out {
		out[j] = int(math.Round(float64(j) * float64(n-1) / float64(k-1)))
	}
	return out
}

// niceScale returns the axis top and its step: the step is 1, 2 or 5
// times a power of ten, the smallest such that at most 5 steps reach the
// peak (a peak of 210 gets 0–250 by 50, not 0–500).
func niceScale(peak int) (top, step int) {
	if peak <= 0 {
		return 4, 1
	}
	raw := float64(peak) / 5
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw {
			step = max(int(m*pow), 1)
			break
		}
	}
	top = (peak + step - 1) / step * step
	if top == peak && top/step < 3 {
		top += step
	}
	return top, step
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
