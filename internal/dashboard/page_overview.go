package dashboard

import (
	"net/http"

	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/live"
	"github.com/skopos-go/skopos/internal/stats"
)

type overviewRow struct {
	siteView
	PageViews, Visitors int
	ActiveUsers         int
	Err                 bool
	// Live: the card's "active now" is in ActiveURL's stream.
	Live bool
	// Dot is the uptime status, linking to UptimeURL.
	Dot       statusDot
	UptimeURL string
}

type overviewData struct {
	Sites []overviewRow
	// ActiveURL is the one stream of every card's "active now" (a stream
	// per card would use up the browser's connections to the host): the
	// first live.MaxActiveSites cards with figures; empty without a live
	// hub. Cards beyond keep the figure of the page load.
	ActiveURL string
}

func (s *server) overview(w http.ResponseWriter, r *http.Request, u *user) {
	sites, err := s.visibleSites(u)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	now := s.opts.Now()
	rows := make([]overviewRow, 0, len(sites))
	var streamed []string
	for _, site := range sites {
		row := overviewRow{siteView: s.withSDK(r.Context(), site), Dot: dotOf(site), UptimeURL: sitePath(site.Id, "uptime", nil)}
		if !access.Can(s.app, u.rec, site, access.Admin) {
			row.EditURL = ""
		}
		today, _ := stats.ParsePeriodIn("today", "", "", now, stats.SiteLocation(site))
		rep, err := stats.Query(r.Context(), s.app, site.Id, stats.Request{Period: today, Top: 1, Now: now})
		if err != nil {
			s.app.Logger().Error("skopos dashboard: overview stats", "website", site.Id, "error", err)
			row.Err = true
		} else {
			row.PageViews, row.Visitors = int(rep.PageViews.Value), int(rep.Visitors.Value)
			row.ActiveUsers = rep.ActiveUsers
			if s.opts.Live != nil && len(streamed) < live.MaxActiveSites {
				row.Live = true
				streamed = append(streamed, site.Id)
			}
		}
		rows = append(rows, row)
	}
	d := overviewData{Sites: rows, ActiveURL: s.activeURL(streamed)}
	s.render(w, http.StatusOK, "overview", pageFor(u, "Overview", "overview", d))
}
