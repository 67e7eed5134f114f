package dashboard

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

// live answers the active-users counter's poll. Same definition as
// stats.Report.ActiveUsers (distinct visitors whose session was active in
// the last 5 minutes) but one indexed count instead of a whole report,
// since every open tab asks every 10 seconds.
func (s *server) live(w http.ResponseWriter, r *http.Request, u *user) {
	site := s.siteFor(r, u)
	if site == nil {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	since := s.opts.Now().UTC().Add(-5 * time.Minute).Format(types.DefaultDateLayout)
	var n int
	err := s.app.DB().Select("COUNT(DISTINCT visitor)").From(schema.Sessions).
		Where(dbx.HashExp{"website": site.Id}).AndWhere(dbx.NewExp("lastActivity >= {:since}", dbx.Params{"since": since})).
		WithContext(r.Context()).Row(&n)
	if err != nil {
		s.app.Logger().Error("skopos dashboard: live", "error", err)
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"activeUsers": n})
}
