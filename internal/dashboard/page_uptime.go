package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/uptime"
)

// uptimeIntervals are the "Check every" choices of the website settings,
// in minutes.
var uptimeIntervals = []int{1, 5, 10, 15, 30, 60}

// statusDot is a website's uptime state as a coloured dot and the words
// that say the same (colour alone says nothing to some readers).
type statusDot struct {
	Class string // dot-up, dot-down or dot-none
	Text  string
}

func dotOf(site *core.Record) statusDot {
	if !site.GetBool("uptimeMonitoring") {
		return statusDot{"dot-none", "Monitoring off"}
	}
	switch site.GetString("currentStatus") {
	case "up":
		return statusDot{"dot-up", "Up"}
	case "down":
		return statusDot{"dot-down", "Down"}
	}
	return statusDot{"dot-none", "Not checked yet"}
}

// uptimeWindow is one uptime percentage of the page.
type uptimeWindow struct {
	Name, Label, Value string
}

// incidentRow is a down period in the incident list.
type incidentRow struct {
	Start, End time.Time // End zero: ongoing
	Duration   string
	Error      string
	Status     int
}

// periodChoice is a link of the period switcher.
type periodChoice struct {
	Label, Href string
	Current     bool
}

type uptimePageData struct {
	Site      siteView
	Home      string // the URL the checks fetch
	Dot       statusDot
	Report    *uptime.Report
	Interval  string
	Windows   []uptimeWindow
	Periods   []periodChoice
	Period    string
	Chart     uptimeChart
	Incidents []incidentRow
}

// uptimePeriods are the page's periods, by their query value.
var uptimePeriods = []struct{ name, label string }{{"24h", "24 hours"}, {"7d", "7 days"}, {"30d", "30 days"}, {"90d", "90 days"}}

func (s *server) uptimePage(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	period := r.URL.Query().Get("period")
	i := slices.IndexFunc(uptime.Windows, func(w struct {
		Name string
		Span time.Duration
	}) bool {
		return w.Name == period
	})
	if i < 0 {
		i, period = 0, uptime.Windows[0].Name
	}
	span := uptime.Windows[i].Span
	now := s.opts.Now()
	rep, err := uptime.Read(s.app, site, span, now)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	view := s.viewSite(site)
	if !access.Can(s.app, u.rec, site, access.Admin) {
		view.EditURL = ""
	}
	d := uptimePageData{Site: view, Home: websiteHome(site), Dot: dotOf(site), Report: rep, Period: period,
		Interval: intervalText(rep.Interval), Chart: buildUptimeChart(rep.Points, now.Add(-span), now)}
	for _, p := range uptimePeriods {
		d.Periods = append(d.Periods, periodChoice{Label: p.label, Current: p.name == period,
			Href: sitePath(site.Id, "uptime", url.Values{"period": {p.name}})})
	}
	for _, p := range uptimePeriods {
		v := "No checks"
		if pct := rep.Uptime[p.name]; pct != nil {
			v = fmt.Sprintf("%.2f%%", *pct)
		}
		d.Windows = append(d.Windows, uptimeWindow{Name: p.name, Label: p.label, Value: v})
	}
	for _, in := range rep.Incidents {
		d.Incidents = append(d.Incidents, incidentRow{Start: in.Start, End: in.End, Duration: humanDuration(in.Duration),
			Error: in.Error, Status: in.Status})
	}
	s.render(w, http.StatusOK, "uptime", pageFor(u, "Uptime · "+site.GetString("name"), "", d))
}

// intervalText is a check interval in seconds, in minutes when whole.
func intervalText(sec int) string {
	if sec%60 == 0 {
		if sec == 60 {
			return "minute"
		}
		return fmt.Sprintf("%d minutes", sec/60)
	}
	return fmt.Sprintf("%d seconds", sec)
}

// humanDuration writes milliseconds as days, hours, minutes and seconds,
// the two largest units only.
func humanDuration(ms int64) string {
	sec := float64(max(ms, 0)) / 1000
	if sec < 24*3600 {
		return formatDuration(sec)
	}
	d := time.Duration(sec) * time.Second
	return fmt.Sprintf("%dd %02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// uptimeChart is the response-time chart: a line of the up checks' times
// and a red band at every down check, on a time axis over the period
// (a gap without checks stays a gap).
type uptimeChart struct {
	Empty   bool
	Line    string // polyline points
	Down    []chartBand
	YLabels []string
	XLabels []string
	Summary string // the chart in words
}

type chartBand struct{ X, W string }

// maxChartPoints bounds the chart's points: 90 days of one-minute checks
// are averaged into this many buckets.
const maxChartPoints = 600

func buildUptimeChart(points []uptime.Point, from, to time.Time) uptimeChart {
	c := uptimeChart{}
	if len(points) == 0 || !to.After(from) {
		c.Empty = true
		return c
	}
	span := to.Sub(from)
	bucket := span / maxChartPoints
	type agg struct {
		sum  float64
		n    int
		down bool
	}
	var slots []agg
	var times []time.Time
	for _, p := range points {
		k := int(p.Time.Sub(from) / bucket)
		if k < 0 || k >= maxChartPoints {
			continue
		}
		if len(times) == 0 || int(times[len(times)-1].Sub(from)/bucket) != k {
			slots = append(slots, agg{})
			times = append(times, from.Add(time.Duration(k)*bucket))
		}
		a := &slots[len(slots)-1]
		if p.Up {
			a.sum += p.ResponseTime
			a.n++
		} else {
			a.down = true
		}
	}
	if len(slots) == 0 {
		c.Empty = true
		return c
	}
	top := 0.0
	for _, a := range slots {
		if a.n > 0 {
			top = max(top, a.sum/float64(a.n))
		}
	}
	ceil := niceCeil(int(top + 0.999))
	x := func(t time.Time) float64 { return float64(t.Sub(from)) / float64(span) * chartW }
	w := max(chartW/maxChartPoints, 2)
	var line strings.Builder
	downs := 0
	for i, a := range slots {
		if a.down {
			downs++
			c.Down = append(c.Down, chartBand{X: f(x(times[i])), W: f(w)})
		}
		if a.n > 0 {
			ms := a.sum / float64(a.n)
			fmt.Fprintf(&line, "%s,%s ", f(x(times[i])+w/2), f(chartH-ms/float64(ceil)*chartH))
		}
	}
	c.Line = strings.TrimSpace(line.String())
	c.YLabels = []string{formatInt(ceil) + " ms", formatInt(ceil/2) + " ms", "0 ms"}
	label := "Jan 2 15:04"
	c.XLabels = []string{from.UTC().Format(label), from.Add(span / 2).UTC().Format(label), to.UTC().Format(label) + " UTC"}
	c.Summary = fmt.Sprintf("Response time in milliseconds, up to %s ms; %d of %d time slots had a down check (red bands)",
		formatInt(ceil), downs, len(slots))
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
