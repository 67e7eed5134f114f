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

func (s *server) errorDrill(w http.ResponseWriter, r *http.Request, rd *reader) {
	site, u := rd.site, rd.u
	if rd.pinned() {
		// JS errors are not linked to sessions: no segment selects them
		s.notFound(w, r, u)
		return
	}
	p, ok := s.readPeriod(w, r, rd)
	if !ok {
		return
	}
	msg := r.URL.Query().Get("message")
	var rows []stats.JSErrorGroup
	var err error
	if ch := s.opts.ClickHouse; ch != nil {
		rows, err = stats.JSErrorGroupsClickHouse(r.Context(), ch, site.Id, msg, errorGroupLimit)
	} else {
		rows, err = stats.JSErrorGroups(r.Context(), s.app.DB(), site.Id, msg, errorGroupLimit)
	}
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := errorsData{Site: s.readerSite(rd), Message: msg, Rows: rows, BackURL: rd.url("", periodQuery(p))}
	s.render(w, http.StatusOK, "errors", rd.page("JS error · "+site.GetString("name"), d))
}
