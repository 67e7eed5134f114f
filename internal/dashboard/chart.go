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
	Empty bool
	// Metric is what the chart draws (chartMetric.ID): "" both counts
	Metric string
	Title  string // the chart's heading: its metric
	Label  string // the name of the metric of the line (and of the overlay)
	Area   string // path of the area under the first line
	PVLine string // polyline points of the finished steps: the metric's (page views by default)
	// VisLine is the visitors' line beside PVLine, drawn only by default
	VisLine string
	// PVPartial and VisPartial continue the lines into the current step,
	// which is not over yet: drawn dashed so that a low last point does
	// not read as a drop
	PVPartial, VisPartial string
	// PrevLine is the previous period's line of the metric (page views by
	// default), one point per step; empty without a previous series
	PrevLine  string
	Grid      []string // y of each horizontal grid line, top first
	YLabels   []string // their values, top first
	XLabels   []string
	Columns   []chartColumn
	Unit      string
	UnitLabel string // the table's first column: Hour, Day, Week, Month
	MaxValue  int
	Intervals []intervalLink
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
	// Value is the step's figure of a chosen metric, as the tooltip
	// reads it ("" by default, which shows both counts)
	Value string
	// Prev is the previous period's figure of the step, PrevLabel its
	// step, PrevText the two as the tooltip names them ("" without a
	// previous series)
	Prev, PrevLabel, PrevText string
}

// intervalLink switches the chart's step (stats.Intervals).
type intervalLink struct {
	Label, Href string
	Current     bool
}

// chartMetric is a figure the chart can draw. Its KPI tile switches the
// chart to it (?metric=ID); the default, ID "", draws page views and
// visitors together, with the previous period's page views.
type chartMetric struct {
	ID     string // the metric= parameter
	KPI    string // the id of its KPI tile
	Title  string // the chart's heading
	Label  string // the line's name in the legend, tooltip and table
	value  func(stats.Point) float64
	scale  func(peak float64) (top, step float64)
	axis   func(float64) string // a y axis label
	format func(float64) string // the figure in the tooltip and table
}

var chartMetrics = []chartMetric{
	{"", "", "Page views and visitors", "Page views", pageViewsOf, countScale, count, count},
	{"visitors", "visitors", "Visitors", "Visitors", visitorsOf, countScale, count, count},
	{"pageviews", "pageViews", "Page views", "Page views", pageViewsOf, countScale, count, count},
	{"bounce", "bounceRate", "Bounce rate", "Bounce rate", func(p stats.Point) float64 { return p.BounceRate }, percentScale, percent, percent},
	{"duration", "avgDuration", "Visit duration", "Visit duration", func(p stats.Point) float64 { return p.AvgDurationSeconds },
		durationScale, axisDuration, formatDuration},
}

func pageViewsOf(p stats.Point) float64 { return float64(p.PageViews) }
func visitorsOf(p stats.Point) float64  { return float64(p.Visitors) }

// chartMetricOf is the metric named id (the metric= parameter); the
// default for "" or an unknown name.
func chartMetricOf(id string) chartMetric {
	for _, m := range chartMetrics {
		if m.ID == id {
			return m
		}
	}
	return chartMetrics[0]
}

// metricLinks turns the KPI tiles of the chart's metrics into links that
// switch the chart to theirs, keeping the rest of q; the chosen tile's
// link switches back to the default.
func metricLinks(kpis []kpi, current chartMetric, q url.Values, self func(url.Values) string) {
	for i := range kpis {
		for _, m := range chartMetrics[1:] {
			if kpis[i].ID != m.KPI {
				continue
			}
			kpis[i].Current = m.ID == current.ID
			mq := with(q, "metric", m.ID)
			if kpis[i].Current {
				mq.Del("metric")
			}
			kpis[i].Href = self(mq)
		}
	}
}

