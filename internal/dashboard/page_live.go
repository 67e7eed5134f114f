package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/live"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

type realtimeData struct {
	Site      siteView
	StreamURL string
	BackURL   string
	Zone      string // the site's time zone, which the times are shown in
}

// realtime is the live view: the page itself is static, app.js opens an
// EventSource on liveStream and fills it in (active visitors, their
// pages and referrers, the latest events).
func (s *server) realtime(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	if s.opts.Live == nil {
		s.notFound(w, r, u)
		return
	}
	d := realtimeData{Site: s.viewSite(site), StreamURL: sitePath(site.Id, "live/stream", nil), BackURL: siteURL(site.Id, nil),
		Zone: stats.SiteLocation(site).String()}
	s.render(w, http.StatusOK, "realtime", pageFor(u, "Live · "+site.GetString("name"), "", d))
}

// liveStream streams the site's stored events (Options.Live) to the
// dashboard's live page, with the dashboard's session as auth.
func (s *server) liveStream(w http.ResponseWriter, r *http.Request, u *user) {
	site := s.siteFor(r, u)
	if site == nil || s.opts.Live == nil {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	release, ok := s.opts.Live.Admit(w, "user:"+u.rec.Id)
	if !ok {
		return
	}
	defer release()
	s.opts.Live.Serve(w, r, s.app.DB(), site.Id, s.opts.Now())
}

// activePath streams the "active now" counters of the sites named by its
// site parameters (record ids): GET /dashboard/live/active?site=a&site=b.
const activePath = Prefix + "/live/active"

// activeStream streams the active-visitor counts of the requested sites
// (live.Hub.ServeActive) to the overview's and site page's "active now"
// counters, with the dashboard's session as auth. One site the user may
// not see (or that does not exist) makes the whole request 404, as every
// other route of a site: a page only asks for the sites it shows, so a
// partial answer would hide a bug. No site, or more than
// live.MaxActiveSites distinct ones, is 400, before any of them is read.
func (s *server) activeStream(w http.ResponseWriter, r *http.Request, u *user) {
	if s.opts.Live == nil {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	ids := slices.Compact(slices.Sorted(slices.Values(r.URL.Query()["site"])))
	if len(ids) == 0 || len(ids) > live.MaxActiveSites {
		http.Error(w, fmt.Sprintf(`{"error":"1 to %d sites per stream"}`, live.MaxActiveSites), http.StatusBadRequest)
		return
	}
	for _, id := range ids {
		rec, err := s.app.FindRecordById(schema.Websites, id)
		if err != nil || !access.CanView(s.app, u.rec, rec) {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
	}
	s.serveActive(w, r, "user:"+u.rec.Id, ids)
}

// serveActive streams the active-visitor counts of websites (record ids)
// the caller has already authorised, with the dashboard's clock, counted
// against caller's streams (live.Hub.Admit); 404 without a live hub.
// Pages other than the logged-in ones (a shared link's) call it with
// their own checks.
func (s *server) serveActive(w http.ResponseWriter, r *http.Request, caller string, websiteIDs []string) {
	if s.opts.Live == nil {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	release, ok := s.opts.Live.Admit(w, caller)
	if !ok {
		return
	}
	defer release()
	s.opts.Live.ServeActive(w, r, s.app.DB(), websiteIDs, s.opts.Now)
}

// activeURL is the stream of the sites' "active now" counters (at most
// live.MaxActiveSites of them); "" when the dashboard has no live hub.
func (s *server) activeURL(ids []string) string {
	if s.opts.Live == nil || len(ids) == 0 {
		return ""
	}
	return withQuery(activePath, url.Values{"site": ids[:min(len(ids), live.MaxActiveSites)]})
}

// realtimeURL is the site's live view; "" when the dashboard has none.
func (s *server) realtimeURL(id string) string {
	if s.opts.Live == nil {
		return ""
	}
	return sitePath(id, "realtime", nil)
}
