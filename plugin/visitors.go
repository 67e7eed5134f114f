package plugin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/visitors"
)

// VisitorsPath lists a website's visitors, and exports one visitor's data:
//
//	GET /api/skopos/visitors?site=<trackingId>[&period=7d | &from=&to=][&search=][&identified=yes|no|first][&sort=lastSeen|firstSeen|sessions][&limit=50][&after=<next>]
//	GET /api/skopos/visitors/<visitor record id>/export?site=<trackingId>
//
// with the stats API's callers (a superuser, the site's owner, or an API
// key within its sites; not shared links). The list is one row per
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
}

// visitorsHandler runs h for the site= website the caller may read.
func visitorsHandler(keys *keyAuth, h func(*core.RequestEvent, *core.Record) error) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		site, err := keys.site(e, time.Now())
		if err != nil {
			return err
		}
		return h(e, site)
	}
}

// visitorsError maps the visitors package's errors onto API answers.
func visitorsError(e *core.RequestEvent, err error) error {
	switch {
	case errors.Is(err, visitors.ErrNotFound):
		return e.NotFoundError("Not found.", nil)
	case errors.Is(err, visitors.ErrBadQuery):
		return e.BadRequestError(err.Error(), nil)
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
		Search: q.Get("search"), Identified: ident, Sort: sort, After: q.Get("after"), Limit: limit})
	if err != nil {
		return visitorsError(e, err)
	}
	return e.JSON(http.StatusOK, page)
}

func handleUser(e *core.RequestEvent, site *core.Record) error {
	u, err := visitors.User(e.Request.Context(), e.App, site.Id, e.Request.PathValue("userId"))
	if err != nil {
		return visitorsError(e, err)
	}
	return e.JSON(http.StatusOK, u)
}

func serveVisitorsExport(e *core.RequestEvent, site *core.Record, name string, ids []string) error {
	err := visitors.ServeExport(e.Response, e.Request, e.App, site, name, ids)
	if errors.Is(err, visitors.ErrNotFound) {
		return visitorsError(e, err) // nothing sent yet
	}
	if err != nil {
		// the status line is sent: the client sees a cut-short file
		e.App.Logger().Error("skopos: visitor export failed", "error", err)
	}
	return nil
}
