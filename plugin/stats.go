package plugin

import (
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/window"
	"github.com/skopos-go/skopos/schema"
)

// StatsPath serves the stats API:
//
//	GET /api/skopos/stats?site=<trackingId>&period=7d[&top=10][&filter=country:DE&filter=page:!/admin]
//	GET /api/skopos/stats?site=<trackingId>&from=2026-11-01&to=2026-11-26
//
// with a PocketBase auth token in Authorization: a superuser, or a users
// record that owns the website (access.CanView); or with an API key
// ("Authorization: Bearer sk_…", see KeysPath), which reads as its owner
// within the key's sites. Days are the website's local days
// (websites.timezone). See the README for the JSON.
const StatsPath = "/api/skopos/stats"

// PropertiesPath breaks a custom event down by its properties:
//
//	GET /api/skopos/stats/properties?site=<trackingId>&period=7d&event=<name>[&filter=...]
const PropertiesPath = "/api/skopos/stats/properties"

// RevenuePath sums the revenue of custom events by goal, page, referrer,
// source or channel, one row per key and currency (amounts are never
// converted):
//
//	GET /api/skopos/stats/revenue?site=<trackingId>&period=7d[&by=goal|page|referrer|source|channel][&filter=...]
const RevenuePath = "/api/skopos/stats/revenue"

// BreakdownPath pages through every key of one breakdown (a top list),
// searched and sorted, with the same figures as the stats route's top:
//
//	GET /api/skopos/stats/breakdown?site=<trackingId>&period=7d&dimension=page[&search=blog][&sort=pageviews|visitors|events|key]
//	    [&order=desc|asc][&limit=1..100][&offset=N][&filter=...][&segment=...]
const BreakdownPath = "/api/skopos/stats/breakdown"

// FunnelPath computes a funnel:
//
//	GET /api/skopos/funnel?site=<trackingId>&funnel=<id>&period=7d[&filter=...]
const FunnelPath = "/api/skopos/funnel"

func (p *plugin) mountStats(e *core.ServeEvent) {
	keys := &keyAuth{clientIP: p.ips.IP}
	if p.cfg.AuthRateLimit > 0 {
		// failed API keys count like failed logins
		keys.fails = window.New[netip.Addr](time.Now, p.cfg.AuthRateLimit, time.Minute)
		keys.prefixes = window.New[string](time.Now, p.cfg.AuthRateLimit, time.Minute)
	}
	p.keyAuth = keys // the live stream and the export read with the same callers
	// the aggregate routes also read through shared links (one Guard with
	// the dashboard's shared pages: one limit per client)
	shared := *keys
	shared.shares = p.shares
	e.Router.GET(StatsPath, p.statsHandler(&shared, handleStats))
	e.Router.GET(PropertiesPath, p.statsHandler(&shared, handleProperties))
	e.Router.GET(FunnelPath, p.statsHandler(&shared, handleFunnel))
	e.Router.GET(RevenuePath, p.statsHandler(&shared, handleRevenue))
	e.Router.GET(BreakdownPath, p.statsHandler(&shared, handleBreakdown))
}

// statsHandler answers with now as the clock: read once per request, so
// the period and the active users agree on the present. The report runs
// within the query budget, and only while the website (and the shared
// link) has fewer reports running than the gate allows.
func (p *plugin) statsHandler(keys *keyAuth, h func(*core.RequestEvent, *core.Record, stats.Request) error) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		site, link, req, err := statsRequest(e, keys, time.Now())
		if err != nil {
			return err
		}
		leave, err := p.gate.Enter(site.Id, link)
		if err != nil {
			e.App.Logger().Warn("skopos: report refused, too many running", "site", site.Id, "link", link, "refused", p.gate.Refused())
			return queryError(e, err)
		}
		defer leave()
		req.Budget, req.ClickHouse = p.budget, p.ch
		return h(e, site, req)
	}
}

// statsRequest reads what every stats route shares: the site the caller
// may read (and the id of the shared link it came through, if it did),
// the period in its time zone, the filters and top. The filters are the
// ones of the segment= asked for, the filter= ones, and, always, those
// a shared link or an API key is pinned to (which the others can only
// narrow). A pinned request is marked for the routes that must refuse
// what they cannot filter (pinnedKey).
func statsRequest(e *core.RequestEvent, keys *keyAuth, now time.Time) (site *core.Record, link string, _ stats.Request, _ error) {
	q := e.Request.URL.Query()
	r, err := keys.siteLink(e, now)
	if err != nil {
		return nil, "", stats.Request{}, err
	}
	period, err := stats.ParsePeriodIn(q.Get("period"), q.Get("from"), q.Get("to"), now, stats.SiteLocation(r.site))
	if err == nil {
		period, err = period.WithInterval(q.Get("interval"))
	}
	if err != nil {
		return nil, "", stats.Request{}, e.BadRequestError(err.Error(), nil)
	}
	filters, err := stats.ParseFilters(q["filter"])
	if err != nil {
		return nil, "", stats.Request{}, e.BadRequestError(err.Error(), nil)
	}
	if id := q.Get("segment"); id != "" {
		// a shared link has no account: only its own pin
		seg, err := segment.Resolve(e.App, r.caller, r.site, id)
		if err != nil {
			return nil, "", stats.Request{}, e.NotFoundError("Segment not found.", nil)
		}
		filters = append(seg, filters...)
	}
	if r.pinned != nil {
		e.Set(pinnedKey, true)
		filters = segment.Combine(r.pinned, filters)
	}
	top := 10
	if v := q.Get("top"); v != "" {
		if top, err = strconv.Atoi(v); err != nil || top < 1 || top > 100 {
			return nil, "", stats.Request{}, e.BadRequestError("top must be 1..100", nil)
		}
	}
	return r.site, r.link, stats.Request{Period: period, Filters: filters, Top: top, Now: now}, nil
}

