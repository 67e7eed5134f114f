package dashboard

import (
	"net/http"
	"net/url"

	"github.com/skopos-go/skopos/internal/export"
	"github.com/skopos-go/skopos/internal/stats"
)

// exportLink is one entry of the site page's Export menu.
type exportLink struct {
	Kind, Label, Href string
}

// exportLinks are the CSV downloads of the site page's period: events and
// sessions unfiltered (as the sessions list), the daily summary with the
// page's filters and segment (vq).
func exportLinks(siteID string, p stats.Period, vq url.Values) []exportLink {
	pq := periodQuery(p)
	return []exportLink{
		{"events", "Events (CSV)", sitePath(siteID, "export", with(pq, "kind", "events"))},
		{"sessions", "Sessions (CSV)", sitePath(siteID, "export", with(pq, "kind", "sessions"))},
		{"summary", "Daily summary (CSV)", sitePath(siteID, "export", with(vq, "kind", "summary"))},
	}
}

// exportCSV streams the CSV export of a site (package export) to a
// logged-in user who may see it; the period and filters are the site
// page's query parameters.
func (s *server) exportCSV(w http.ResponseWriter, r *http.Request, rd *reader) {
	site, u := rd.site, rd.u
	req, leave, ok := s.readView(w, r, rd)
	if !ok {
		return
	}
	defer leave()
	kind, err := export.ParseKind(r.URL.Query().Get("kind"))
	if err != nil {
		s.fail(w, r, u, http.StatusBadRequest, "Unknown export: choose events, sessions or summary.")
		return
	}
	req.Top = 1
	if err := export.Serve(w, r, s.app, site, kind, req); err != nil {
		// the status line is sent: the download is cut short
		s.app.Logger().Error("dashboard: export failed", "error", err)
	}
}
