package dashboard

import (
	"net/http"
	"slices"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// visibleSites lists the websites u may see (access.VisibleSites) by name.
func (s *server) visibleSites(u *user) ([]*core.Record, error) {
	recs, err := access.VisibleSites(s.app, u.rec)
	slices.SortFunc(recs, func(a, b *core.Record) int {
		return strings.Compare(strings.ToLower(a.GetString("name")), strings.ToLower(b.GetString("name")))
	})
	return recs, err
}

// siteAndPeriod loads the {id} website and the requested period, or
// answers 404 / 400 itself and returns ok=false.
func (s *server) siteAndPeriod(w http.ResponseWriter, r *http.Request, u *user) (*core.Record, stats.Period, bool) {
	site := s.siteFor(r, u)
	if site == nil {
		s.notFound(w, r, u)
		return nil, stats.Period{}, false
	}
	p, err := s.period(r, site)
	if err != nil {
		s.fail(w, r, u, http.StatusBadRequest, badPeriod(err))
		return nil, stats.Period{}, false
	}
	return site, p, true
}

// siteFor loads the website of the {id} path value if u may see it.
func (s *server) siteFor(r *http.Request, u *user) *core.Record {
	rec, err := s.app.FindRecordById(schema.Websites, r.PathValue("id"))
	if err != nil || !access.CanView(u.rec, rec) {
		return nil
	}
	return rec
}
