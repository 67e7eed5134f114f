package dashboard

import (
	"net/http"
	"slices"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
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

// siteFor loads the website of the {id} path value if u may see it.
func (s *server) siteFor(r *http.Request, u *user) *core.Record {
	rec, err := s.app.FindRecordById(schema.Websites, r.PathValue("id"))
	if err != nil || !access.CanView(s.app, u.rec, rec) {
		return nil
	}
	return rec
}
