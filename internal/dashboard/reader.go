package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
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
	// own are the page's filter= filters and seg its segment= (nil:
	// none), as readView read them: what the page's links carry. The
	// figures also honour the segment's filters and, through a link
	// pinned to a segment, the link's.
	own []stats.Filter
	seg *segment.Segment
	// here is the page's URL, as readView read it: the "+ Filter" form
	// comes back to it with its parameters.
	here *url.URL
}

// pinned reports whether the reader came through a shared link pinned
// to a segment: what cannot be filtered must not be shown.
func (rd *reader) pinned() bool { return rd.link != nil && rd.link.Pinned != nil }

// shared reports whether the reader came through a shared link.
func (rd *reader) shared() bool { return rd.link != nil }

// url is the reader's report page sub ("" for the site page) with q,
// and the page's segment when q is not nil and names none.
func (rd *reader) url(sub string, q url.Values) string {
	if rd.seg != nil && q != nil && !q.Has("segment") {
		q = with(q, "segment", rd.seg.ID)
	}
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
// through a shared link or for a viewer.
func (s *server) readerSite(rd *reader) siteView {
	v := s.viewSite(rd.site)
	if rd.shared() {
		v.EditURL, v.StatsURL = "", rd.url("", nil)
	} else if !access.Can(s.app, rd.u.rec, rd.site, access.Admin) {
		v.EditURL = "" // a viewer's: the settings would answer 403
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
// filters into a stats.Request at the dashboard's clock and with the
// query budget, and takes one of the reports the website (and the
// shared link) may have running at once: the caller defers leave. Or it
// answers itself (400, or 503 when too many are running) and returns
// ok=false.
func (s *server) readView(w http.ResponseWriter, r *http.Request, rd *reader) (req stats.Request, leave func(), ok bool) {
	if s.addedFilter(w, r, rd) {
		return stats.Request{}, nil, false
	}
	rd.here = r.URL
	p, ok := s.readPeriod(w, r, rd)
	if !ok {
		return stats.Request{}, nil, false
	}
	fs, err := requestFilters(r)
	if err != nil {
		s.fail(w, r, rd.u, http.StatusBadRequest, badFilter(err))
		return stats.Request{}, nil, false
	}
	rd.own = fs
	if fs, ok = s.segmentFilters(w, r, rd, fs); !ok {
		return stats.Request{}, nil, false
	}
	link := ""
	if rd.link != nil {
		link = rd.link.Record.Id
	}
	leave, err = s.opts.Queries.Enter(rd.site.Id, link)
	if err != nil {
		s.queryFailed(w, r, rd.u, err)
		return stats.Request{}, nil, false
	}
	return stats.Request{Period: p, Filters: fs, Now: s.opts.Now(), Budget: s.opts.QueryBudget, ClickHouse: s.opts.ClickHouse}, leave, true
}

// segmentFilters adds to fs the filters of the page's segment= (a saved
// segment the user may use: 404 otherwise, as for an unknown one; a
// shared link has no account to choose one) and, always, those the
// shared link is pinned to, which fs can only narrow. Or it answers
// itself and returns ok=false.
func (s *server) segmentFilters(w http.ResponseWriter, r *http.Request, rd *reader, fs []stats.Filter) (_ []stats.Filter, ok bool) {
	if id := r.URL.Query().Get("segment"); id != "" {
		if rd.u == nil {
			s.notFound(w, r, nil)
			return nil, false
		}
		seg, _, err := segment.Get(s.app, rd.u.rec, rd.site, id)
		if err != nil {
			s.notFound(w, r, rd.u)
			return nil, false
		}
		segFs, err := stats.ParseFilters(seg.Filters)
		if err != nil {
			s.internal(w, r, rd.u, err)
			return nil, false
		}
		rd.seg = &seg
		fs = append(segFs, fs...)
	}
	if rd.link != nil {
		fs = segment.Combine(rd.link.Pinned, fs)
	}
	return fs, true
}

// queryFailed answers a failed stats query: 400 with the reason for the
// user's mistakes (a bad period or filter), 404 for a funnel that is
// gone, 503 with Retry-After for a report over its budget or beyond the
// reports running at once, 500 otherwise.
func (s *server) queryFailed(w http.ResponseWriter, r *http.Request, u *user, err error) {
	switch msg, bad := isBadRequest(err); {
	case bad:
		s.fail(w, r, u, http.StatusBadRequest, msg)
	case errors.Is(err, stats.ErrFunnelNotFound):
		s.notFound(w, r, u)
	case errors.Is(err, stats.ErrBudget):
		s.app.Logger().Warn("skopos dashboard: report over its time budget", "path", r.URL.Path, "budget", s.opts.QueryBudget.String())
		w.Header().Set("Retry-After", strconv.Itoa(stats.RetryBudget))
		s.fail(w, r, u, http.StatusServiceUnavailable, "This report took longer than the server allows ("+s.opts.QueryBudget.String()+
			"). Try a shorter period or fewer filters.")
	case errors.Is(err, stats.ErrBusy):
		s.app.Logger().Warn("skopos dashboard: report refused, too many running", "path", r.URL.Path, "refused", s.opts.Queries.Refused())
		w.Header().Set("Retry-After", strconv.Itoa(stats.RetryBusy))
		s.fail(w, r, u, http.StatusServiceUnavailable, "Too many reports of this website are being computed right now. Reload the page in a moment.")
	default:
		s.internal(w, r, u, err)
	}
}

// forSite runs a report page for a logged-in user who may see the {id}
// website; others get 404.
func (s *server) forSite(h func(http.ResponseWriter, *http.Request, *reader)) func(http.ResponseWriter, *http.Request, *user) {
	return s.ownSite(access.Viewer, func(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
		h(w, r, &reader{u: u, site: site})
	})
}

// ownSite runs a page of the {id} website for a logged-in user whose
// role on it is need or above (access.Check); for others, and for
// unknown ids, the page is 404 alike, and a member whose role is below
// need gets 403.
func (s *server) ownSite(need access.Role, h func(http.ResponseWriter, *http.Request, *user, *core.Record)) func(http.ResponseWriter, *http.Request, *user) {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		site, err := s.app.FindRecordById(schema.Websites, r.PathValue("id"))
		if err == nil {
			err = access.Check(s.app, u.rec, site, need)
		}
		switch {
		case errors.Is(err, access.ErrForbidden):
			s.fail(w, r, u, http.StatusForbidden, "Your role on this website ("+access.RoleOf(s.app, u.rec, site).String()+") does not allow this.")
		case err != nil:
			s.notFound(w, r, u)
		default:
			h(w, r, u, site)
		}
	}
}
