package dashboard

import (
	"encoding/json"
	"net/http"

	"github.com/skopos-go/skopos/internal/stats"
)

type realtimeData struct {
	Site      siteView
	StreamURL string
	BackURL   string
}

// realtime is the live view: the page itself is static, app.js opens an
// EventSource on liveStream and fills it in (active visitors, their
// pages and referrers, the latest events).
func (s *server) realtime(w http.ResponseWriter, r *http.Request, u *user) {
	site := s.siteFor(r, u)
	if site == nil || s.opts.Live == nil {
		s.fail(w, r, u, http.StatusNotFound, "Website not found.")
		return
	}
	d := realtimeData{Site: s.viewSite(site), StreamURL: sitePath(site.Id, "live/stream", nil), BackURL: siteURL(site.Id, nil)}
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
	s.opts.Live.Serve(w, r, s.app.DB(), site.Id, s.opts.Now())
}

// live answers the active-users counter's poll with stats.ActiveUsers, the
// count stats.Report.ActiveUsers also uses, rather than a whole report:
// every open tab asks every 10 seconds.
func (s *server) live(w http.ResponseWriter, r *http.Request, u *user) {
	site := s.siteFor(r, u)
	if site == nil {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	n, err := stats.ActiveUsers(r.Context(), s.app.DB(), site.Id, s.opts.Now())
	if err != nil {
		s.app.Logger().Error("skopos dashboard: live", "error", err)
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"activeUsers": n})
}

// realtimeURL is the site's live view; "" when the dashboard has none.
func (s *server) realtimeURL(id string) string {
	if s.opts.Live == nil {
		return ""
	}
	return sitePath(id, "realtime", nil)
}
