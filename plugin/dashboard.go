package plugin

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/ipinfo"
	"github.com/skopos-go/skopos/internal/notify"
	"github.com/skopos-go/skopos/internal/share"
)

// DashboardPath is where the embedded server serves the web UI.
const DashboardPath = dashboard.Prefix

// SharePath is where shared links open: SharePath + "/" + token shows a
// website's reports read-only, without an account (see SharesPath).
const SharePath = share.PathPrefix

// mountDashboard serves the web UI under /dashboard, and shared links'
// read-only pages under /share. PocketBase's CORS
// middleware would let any origin read dashboard responses with "*", and
// its activity logger would copy every admin request (with IP and user
// agent) into _logs; the dashboard needs neither.
func (p *plugin) mountDashboard(e *core.ServeEvent) {
	opts := dashboard.Options{ScriptPath: ScriptPath, EventPath: EventPath, RequireVerified: p.cfg.Signup == "on",
		Live: p.live, Shares: p.shares, Vault: p.vault, ValidateRule: validateRule, IPInfo: ipinfo.Lookup,
		QueryBudget: p.budget, Queries: p.gate, ClickHouse: p.ch}
	if p.notify != nil {
		opts.NotifyTest = p.notify.SendTest
	}
	if p.seo != nil { // set by startSEO, which runs before this
		opts.SEO = p.seo.Request
	}
	// erasures from the dashboard run on the pipeline's worker, as the API's
	opts.Erase = func(ctx context.Context, t erase.Target, actor string) (erase.Result, error) {
		return p.erase(ctx, e.App, t, actor)
	}
	// Login attempts are rate-limited by the client IP as the event
	// endpoint sees it (behind a trusted proxy, the forwarded address).
	opts.ClientIP = func(r *http.Request) netip.Addr { return p.ips.IP(r) }
	opts.OldestUnwritten = func() time.Time {
		if p.intake == nil {
			return time.Time{}
		}
		st, _ := p.intake.in.SpoolStats()
		return st.Oldest
	}
	opts.RecentDrops = func(trackingID string) map[string]int64 {
		if p.intake == nil {
			return nil
		}
		return p.intake.in.Pipeline().RecentDrops(trackingID)
	}
	h := apis.WrapStdHandler(dashboard.Handler(e.App, opts))
	for _, path := range []string{DashboardPath, DashboardPath + "/{rest...}", SharePath + "/{rest...}"} {
		e.Router.Any(path, h).
			Unbind(apis.DefaultCorsMiddlewareId, apis.DefaultActivityLoggerMiddlewareId)
	}
}

// validateRule is notify.ValidateRule with its field errors as the
// dashboard shows them: each under its field.
func validateRule(app core.App, rec *core.Record) error {
	err := notify.ValidateRule(app, rec)
	var fields notify.FieldErrors
	if !errors.As(err, &fields) {
		return err
	}
	out := validation.Errors{}
	for name, msg := range fields {
		out[name] = validation.NewError("validation_rule_"+name, msg)
	}
	return out
}
