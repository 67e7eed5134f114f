package dashboard

import (
	"net/http"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

type jsErrorRow struct {
	Message  string         `db:"errorMessage"`
	Stack    string         `db:"stackTrace"`
	URL      string         `db:"url"`
	Count    int            `db:"count"`
	LastSeen types.DateTime `db:"lastSeen"`
	Hash     string         `db:"errorHash"`
}

type errorsData struct {
	Site    siteView
	Message string
	Rows    []jsErrorRow
	BackURL string
}

func (s *server) errorDrill(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	msg := r.URL.Query().Get("message")
	var rows []jsErrorRow
	// The summaries key JS errors by message; one message can have several
	// groups (different stacks), all shown.
	err := s.app.DB().Select("errorMessage", "stackTrace", "url", "count", "lastSeen", "errorHash").From(schema.JSErrors).
		Where(dbx.HashExp{"website": site.Id, "errorMessage": msg}).OrderBy("lastSeen DESC").Limit(20).
		WithContext(r.Context()).All(&rows)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := errorsData{Site: s.viewSite(site), Message: msg, Rows: rows, BackURL: siteURL(site.Id, periodQuery(p))}
	s.render(w, http.StatusOK, "errors", pageFor(u, "JS error · "+site.GetString("name"), "", d))
}
