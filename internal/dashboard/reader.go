package dashboard

import (
	"errors"
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

// readView reads a report page's period (in the website's time zone) and
// filters into a stats.Request at the dashboard's clock, or answers 400
// itself and returns ok=false.
func (s *server) readView(w http.ResponseWriter, r *http.Request, rd *reader) (stats.Request, bool) {
	p, ok := s.readPeriod(w, r, rd)
	if !ok {
		return stats.Request{}, false
	}
	fs, err := requestFilters(r)
	if err != nil {
		s.fail(w, r, rd.u, http.StatusBadRequest, badFilter(err))
		return stats.Request{}, false
	}
	return stats.Request{Period: p, Filters: fs, Now: s.opts.Now()}, true
}

// queryFailed answers a failed stats query: 400 with the reason for the
// user's mistakes (a bad period or filter), 404 for a funnel that is
// gone, 500 otherwise.
func (s *server) queryFailed(w http.ResponseWriter, r *http.Request, u *user, err error) {
	switch msg, bad := isBadRequest(err); {
	case bad:
		s.fail(w, r, u, http.StatusBadRequest, msg)
	case errors.Is(err, stats.ErrFunnelNotFound):
		s.notFound(w, r, u)
	default:
		s.internal(w, r, u, err)
	}
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
