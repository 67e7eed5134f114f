package dashboard

import (
	"net/http"

	"github.com/skopos-go/skopos/internal/stats"
)

type payloadRow struct {
	Data  string
	Count int
}

type eventsData struct {
	Site    siteView
	Period  periodView
	Name    string
	Rows    []payloadRow
	Total   int
	BackURL string
	Limited bool
}

// payloadLimit bounds the distinct payloads listed.
const payloadLimit = 200

func (s *server) eventDrill(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	name := r.URL.Query().Get("name")
	rows, err := stats.EventPayloads(r.Context(), s.app.DB(), site.Id, name, p, payloadLimit+1)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := eventsData{Site: s.viewSite(site), Period: viewPeriod(p), Name: name, BackURL: siteURL(site.Id, periodQuery(p))}
	if len(rows) > payloadLimit {
		rows, d.Limited = rows[:payloadLimit], true
	}
	for _, row := range rows {
		d.Rows = append(d.Rows, payloadRow{Data: prettyJSON(row.Data), Count: row.Count})
		d.Total += row.Count
	}
	s.render(w, http.StatusOK, "events", pageFor(u, name+" · "+site.GetString("name"), "", d))
}
