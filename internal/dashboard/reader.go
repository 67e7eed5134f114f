package dashboard

import (
	"net/http"
	"net/url"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/internal/stats"
)

// reader is who reads a website's reports, and where its pages are: a
// logged-in user under /dashboard/sites/<id>, or anyone holding a shared
// link under /share/<token>. The report pages (the site page, a custom
// event's details, a JS error's stacks) are written once for both; only
// a user gets links to what a shared link must not reach (sessions,
// settings, goals and funnels management, exports).
type reader struct {
	u    *user       // nil through a shared link
	link *share.Link // nil for a user
	site *core.Record
}

// shared reports whether the reader came through a shared link.
func (rd *reader) shared() bool { return rd.link != nil }

// url is the reader's report page sub ("" for the site page) with q.
func (rd *reader) url(sub string, q url.Values) string {
	if rd.link != nil {
		p := share.PathPrefix + "/" + url.PathEscape(rd.link.Token)
		if sub != "" {
			p += "/" + sub
		}
		return withQuery(p, q)
	}
	if sub == "" {
		return siteURL(rd.site.Id, q)
	}
	return sitePath(rd.site.Id, sub, q)
}

// page starts a report page.
func (rd *reader) page(title string, data any) *page {
	if rd.u != nil {
		return pageFor(rd.u, title, "", data)
	}
	return &page{Title: title, Shared: true, Data: data}
}

// readerSite is the website as the reader's pages show it: no settings link
// through a shared link.
func (s *server) readerSite(rd *reader) siteView {
	v := s.viewSite(rd.site)
	if rd.shared() {
		v.EditURL, v.StatsURL = "", rd.url("", nil)
	}
	return v
}

// readPeriod reads the requested period in the website's time zone, or
// answers 400 itself and returns ok=false.
func (s *server) readPeriod(w http.ResponseWriter, r *http.Request, rd *reader) (stats.Period, bool) {
	p, err := s.period(r, rd.site)
	if err != nil {
		s.fail(w, r, rd.u, http.StatusBadRequest, badPeriod(err))
		return stats.Period{}, false
	}
	return p, true
}

// forSite runs a report page for a logged-in user who may see the {id}
// website; others get 404.
func (s *server) forSite(h func(http.ResponseWriter, *http.Request, *reader)) func(http.ResponseWriter, *http.Request, *user) {
	return s.ownSite(func(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
		h(w, r, &reader{u: u, site: site})
	})
}

// ownSite runs a page of the {id} website for a logged-in user who may
// see it; for others, and for unknown ids, the page is 404 alike.
func (s *server) ownSite(h func(http.ResponseWriter, *http.Request, *user, *core.Record)) func(http.ResponseWriter, *http.Request, *user) {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		site := s.siteFor(r, u)
		if site == nil {
			s.notFound(w, r, u)
			return
		}
		h(w, r, u, site)
	}
}
