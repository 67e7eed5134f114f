package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/skopos-go/skopos/internal/stats"
)

// topN is how many keys each report card lists.
const topN = 10

type kpi struct {
	Label, Hint string
	Value       string
	Previous    string
	Change      string
	Trend       string // up, down, flat
	Good        string // good, bad, neutral
	ID          string // element id, for tests and links
}

func makeKPI(id, label, hint string, m stats.Metric, format func(float64) string, lowerIsBetter bool) kpi {
	k := kpi{ID: id, Label: label, Hint: hint, Value: format(m.Value), Previous: format(m.Previous)}
	switch {
	case m.Previous == 0 && m.Value > 0:
		// "+100 %" would be a made-up figure: there is nothing to compare with
		k.Trend, k.Change, k.Good = "up", "new", "neutral"
		return k
	case m.Change > 0:
		k.Trend, k.Change = "up", fmt.Sprintf("+%d%%", m.Change)
	case m.Change < 0:
		k.Trend, k.Change = "down", fmt.Sprintf("−%d%%", -m.Change)
	default:
		k.Trend, k.Change = "flat", "0%"
	}
	k.Good = "neutral"
	if m.Change != 0 {
		if (m.Change > 0) != lowerIsBetter {
			k.Good = "good"
		} else {
			k.Good = "bad"
		}
	}
	return k
}

type card struct {
	ID, Title, KeyLabel string
	Items               []cardItem
}

type cardItem struct {
	Key   string
	Count int
	Share string // bar width 0–100 (an SVG attribute: CSP forbids inline styles)
	Href  string
}

var cardDefs = []struct{ dim, title, keyLabel string }{
	{"page", "Pages", "Page"},
	{"entryPage", "Entry pages", "Page"},
	{"exitPage", "Exit pages", "Page"},
	{"referrer", "Referrers", "Referrer"},
	{"country", "Countries", "Country"},
	{"device", "Devices", "Device"},
	{"browser", "Browsers", "Browser"},
	{"os", "Operating systems", "OS"},
	{"language", "Languages", "Language"},
	{"customEvent", "Custom events", "Event"},
	{"jsError", "JS errors", "Message"},
}

// otherKey is the summaries' bucket for keys beyond the per-day cap.
const otherKey = "(other)"

func emptyKeyLabel(dim string) string {
	switch dim {
	case "referrer":
		return "(direct)"
	case "country", "device", "browser", "os", "language":
		return "Unknown"
	}
	return "(none)"
}

type sitePageData struct {
	Site        siteView
	Period      periodView
	KPIs        []kpi
	Chart       chart
	Cards       []card
	ActiveUsers int
	LiveURL     string
	SessionsURL string
	FormAction  string
}

func (s *server) sitePage(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	rep, err := stats.Query(r.Context(), s.app, site.Id, stats.Request{Period: p, Top: topN, Now: s.opts.Now()})
	if err != nil {
		if errors.Is(err, stats.ErrBadPeriod) {
			s.fail(w, r, u, http.StatusBadRequest, badPeriod(err))
			return
		}
		s.internal(w, r, u, err)
		return
	}
	pq := periodQuery(p)
	d := sitePageData{
		Site: s.viewSite(site), Period: viewPeriod(p), ActiveUsers: rep.ActiveUsers,
		LiveURL: sitePath(site.Id, "live", nil), SessionsURL: sitePath(site.Id, "sessions", pq),
		FormAction: siteURL(site.Id, nil),
		Chart:      buildChart(rep.Series, rep.SeriesUnit),
		KPIs: []kpi{
			makeKPI("pageViews", "Page views", "", rep.PageViews, count, false),
			makeKPI("visitors", "Visitors", "Sessions started in the period", rep.Visitors, count, false),
			makeKPI("newVisitors", "New visitors", "Sessions that were a visitor's first", rep.NewVisitors, count, false),
			makeKPI("returningVisitors", "Returning visitors", "Sessions of visitors seen before", rep.ReturningVisitors, count, false),
			makeKPI("engagementRate", "Engagement rate", "Share of sessions that engaged", rep.EngagementRate, percent, false),
			makeKPI("bounceRate", "Bounce rate", "Share of sessions with at most one page view or event", rep.BounceRate, percent, true),
			makeKPI("avgDuration", "Avg. duration", "Average session duration", rep.AvgDuration, formatDuration, false),
		},
	}
	if rep.JSErrors != nil {
		d.KPIs = append(d.KPIs, makeKPI("jsErrors", "JS errors", "", *rep.JSErrors, count, true))
	}
	for _, def := range cardDefs {
		items := rep.Top[def.dim]
		c := card{ID: def.dim, Title: def.title, KeyLabel: def.keyLabel}
		top := 0
		for _, it := range items {
			top = max(top, it.Count)
		}
		for _, it := range items {
			ci := cardItem{Key: it.Key, Count: it.Count, Share: "0"}
			if top > 0 {
				ci.Share = strconv.Itoa(max(1, it.Count*100/top))
			}
			if it.Key == "" {
				ci.Key = emptyKeyLabel(def.dim)
			}
			if it.Key != otherKey {
				switch def.dim {
				case "customEvent":
					ci.Href = sitePath(site.Id, "events", with(pq, "name", it.Key))
				case "jsError":
					ci.Href = sitePath(site.Id, "errors", with(pq, "message", it.Key))
				}
			}
			c.Items = append(c.Items, ci)
		}
		d.Cards = append(d.Cards, c)
	}
	s.render(w, http.StatusOK, "site", pageFor(u, site.GetString("name"), "", d))
}
