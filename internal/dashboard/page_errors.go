package dashboard

import (
	"net/http"

	"github.com/skopos-go/skopos/internal/stats"
)

type errorsData struct {
	Site    siteView
	Message string
	Rows    []stats.JSErrorGroup
	BackURL string
}

// errorGroupLimit bounds the groups (stacks) shown for one message.
const errorGroupLimit = 20

func (s *server) errorDrill(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	msg := r.URL.Query().Get("message")
	rows, err := stats.JSErrorGroups(r.Context(), s.app.DB(), site.Id, msg, errorGroupLimit)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := errorsData{Site: s.viewSite(site), Message: msg, Rows: rows, BackURL: siteURL(site.Id, periodQuery(p))}
	s.render(w, http.StatusOK, "errors", pageFor(u, "JS error · "+site.GetString("name"), "", d))
}
