package plugin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/token"
	"github.com/skopos-go/skopos/schema"
)

// AuditPath reads a website's audit log (package audit), newest first:
//
//	GET /api/skopos/audit?site=<trackingId>[&before=<RFC 3339>][&limit=1..200]
//	→ {"items": [{"id", "created", "actor", "actorEmail", "action", "target", "details"}], "next": before of the next page, or ""}
//
// for the website's owner and admins (403 for a viewer, 404 for a
// website the caller does not see), with a PocketBase auth token or an
// API key within its sites.
const AuditPath = "/api/skopos/audit"

// auditPage is how many rows GET AuditPath answers without a limit.
const auditPage = 50

func (p *plugin) mountAudit(e *core.ServeEvent) {
	e.Router.GET(AuditPath, p.getAudit)
}

func (p *plugin) getAudit(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	site, err := p.keyAuth.ownSite(e, q.Get("site"), access.Admin, time.Now())
	if err != nil {
		return err
	}
	var before time.Time
	if b := q.Get("before"); b != "" {
		if before, err = time.Parse(time.RFC3339Nano, b); err != nil {
			return e.BadRequestError("before must be an RFC 3339 time.", err)
		}
	}
	limit := auditPage
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > audit.MaxList {
			return e.BadRequestError("limit must be a whole number from 1 to "+strconv.Itoa(audit.MaxList)+".", nil)
		}
	}
	rows, err := audit.List(e.Request.Context(), e.App, site.Id, before, limit)
	if err != nil {
		return e.InternalServerError("", err)
	}
	next := ""
	if len(rows) >= limit {
		next = rows[len(rows)-1].Created.Time().UTC().Format(time.RFC3339Nano)
	}
	if rows == nil {
		rows = []audit.Row{}
	}
	return e.JSON(http.StatusOK, map[string]any{"items": rows, "next": next})
}

// bindAuditHooks logs the goals and funnels changed through PocketBase's
// own REST API (and its admin UI, which uses it), as the caller (e.Auth).
// The dashboard saves them with app.Save, which runs no request hooks,
// and logs them itself.
func bindAuditHooks(app core.App) {
	actions := map[string][3]string{
		schema.Goals:   {audit.GoalCreate, audit.GoalUpdate, audit.GoalDelete},
		schema.Funnels: {audit.FunnelCreate, audit.FunnelUpdate, audit.FunnelDelete},
	}
	for name, a := range actions {
		app.OnRecordCreateRequest(name).BindFunc(func(e *core.RecordRequestEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			logRecord(e, a[0], nil)
			return nil
		})
		app.OnRecordUpdateRequest(name).BindFunc(func(e *core.RecordRequestEvent) error {
			before := e.Record.Original()
			if err := e.Next(); err != nil {
				return err
			}
			if changes := audit.Changes(before, e.Record); len(changes) > 0 {
				logRecord(e, a[1], changes)
			}
			return nil
		})
		app.OnRecordDeleteRequest(name).BindFunc(func(e *core.RecordRequestEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			logRecord(e, a[2], map[string]any{"id": e.Record.Id})
			return nil
		})
	}
}

// logRecord logs action on a goal or funnel e saved, on its website.
func logRecord(e *core.RecordRequestEvent, action string, details map[string]any) {
	entry := audit.Entry{Actor: e.Auth, Action: action, Target: e.Record.GetString("name"), Details: details}
	if site, err := e.App.FindRecordById(schema.Websites, e.Record.GetString("website")); err == nil {
		entry.Website = site
	} else {
		entry.WebsiteID = e.Record.GetString("website")
	}
	_ = audit.Log(e.App, entry) // a failure is logged there; the change stands
}

// findShare is the shared link DELETE SharesPath/<token|id> names, as
// share.Revoke finds it; nil when there is none.
func findShare(app core.App, ref string) *core.Record {
	rec, err := app.FindFirstRecordByData(schema.Shares, "hash", token.Hash(ref))
	if err != nil {
		rec, err = app.FindRecordById(schema.Shares, ref)
	}
	if err != nil {
		return nil
	}
	return rec
}