// pinnedKey marks (RequestEvent.Set) a stats request whose caller is
// pinned to a segment.
const pinnedKey = "skoposPinned"

// pinned reports whether statsRequest marked e as pinned.
func pinned(e *core.RequestEvent) bool { return e.Get(pinnedKey) == true }

// readAs is who a read route answers: the website, the caller (nil
// through a shared link), the shared link's record id ("" without one)
// and the filters the caller is pinned to (nil: none).
type readAs struct {
	site, caller *core.Record
	link         string
	pinned       []stats.Filter
}

// site returns the website a read route answers for: the one of a shared
// link (share=<token> or the ShareHeader, when the route takes them; site=, if given too,
// must name it), or site= if the caller (an auth token, or an API key
// within its sites) may see it. Not-owned sites look exactly like
// unknown ones. The route cannot filter what it answers: a caller pinned
// to a segment is refused (403).
func (k *keyAuth) site(e *core.RequestEvent, now time.Time) (*core.Record, error) {
	r, err := k.siteLink(e, now)
	if err == nil && r.pinned != nil {
		return nil, pinnedError(e)
	}
	return r.site, err
}

// siteLink is site for the routes that apply the pinned filters.
func (k *keyAuth) siteLink(e *core.RequestEvent, now time.Time) (readAs, error) {
	q := e.Request.URL.Query()
	token := q.Get("share")
	if token == "" {
		token = e.Request.Header.Get(ShareHeader)
	}
	if token != "" && k.shares != nil {
		l, err := k.openShare(e, token)
		if err != nil {
			return readAs{}, err
		}
		if id := q.Get("site"); id != "" && id != l.Site.GetString("trackingId") {
			return readAs{}, e.NotFoundError("Website not found.", nil)
		}
		return readAs{site: l.Site, link: l.Record.Id, pinned: l.Pinned}, nil
	}
	return k.readAs(e, q.Get("site"), access.Viewer, now)
}

// pinnedError refuses a caller pinned to a segment on a route that
// cannot restrict its answer to the segment.
func pinnedError(e *core.RequestEvent) error {
	return e.ForbiddenError("This API key or shared link is pinned to a segment: it reads only the stats, properties, funnel and revenue routes, and the summary export.", nil)
}

// ownSite returns the website trackingID if the caller (an auth token,
// or an API key within its sites; never a shared link) has the role need
// on it (access.Check): 404 below Viewer, 403 below need.
func (k *keyAuth) ownSite(e *core.RequestEvent, trackingID string, need access.Role, now time.Time) (*core.Record, error) {
	site, _, err := k.ownSiteBy(e, trackingID, need, now)
	return site, err
}

// ownSiteBy is ownSite that also returns the caller: the auth record, or
// the API key's owner. Its routes do not filter: an API key pinned to a
// segment is refused (403).
func (k *keyAuth) ownSiteBy(e *core.RequestEvent, trackingID string, need access.Role, now time.Time) (site, caller *core.Record, err error) {
	r, err := k.readAs(e, trackingID, need, now)
	if err != nil {
		return nil, nil, err
	}
	if r.pinned != nil {
		return nil, nil, pinnedError(e)
	}
	return r.site, r.caller, nil
}

// readAs checks the caller's role on trackingID. An API key works only
// while its owner administers the website (access.Admin): a key is
// handed to other systems and outlives sessions, so handing a site's
// data out is an admin's decision, and a member demoted to viewer takes
// their keys' reach with them.
func (k *keyAuth) readAs(e *core.RequestEvent, trackingID string, need access.Role, now time.Time) (readAs, error) {
	c, err := k.caller(e, now)
	if err != nil {
		return readAs{}, err
	}
	site, err := e.App.FindFirstRecordByData(schema.Websites, "trackingId", trackingID)
	if err != nil || (c.Sites != nil && !slices.Contains(c.Sites, site.GetString("trackingId"))) {
		return readAs{}, e.NotFoundError("Website not found.", nil)
	}
	if e.Auth == nil {
		need = max(need, access.Admin)
	}
	if err := accessError(e, access.Check(e.App, c.Owner, site, need)); err != nil {
		return readAs{}, err
	}
	return readAs{site: site, caller: c.Owner, pinned: c.Pinned}, nil
}

