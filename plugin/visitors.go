package plugin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/visitors"
)

// VisitorsPath lists a website's visitors, and exports one visitor's data:
//
//	GET /api/skopos/visitors?site=<trackingId>[&period=7d | &from=&to=][&search=][&identified=yes|no|first][&sort=lastSeen|firstSeen|sessions][&limit=50][&after=<next>]
//	GET /api/skopos/visitors/<visitor record id>/export?site=<trackingId>
//
// with the stats API's callers (a superuser, the site's owner, or an API
// key within its sites; never a shared link: these pages name people). The list is one row per
// visitor with sessions started in the period (default 7d), with its
// "next" cursor while more follow; pass it as after= with the same sort
// and identified values. The export is a JSON attachment of everything
// stored about the visitor (see visitors.Export).
const VisitorsPath = "/api/skopos/visitors"

// UsersPath reads and exports one identified user (every visitor id
// identify() linked to the user id):
//
//	GET /api/skopos/users/<userId>?site=<trackingId>
//	GET /api/skopos/users/<userId>/export?site=<trackingId>
const UsersPath = "/api/skopos/users"

// SessionsPath erases one session:
//
//	DELETE /api/skopos/sessions/<session record id>?site=<trackingId>
//
// Every erasure route (this one, DELETE VisitorsPath/<visitor record id>
// and DELETE UsersPath/<userId>) deletes the rows and corrects the
// summaries (package erase), logs the erasure, and answers 200 with what
// it deleted (erase.Result), 404 when the site has no such session,
// visitor or user. Callers as for the visitors list.
const SessionsPath = "/api/skopos/sessions"

func (p *plugin) mountVisitors(e *core.ServeEvent) {
	keys := p.keyAuth
	e.Router.GET(VisitorsPath, visitorsHandler(keys, handleVisitors))
	e.Router.GET(VisitorsPath+"/{id}/export", visitorsHandler(keys, func(e *core.RequestEvent, site *core.Record) error {
		id := e.Request.PathValue("id")
		return serveVisitorsExport(e, site, "visitor-"+id, []string{id})
	}))
	e.Router.GET(UsersPath+"/{userId}", visitorsHandler(keys, handleUser))
	e.Router.GET(UsersPath+"/{userId}/export", visitorsHandler(keys, func(e *core.RequestEvent, site *core.Record) error {
		user := e.Request.PathValue("userId")
		ids, err := visitors.UserVisitors(e.Request.Context(), e.App, site.Id, user)
		if err != nil {
			return visitorsError(e, err)
		}
		return serveVisitorsExport(e, site, "user-"+user, ids)
	}))
	for path, kind := range map[string]erase.Kind{SessionsPath + "/{id}": erase.Session, VisitorsPath + "/{id}": erase.Visitor, UsersPath + "/{id}": erase.User} {
		e.Router.DELETE(path, func(e *core.RequestEvent) error {
			site, caller, err := keys.ownSiteBy(e, e.Request.URL.Query().Get("site"), access.Admin, time.Now())
			if err != nil {
				return err
			}
			res, err := p.erase(e.Request.Context(), e.App, erase.Target{Website: site.Id, Kind: kind, ID: e.Request.PathValue("id")}, actor(e, caller))
			if err != nil {
				return visitorsError(e, err)
			}
			return e.JSON(http.StatusOK, res)
		})
	}
}

// erase runs an erasure on the intake's worker (pipeline.Exclusive), so
// that no event write interleaves and the writer forgets the sessions it
// remembered; without the intake, directly.
func (p *plugin) erase(ctx context.Context, app core.App, t erase.Target, actor string) (erase.Result, error) {
	var res erase.Result
	run := func(ctx context.Context) error {
		var err error
		if p.events != nil {
			res, err = erase.EraseClickHouse(ctx, app, p.events, t, actor)
		} else {
			res, err = erase.Erase(ctx, app, t, actor)
		}
		return err
	}
	var err error
	if p.intake != nil {
		err = p.intake.in.Pipeline().Exclusive(ctx, run)
	} else {
		err = run(ctx)
	}
	if err == nil {
		app.Logger().Info("skopos: erased", "website", t.Website, "kind", string(t.Kind), "actor", actor,
			"visitors", res.Visitors, "sessions", res.Sessions, "events", res.Events, "summaries", res.Summaries)
	}
	return res, err
}

