package dashboard

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/worldmap"
)

// pageSize is the sessions list's page length.
const pageSize = 50

// sessionRow is a listed session with its link and display duration.
type sessionRow struct {
	stats.SessionRow
	Href     string
	UserHref string // the user's page; "" when not identified
	Duration string
}

type sessionsData struct {
	Site             siteView
	Period           periodView
	Filters          filterView
	Rows             []sessionRow
	PrevURL, NextURL string
	BackURL          string
	Page             int
}

// sessionList lists the sessions the site page's visitors figure
// counts, under the same period, filters and segment.
func (s *server) sessionList(w http.ResponseWriter, r *http.Request, rd *reader) {
	site, u := rd.site, rd.u
	req, leave, ok := s.readView(w, r, rd)
	if !ok {
		return
	}
	defer leave()
	p := req.Period
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	listed, err := stats.Sessions(r.Context(), s.app, site.Id, req, pageSize+1, (pg-1)*pageSize)
	if err != nil {
		s.queryFailed(w, r, u, err)
		return
	}
	self := func(q url.Values) string { return rd.url("sessions", q) }
	vq := rd.viewQuery(p)
	d := sessionsData{Site: s.viewSite(site), Period: viewPeriod(p), Filters: rd.filters(p, self), Page: pg,
		BackURL: rd.url("", vq)}
	if len(listed) > pageSize {
		listed = listed[:pageSize]
		d.NextURL = self(with(vq, "page", strconv.Itoa(pg+1)))
	}
	if pg > 1 {
		d.PrevURL = self(with(vq, "page", strconv.Itoa(pg-1)))
	}
	for _, row := range listed {
		row.Country = worldmap.Name(row.Country)
		d.Rows = append(d.Rows, sessionRow{SessionRow: row,
			Href:     sitePath(site.Id, "sessions/"+url.PathEscape(row.ID), nil),
			Duration: formatDuration(row.LastActivity.Time().Sub(row.StartedAt.Time()).Seconds())})
		if row.UserID != "" {
			d.Rows[len(d.Rows)-1].UserHref = userURL(site.Id, row.UserID)
		}
	}
	s.render(w, http.StatusOK, "sessions", pageFor(u, "Sessions · "+site.GetString("name"), "", d))
}