// buildChart draws series, whose steps are unit long, in metric m, with
// prev (the previous period, step by step; left out unless it has as
// many steps) as a faint line; partial says the last step is still
// running (the period reaches now).
func buildChart(series, prev []stats.Point, unit string, partial bool, m chartMetric) chart {
	c := chart{Unit: unit, UnitLabel: unitLabel(unit), Metric: m.ID, Title: m.Title, Label: m.Label}
	if len(series) == 0 {
		c.Empty = true
		return c
	}
	if len(prev) != len(series) {
		prev = nil
	}
	// by default the visitors' line is drawn beside the metric's
	var second func(stats.Point) float64
	if m.ID == "" {
		second = visitorsOf
	}
	peak := 0.0
	for i, p := range series {
		peak = max(peak, m.value(p))
		if second != nil {
			peak = max(peak, second(p))
		}
		if prev != nil {
			peak = max(peak, m.value(prev[i]))
		}
	}
	top, step := m.scale(peak)
	c.MaxValue = int(math.Ceil(top))
	for i := int(math.Round(top / step)); i >= 0; i-- {
		v := float64(i) * step
		c.YLabels = append(c.YLabels, m.axis(v))
		c.Grid = append(c.Grid, f(min(max(chartH-v/top*chartH, 0.5), chartH-0.5)))
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
	y := func(v float64) float64 { return chartH - v/top*chartH }
	line := func(pts []stats.Point, from, to int, v func(stats.Point) float64) string {
		if n == 1 {
			// one point (today in its first hour) would draw no line at
			// all: draw its level across the chart
			return fmt.Sprintf("%[3]s,%[1]s %[2]s,%[1]s", f(y(v(pts[0]))), f(chartW), f(0))
		}
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, "%s,%s ", f(x(i)), f(y(v(pts[i]))))
		}
		return strings.TrimSpace(b.String())
	}
	done := n - 1
	if partial && n > 1 {
		done = n - 2
		c.PVPartial = line(series, n-2, n-1, m.value)
	}
	c.PVLine = line(series, 0, done, m.value)
	if second != nil {
		c.VisLine = line(series, 0, done, second)
		if c.PVPartial != "" {
			c.VisPartial = line(series, n-2, n-1, second)
		}
	}
	if prev != nil {
		c.PrevLine = line(prev, 0, n-1, m.value)
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
		if m.ID == "" {
			col.Title = fmt.Sprintf("%s: %s page views, %s visitors", col.Label, formatInt(p.PageViews), formatInt(p.Visitors))
		} else {
			col.Value = m.format(m.value(p))
			col.Title = fmt.Sprintf("%s: %s: %s", col.Label, m.Label, col.Value)
		}
		if col.Partial {
			col.Title += " (so far)"
		}
		if prev != nil {
			col.Prev, col.PrevLabel = m.format(m.value(prev[i])), stepLabel(prev[i].Time, unit, prev[0].Time, true)
			col.PrevText = fmt.Sprintf("Previous %s (%s): %s", strings.ToLower(m.Label), col.PrevLabel, col.Prev)
			col.Title += "; " + col.PrevText
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

// countScale is niceScale for a peak that may have decimals.
func countScale(peak float64) (top, step float64) {
	t, st := niceScale(int(math.Ceil(peak)))
	return float64(t), float64(st)
}

// percentScale is 0–100 % by 20 for a peak above half (or none), else
// niceScale's steps up to the peak (a bounce rate of 33 % reads 0–40 %
// by 10).
func percentScale(peak float64) (top, step float64) {
	if peak <= 0 || peak > 50 {
		return 100, 20
	}
	return countScale(peak)
}

// durationSteps are the steps a duration axis may take, in seconds: as a
// clock divides, not 1, 2, 5 (no 50 s or 200 s).
var durationSteps = []float64{1, 2, 5, 10, 15, 30, 60, 2 * 60, 5 * 60, 10 * 60, 15 * 60, 30 * 60,
	3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600}

// durationScale returns the top and step of a duration axis: the
// smallest of durationSteps with which at most 5 steps reach the peak
// (95 s reads 0–2m by 30s); like niceScale, a peak on the top of fewer
// than 3 steps gets one more.
func durationScale(peak float64) (top, step float64) {
	if peak <= 0 {
		return 60, 15
	}
	step = durationSteps[len(durationSteps)-1]
	for _, s := range durationSteps {
		if math.Ceil(peak/s) <= 5 {
			step = s
			break
		}
	}
	top = math.Ceil(peak/step) * step
	if top == peak && top/step < 3 {
		top += step
	}
	return top, step
}

// axisDuration names a duration axis value briefly: 0s, 45s, 1m 30s, 2m,
// 1h 30m.
func axisDuration(v float64) string {
	s := int(math.Round(v))
	var parts []string
	for _, u := range []struct {
		n    int
		name string
	}{{s / 3600, "h"}, {s % 3600 / 60, "m"}, {s % 60, "s"}} {
		if u.n > 0 {
			parts = append(parts, strconv.Itoa(u.n)+u.name)
		}
	}
	if len(parts) == 0 {
		return "0s"
	}
	return strings.Join(parts, " ")
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
