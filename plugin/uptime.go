package plugin

import (
	"net/http"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/uptime"
)

// UptimePath returns a website's uptime:
//
//	GET /api/skopos/uptime?site=<trackingId>&period=24h|7d|30d|90d
//
// with the callers of the stats API (a superuser, the site's owner, or an
// API key within its sites): the current status, the uptime of each
// window, the response times of the period (default 7d) and its incidents.
const UptimePath = "/api/skopos/uptime"

func (p *plugin) mountUptime(e *core.ServeEvent) {
	e.Router.GET(UptimePath, func(e *core.RequestEvent) error {
		now := time.Now()
		q := e.Request.URL.Query()
		q.Del("share")
		e.Request.URL.RawQuery = q.Encode()
		site, err := p.keyAuth.site(e, now)
		if err != nil {
			return err
		}
		period, ok := uptimePeriod(q.Get("period"))
		if !ok {
			return e.BadRequestError("period must be 24h, 7d, 30d or 90d.", nil)
		}
		r, err := uptime.Read(e.App, site, period, now)
		if err != nil {
			return e.InternalServerError("", err)
		}
		return e.JSON(http.StatusOK, r)
	})
}

// uptimePeriod reads a window name; "" is 7d.
func uptimePeriod(s string) (time.Duration, bool) {
	if s == "" {
		s = "7d"
	}
	for _, w := range uptime.Windows {
		if w.Name == s {
			return w.Span, true
		}
	}
	return 0, false
}