// actor names the caller in the erasure and audit logs (audit.Actor):
// a caller without the request's auth came with an API key.
func actor(e *core.RequestEvent, caller *core.Record) string {
	return audit.Actor(caller, e.Auth == nil)
}

// visitorsHandler runs h for the site= website the caller may read.
func visitorsHandler(keys *keyAuth, h func(*core.RequestEvent, *core.Record) error) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		site, err := keys.ownSite(e, e.Request.URL.Query().Get("site"), access.Viewer, time.Now())
		if err != nil {
			return err
		}
		return h(e, site)
	}
}

// visitorsError maps the visitors package's errors onto API answers.
func visitorsError(e *core.RequestEvent, err error) error {
	switch {
	case errors.Is(err, visitors.ErrNotFound), errors.Is(err, erase.ErrNotFound):
		return e.NotFoundError("Not found.", nil)
	case errors.Is(err, visitors.ErrBadQuery), errors.Is(err, erase.ErrBadTarget):
		return e.BadRequestError(err.Error(), nil)
	case errors.Is(err, erase.ErrIncomplete):
		// erased in PocketBase; the raw rows' deletion is recorded and
		// the next erasure (or start) finishes it
		e.Response.Header().Set("Retry-After", "60")
		return e.Error(http.StatusServiceUnavailable, "Erased from the summaries and visitors; deleting the raw rows in ClickHouse failed "+
			"and is retried by the next erasure or at the next start.", err)
	}
	return e.InternalServerError("", err)
}

func handleVisitors(e *core.RequestEvent, site *core.Record) error {
	q := e.Request.URL.Query()
	name := q.Get("period")
	if name == "" && q.Get("from") == "" && q.Get("to") == "" {
		name = "7d"
	}
	period, err := stats.ParsePeriodIn(name, q.Get("from"), q.Get("to"), time.Now(), stats.SiteLocation(site))
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	sort, err := visitors.ParseSort(q.Get("sort"))
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	ident, err := visitors.ParseIdentified(q.Get("identified"))
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	limit := visitors.DefaultLimit
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > visitors.MaxLimit {
			return e.BadRequestError("limit must be 1.."+strconv.Itoa(visitors.MaxLimit), nil)
		}
	}
	page, err := visitors.List(e.Request.Context(), e.App, site.Id, visitors.Query{From: period.From, To: period.To,
		Search: q.Get("search"), Identified: ident, Sort: sort, After: q.Get("after"), Limit: limit, ClickHouse: clickHouseOf(e.App)})
	if err != nil {
		return visitorsError(e, err)
	}
	return e.JSON(http.StatusOK, page)
}

func handleUser(e *core.RequestEvent, site *core.Record) error {
	u, err := visitors.UserClickHouse(e.Request.Context(), e.App, clickHouseOf(e.App), site.Id, e.Request.PathValue("userId"))
	if err != nil {
		return visitorsError(e, err)
	}
	return e.JSON(http.StatusOK, u)
}

func serveVisitorsExport(e *core.RequestEvent, site *core.Record, name string, ids []string) error {
	err := visitors.ServeExportClickHouse(e.Response, e.Request, e.App, clickHouseOf(e.App), site, name, ids)
	if errors.Is(err, visitors.ErrNotFound) {
		return visitorsError(e, err) // nothing sent yet
	}
	if err != nil {
		// the status line is sent: the client sees a cut-short file
		e.App.Logger().Error("skopos: visitor export failed", "error", err)
	}
	return nil
}
