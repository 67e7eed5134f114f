package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/schema"
)

// auditPageSize is how many audit rows a page of the audit log lists.
const auditPageSize = 50

type auditRow struct {
	Created         time.Time
	Who, Action     string
	Target, Details string
}

type auditData struct {
	Site    siteView
	Rows    []auditRow
	BackURL string
	// OlderURL is the next page; FirstURL the first, on the next ones.
	OlderURL, FirstURL string
}

// auditPage lists the website's audit log (package audit), newest
// first, a page at a time by time (?before=, RFC 3339).
func (s *server) auditPage(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	var before time.Time
	if b := r.URL.Query().Get("before"); b != "" {
		var err error
		if before, err = time.Parse(time.RFC3339Nano, b); err != nil {
			s.fail(w, r, u, http.StatusBadRequest, "That page of the audit log is not valid: start again from the first page.")
			return
		}
	}
	rows, err := audit.List(r.Context(), s.app, site.Id, before, auditPageSize)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := auditData{Site: s.viewSite(site), BackURL: siteURL(site.Id, nil)}
	for _, row := range rows {
		d.Rows = append(d.Rows, auditRow{Created: row.Created.Time(), Who: orActor(row), Action: row.Action,
			Target: row.Target, Details: detailsText(row.Details)})
	}
	if len(rows) >= auditPageSize {
		last := rows[len(rows)-1].Created.Time()
		d.OlderURL = sitePath(site.Id, "audit", url.Values{"before": {last.UTC().Format(time.RFC3339Nano)}})
	}
	if !before.IsZero() {
		d.FirstURL = sitePath(site.Id, "audit", nil)
	}
	s.render(w, http.StatusOK, "audit", pageFor(u, "Audit log · "+site.GetString("name"), "", d))
}

// orActor is who made the change: the email as it was then, or the
// stored actor when there was none (a change by the server itself).
func orActor(r audit.Row) string {
	who := r.ActorEmail
	if who == "" {
		return r.Actor
	}
	if strings.HasSuffix(r.Actor, " (API key)") {
		who += " (API key)"
	}
	return who
}

// detailsText is a row's details as compact JSON; "" without any.
func detailsText(raw []byte) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// logChange adds a change u made on site to the audit log. A failed
// write is logged by audit.Log and does not fail the change, which is
// saved already.
func (s *server) logChange(u *user, site *core.Record, action, target string, details map[string]any) {
	_ = audit.Log(s.app, audit.Entry{Website: site, Actor: u.rec, Action: action, Target: target, Details: details})
}

// deleteActions are the audit actions of deleteRecord's collections.
var deleteActions = map[string]string{
	schema.Goals: audit.GoalDelete, schema.Funnels: audit.FunnelDelete, schema.Shares: audit.ShareRevoke,
}

// recordTarget names a goal, funnel, share or rule in the audit log: its
// name, or its id when it has none (an unnamed shared link).
func recordTarget(rec *core.Record) string {
	if n := rec.GetString("name"); n != "" {
		return n
	}
	return rec.Id
}
