package plugin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// StatsPath serves the stats API:
//
//	GET /api/skopos/stats?site=<trackingId>&period=7d[&top=10]
//	GET /api/skopos/stats?site=<trackingId>&from=2026-11-01&to=2026-11-26
//
// with a PocketBase auth token in Authorization: a superuser, or a users
// record that owns the website (access.CanView). See the README for the JSON.
const StatsPath = "/api/skopos/stats"

func (p *plugin) mountStats(e *core.ServeEvent) {
	e.Router.GET(StatsPath, statsHandler(time.Now))
}

// statsHandler answers StatsPath with now as the clock: read once per
// request, so the period and the active users agree on the present.
func statsHandler(clock func() time.Time) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error { return handleStats(e, clock()) }
}

func handleStats(e *core.RequestEvent, now time.Time) error {
	if e.Auth == nil {
		return e.UnauthorizedError("A superuser or users auth token is required.", nil)
	}
	q := e.Request.URL.Query()
	site, err := e.App.FindFirstRecordByData(schema.Websites, "trackingId", q.Get("site"))
	if err != nil || !access.CanView(e.Auth, site) {
		// not-owned sites look exactly like unknown ones
		return e.NotFoundError("Website not found.", nil)
	}
	period, err := stats.ParsePeriod(q.Get("period"), q.Get("from"), q.Get("to"), now)
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	top := 10
	if v := q.Get("top"); v != "" {
		if top, err = strconv.Atoi(v); err != nil || top < 1 || top > 100 {
			return e.BadRequestError("top must be 1..100", nil)
		}
	}
	r, err := stats.Query(e.Request.Context(), e.App, site.Id, period, top, now)
	if errors.Is(err, stats.ErrSiteNotFound) {
		return e.NotFoundError("Website not found.", nil)
	}
	if err != nil {
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, r)
}