// accessError answers access.Check's errors: 404 for a website the
// caller cannot see (exactly as an unknown one), 403 for a role below
// the route's.
func accessError(e *core.RequestEvent, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, access.ErrForbidden):
		return e.ForbiddenError("Your role on this website does not allow this.", nil)
	}
	return e.NotFoundError("Website not found.", nil)
}

// queryError maps the stats package's errors onto API answers.
func queryError(e *core.RequestEvent, err error) error {
	switch {
	case errors.Is(err, stats.ErrSiteNotFound):
		return e.NotFoundError("Website not found.", nil)
	case errors.Is(err, stats.ErrFunnelNotFound):
		return e.NotFoundError("Funnel not found.", nil)
	case errors.Is(err, stats.ErrBadFilter), errors.Is(err, stats.ErrBadFunnel), errors.Is(err, stats.ErrBadBreakdown):
		return e.BadRequestError(err.Error(), nil)
	case errors.Is(err, stats.ErrBudget):
		e.App.Logger().Warn("skopos: report over its time budget", "path", e.Request.URL.Path, "query", e.Request.URL.RawQuery)
		e.Response.Header().Set("Retry-After", strconv.Itoa(stats.RetryBudget))
		return e.Error(http.StatusServiceUnavailable, "The report took longer than the server allows: try a shorter period or fewer filters.", nil)
	case errors.Is(err, stats.ErrBusy):
		e.Response.Header().Set("Retry-After", strconv.Itoa(stats.RetryBusy))
		return e.Error(http.StatusServiceUnavailable, "Too many reports of this website are running: try again in a moment.", nil)
	}
	return e.InternalServerError("", err)
}

func handleStats(e *core.RequestEvent, site *core.Record, req stats.Request) error {
	r, err := stats.Query(e.Request.Context(), e.App, site.Id, req)
	if err != nil {
		return queryError(e, err)
	}
	if pinned(e) {
		// counted over every visitor, not the segment's
		r.ActiveUsers = 0
	}
	return e.JSON(http.StatusOK, r)
}

func handleProperties(e *core.RequestEvent, site *core.Record, req stats.Request) error {
	name := e.Request.URL.Query().Get("event")
	if name == "" {
		return e.BadRequestError("event (a custom event name) is required", nil)
	}
	props, err := stats.Properties(e.Request.Context(), e.App, site.Id, name, req)
	if err != nil {
		return queryError(e, err)
	}
	return e.JSON(http.StatusOK, props)
}

// RevenueReport is the answer of RevenuePath.
type RevenueReport struct {
	By      string             `json:"by"`
	Period  stats.Period       `json:"period"`
	Filters []stats.Filter     `json:"filters"`
	Rows    []stats.RevenueRow `json:"rows"`
}

func handleRevenue(e *core.RequestEvent, site *core.Record, req stats.Request) error {
	by := e.Request.URL.Query().Get("by")
	if by == "" {
		by = "goal"
	}
	rows, err := stats.Revenue(e.Request.Context(), e.App, site.Id, by, req)
	if err != nil {
		return queryError(e, err)
	}
	return e.JSON(http.StatusOK, RevenueReport{By: by, Period: req.Period, Filters: append([]stats.Filter{}, req.Filters...), Rows: rows})
}

func handleBreakdown(e *core.RequestEvent, site *core.Record, req stats.Request) error {
	q := e.Request.URL.Query()
	br := stats.BreakdownRequest{Request: req, Dimension: q.Get("dimension"), Search: q.Get("search"),
		Sort: q.Get("sort"), Order: q.Get("order")}
	for _, n := range []struct {
		name string
		dst  *int
	}{{"limit", &br.Limit}, {"offset", &br.Offset}} {
		v := q.Get(n.name)
		if v == "" {
			continue
		}
		i, err := strconv.Atoi(v)
		if err != nil || (n.name == "limit" && i < 1) {
			// 0 would read as the default
			return e.BadRequestError(n.name+" out of bounds", nil)
		}
		*n.dst = i
	}
	page, err := stats.Breakdown(e.Request.Context(), e.App, site.Id, br)
	if err != nil {
		return queryError(e, err)
	}
	return e.JSON(http.StatusOK, page)
}

func handleFunnel(e *core.RequestEvent, site *core.Record, req stats.Request) error {
	id := e.Request.URL.Query().Get("funnel")
	if id == "" {
		return e.BadRequestError("funnel (a funnels record id) is required", nil)
	}
	r, err := stats.Funnel(e.Request.Context(), e.App, site.Id, id, req)
	if err != nil {
		return queryError(e, err)
	}
	return e.JSON(http.StatusOK, r)
}
