package plugin

import (
	"net/http"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/notify"
	"github.com/skopos-go/skopos/internal/safefetch"
	"github.com/skopos-go/skopos/internal/uptime"
)

// UptimeConfig configures uptime monitoring: each website whose
// uptimeMonitoring is on gets its home page (websites.url) checked every
// uptimeCheckInterval seconds.
type UptimeConfig struct {
	// Off turns monitoring off: no check runs. Default false.
	Off bool
	// MaxInFlight bounds the checks running at once. Default 4.
	// `skopos serve`: SKOPOS_UPTIME_MAX_IN_FLIGHT.
	MaxInFlight int
	// Retention is how long raw checks are kept; they are rolled up per
	// day first, so the uptime of older days stays. Default 30 days.
	// `skopos serve`: SKOPOS_UPTIME_RETENTION_DAYS.
	Retention time.Duration
	// MinInterval is the shortest check interval a website may ask for.
	// Default 60 s; lower it only for tests. `skopos serve`:
	// SKOPOS_UPTIME_MIN_INTERVAL (a Go duration).
	MinInterval time.Duration
	// RecheckDelay is how soon a site that answers again is checked once
	// more before its incident is resolved. Default 15 s. `skopos
	// serve`: SKOPOS_UPTIME_RECHECK (a Go duration).
	RecheckDelay time.Duration
}

// NotifyConfig configures how notification rules are delivered (email
// through PocketBase's SMTP settings, webhooks through the safe client).
type NotifyConfig struct {
	// Off turns notifications off: no rule is evaluated. Default false.
	Off bool
	// HourlyLimit is how many messages one rule sends per channel within
	// Window; the rest are folded into one digest when the window ends.
	// Default 10. `skopos serve`: SKOPOS_NOTIFY_HOURLY_LIMIT.
	HourlyLimit int
	// Window is the flood limit's window. Default 1 hour; shorter only for
	// tests. `skopos serve`: SKOPOS_NOTIFY_WINDOW (a Go duration).
	Window time.Duration
	// BaseURL is the server's public URL, for links in messages. Default:
	// PocketBase's Application URL setting.
	BaseURL string
}

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
		site, err := p.keyAuth.ownSite(e, q.Get("site"), access.Viewer, now)
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

// startFetch builds the one client for fetching what users name.
func (p *plugin) startFetch(e *core.ServeEvent) {
	if p.cfg.FetchPrivate {
		e.App.Logger().Warn("skopos: SKOPOS_FETCH_PRIVATE is on: SEO analyses, uptime checks and webhooks may reach loopback and private-network addresses")
	}
	p.fetch = safefetch.NewClient(safefetch.Options{AllowPrivate: p.cfg.FetchPrivate, UserAgent: "Skopos-SEO/" + skopos.Version})
}

// startUptime starts the uptime monitor.
func (p *plugin) startUptime(e *core.ServeEvent) {
	if p.cfg.Uptime.Off {
		return
	}
	c := p.cfg.Uptime
	p.monitor = uptime.NewMonitor(e.App, uptime.MonitorOptions{
		Client:       p.fetch,
		Check:        uptime.CheckOptions{UserAgent: "Skopos-Uptime/" + skopos.Version},
		MaxInFlight:  c.MaxInFlight,
		Retention:    c.Retention,
		MinInterval:  c.MinInterval,
		RecheckDelay: c.RecheckDelay,
		Logger:       e.App.Logger(),
		OnTransition: p.uptimeChanged,
		OnCertExpiring: func(site *core.Record, expiry time.Time) {
			e.App.Logger().Warn("skopos: a website's TLS certificate expires soon", "site", site.GetString("domain"), "expires", expiry)
			p.certExpiring(site, expiry)
		},
	})
	p.monitor.Start()
}

// startNotify starts the notifier: rules are evaluated when the writer
// has stored events (Wake), every minute, and when the uptime monitor
// pushes a change.
func (p *plugin) startNotify(e *core.ServeEvent) {
	if p.cfg.Notify.Off {
		return
	}
	c := p.cfg.Notify
	p.notify = notify.New(e.App, notify.Options{HTTP: p.fetch, ClickHouse: p.ch, HourlyLimit: c.HourlyLimit, Window: c.Window,
		Logger: e.App.Logger(), BaseURL: firstNonEmpty(c.BaseURL, e.App.Settings().Meta.AppURL)})
	p.notify.Start()
}

// uptimeChanged hands a site going down or coming back to the notifier.
func (p *plugin) uptimeChanged(t uptime.Transition) {
	if p.notify == nil {
		return
	}
	detail := ""
	if t.Check != nil {
		detail = t.Check.GetString("error")
	}
	if err := p.notify.UptimeChanged(t.Site, t.Status == uptime.StatusDown, t.Incident.Id, detail); err != nil {
		p.app.Logger().Error("skopos: notify an uptime change", "site", t.Site.GetString("domain"), "error", err)
	}
}

// certExpiring hands a certificate about to expire to the notifier.
func (p *plugin) certExpiring(site *core.Record, expiry time.Time) {
	if p.notify == nil {
		return
	}
	if err := p.notify.CertExpiring(site, expiry); err != nil {
		p.app.Logger().Error("skopos: notify a certificate expiry", "site", site.GetString("domain"), "error", err)
	}
}
