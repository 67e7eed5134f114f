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
	Rows             []sessionRow
	PrevURL, NextURL string
	BackURL          string
	Page             int
}

func (s *server) sessionList(w http.ResponseWriter, r *http.Request, rd *reader) {
	site, u := rd.site, rd.u
	p, ok := s.readPeriod(w, r, rd)
	if !ok {
		return
	}
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	listed, err := stats.Sessions(r.Context(), s.app.DB(), site.Id, p, pageSize+1, (pg-1)*pageSize)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	pq := periodQuery(p)
	d := sessionsData{Site: s.viewSite(site), Period: viewPeriod(p), Page: pg, BackURL: siteURL(site.Id, pq)}
	if len(listed) > pageSize {
		listed = listed[:pageSize]
		d.NextURL = sitePath(site.Id, "sessions", with(pq, "page", strconv.Itoa(pg+1)))
	}
	if pg > 1 {
		d.PrevURL = sitePath(site.Id, "sessions", with(pq, "page", strconv.Itoa(pg-1)))
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
