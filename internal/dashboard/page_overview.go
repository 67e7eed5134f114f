package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/live"
	"github.com/skopos-go/skopos/internal/stats"
)

type overviewRow struct {
	siteView
	PageViews   int
	Visitors    kpi // with the change against the previous period
	ActiveUsers int
	// Spark is the visitors per step of the period; nil without figures.
	Spark *sparkline
	Err   bool
	// Live: the card's "active now" is in ActiveURL's stream.
	Live bool
	// Dot is the uptime status, linking to UptimeURL.
	Dot       statusDot
	UptimeURL string
}

type overviewData struct {
	Sites []overviewRow
	// Period is the period picker's (each card counts its website's
	// days in the website's time zone).
	Period periodView
	// ActiveURL is the one stream of every card's "active now" (a stream
	// per card would use up the browser's connections to the host): the
	// first live.MaxActiveSites cards with figures; empty without a live
	// hub. Cards beyond keep the figure of the page load.
	ActiveURL string
}

// overview shows each visible website's figures for ?period= (the site
// page's periods; default today), in the website's time zone: page
// views, visitors with their change against the previous period and a
// sparkline of visitors per step, and who is active now.
func (s *server) overview(w http.ResponseWriter, r *http.Request, u *user) {
	sites, err := s.visibleSites(u)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	if q := r.URL.Query(); q.Get("period") == "" && q.Get("from") == "" && q.Get("to") == "" {
		// s.period defaults to the site page's 7 days; here it is today
		r = r.Clone(r.Context())
		r.URL.RawQuery = with(q, "period", "today").Encode()
	}
	now := s.opts.Now()
	// each website's days in its time zone; the picker shows the first's
	periods := make([]stats.Period, len(sites))
	for i, site := range sites {
		if periods[i], err = s.period(r, site); err != nil {
			s.fail(w, r, u, http.StatusBadRequest, badPeriod(err))
			return
		}
	}
	d := overviewData{Sites: make([]overviewRow, 0, len(sites))}
	if len(periods) > 0 {
		d.Period = viewPeriod(periods[0])
	} else if p, err := stats.ParsePeriodIn("today", "", "", now, time.UTC); err == nil {
		d.Period = viewPeriod(p)
	}
	var streamed []string
	for i, site := range sites {
		row := overviewRow{siteView: s.withSDK(r.Context(), site), Dot: dotOf(site), UptimeURL: sitePath(site.Id, "uptime", nil)}
		if !access.Can(s.app, u.rec, site, access.Admin) {
			row.EditURL = ""
		}
		p := periods[i]
		row.StatsURL = siteURL(site.Id, periodQuery(p))
		rep, err := stats.Query(r.Context(), s.app, site.Id, stats.Request{Period: p, Top: 1, Now: now, ClickHouse: s.opts.ClickHouse})
		if err != nil {
			s.app.Logger().Error("skopos dashboard: overview stats", "website", site.Id, "error", err)
			row.Err = true
		} else {
			row.PageViews, row.ActiveUsers = int(rep.PageViews.Value), rep.ActiveUsers
			row.Visitors = makeKPI("visitors", "Visitors", "", rep.Visitors, count, false)
			row.Spark = makeSparkline(site.GetString("name"), rep.Series, rep.SeriesUnit)
			if s.opts.Live != nil && len(streamed) < live.MaxActiveSites {
				row.Live = true
				streamed = append(streamed, site.Id)
			}
		}
		d.Sites = append(d.Sites, row)
	}
	d.ActiveURL = s.activeURL(streamed)
	s.render(w, http.StatusOK, "overview", pageFor(u, "Overview", "overview", d))
}

// sparkline is a small inline chart of visitors per step, drawn by the
// server (no script): Points in a 100×24 box, the top the busiest step.
type sparkline struct {
	Points string
	// Title reads the figures out: "Blog: visitors per day, 3 to 12".
	Title string
}

// makeSparkline draws series (nil for fewer than two steps: a line
// needs two points).
func makeSparkline(name string, series []stats.Point, unit string) *sparkline {
	if len(series) < 2 {
		return nil
	}
	lo, hi := series[0].Visitors, series[0].Visitors
	for _, pt := range series {
		lo, hi = min(lo, pt.Visitors), max(hi, pt.Visitors)
	}
	var b strings.Builder
	for i, pt := range series {
		x := float64(i) * 100 / float64(len(series)-1)
		y := 23.0 // a flat zero line sits at the bottom
		if hi > 0 {
			y = 23 - float64(pt.Visitors)*22/float64(hi)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'f', 1, 64) + "," + strconv.FormatFloat(y, 'f', 1, 64))
	}
	return &sparkline{Points: b.String(),
		Title: fmt.Sprintf("%s: visitors per %s, %s to %s", name, unit, formatInt(float64(lo)), formatInt(float64(hi)))}
}
