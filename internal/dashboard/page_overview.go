package dashboard

import (
	"net/http"

	"github.com/skopos-go/skopos/internal/stats"
)

type overviewRow struct {
	siteView
	PageViews, Visitors int
	ActiveUsers         int
	Err                 bool
}

func (s *server) overview(w http.ResponseWriter, r *http.Request, u *user) {
	sites, err := s.visibleSites(u)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	now := s.opts.Now()
	rows := make([]overviewRow, 0, len(sites))
	for _, site := range sites {
		row := overviewRow{siteView: s.viewSite(site)}
		today, _ := stats.ParsePeriodIn("today", "", "", now, stats.SiteLocation(site))
		rep, err := stats.Query(r.Context(), s.app, site.Id, stats.Request{Period: today, Top: 1, Now: now})
		if err != nil {
			s.app.Logger().Error("skopos dashboard: overview stats", "website", site.Id, "error", err)
			row.Err = true
		} else {
			row.PageViews, row.Visitors = int(rep.PageViews.Value), int(rep.Visitors.Value)
			row.ActiveUsers = rep.ActiveUsers
		}
		rows = append(rows, row)
	}
	s.render(w, http.StatusOK, "overview", pageFor(u, "Overview", "overview", rows))
}
