package dashboard

import (
	"encoding/json"
	"net/http"

	"github.com/skopos-go/skopos/internal/stats"
)

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
