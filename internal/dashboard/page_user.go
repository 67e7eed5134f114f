package dashboard

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/visitors"
	"github.com/skopos-go/skopos/internal/worldmap"
)

// userURL is the page of the user userID of the website with id siteID.
func userURL(siteID, userID string) string {
	return sitePath(siteID, "users/"+url.PathEscape(userID), nil)
}

// userSession is a session line of the user page.
type userSession struct {
	visitors.Session
	Href     string
	Duration string
}

type userData struct {
	Site      siteView
	User      *visitors.UserView
	Sessions  []userSession
	Duration  string // the sessions' total
	Truncated bool   // only the latest sessions are listed
	BackURL   string
	ExportURL string
	DeleteURL string // "" without Options.Erase
}

// userPage shows one identified user across every device (package
// visitors).
func (s *server) userPage(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	uv, err := visitors.UserClickHouse(r.Context(), s.app, s.opts.ClickHouse, site.Id, r.PathValue("userId"))
	if s.visitorsFailed(w, r, u, err) {
		return
	}
	d := userData{Site: s.viewSite(site), User: uv, Duration: formatDuration(float64(uv.Totals.DurationSeconds)),
		Truncated: uv.Totals.Sessions > len(uv.Sessions),
		BackURL:   sitePath(site.Id, "visitors", url.Values{"identified": {"yes"}}),
		ExportURL: sitePath(site.Id, "users/"+url.PathEscape(uv.UserID)+"/export", nil)}
	if s.opts.Erase != nil {
		d.DeleteURL = eraseURL(site.Id, erase.User, uv.UserID)
	}
	for _, ss := range uv.Sessions {
		ss.Country = worldmap.Name(ss.Country)
		d.Sessions = append(d.Sessions, userSession{Session: ss,
			Href:     sitePath(site.Id, "sessions/"+url.PathEscape(ss.ID), nil),
			Duration: formatDuration(float64(ss.DurationSeconds))})
	}
	s.render(w, http.StatusOK, "user", pageFor(u, "User · "+site.GetString("name"), "", d))
}

// userExport downloads everything stored about one user: every visitor
// (device) identified as them (the right of access).
func (s *server) userExport(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	user := r.PathValue("userId")
	ids, err := visitors.UserVisitors(r.Context(), s.app, site.Id, user)
	if s.visitorsFailed(w, r, u, err) {
		return
	}
	s.serveExport(w, r, u, site, "user-"+user, ids)
}

// visitorsFailed answers a failed read of package visitors (404 for an
// unknown user or visitor) and reports whether it did.
func (s *server) visitorsFailed(w http.ResponseWriter, r *http.Request, u *user, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, visitors.ErrNotFound):
		s.notFound(w, r, u)
	default:
		s.internal(w, r, u, err)
	}
	return true
}
