// Package dashboard is Skopos' web UI, served under /dashboard by the
// embedded server: login with a PocketBase superuser or a users record, an
// overview of the websites, per-site reports (KPIs, chart, breakdowns,
// filters, goal conversions, drill-downs, sessions, live visitors and a
// live view of events as they are stored, the visitors and identified
// users with the export and the erasure of their data), the
// goals and funnels of each site, each site's SEO analysis and uptime, the websites
// page to add, edit, archive and delete sites, the API keys page to
// create and revoke the account's stats API keys, and the Service keys
// page, the key vault of outside services' keys, and the Notifications
// page of the account's notification rules.
//
// Everything is server-rendered with html/template plus one small script;
// every asset is embedded. Every value shown came from untrusted browsers,
// so nothing is ever marked as trusted HTML/JS/URL: html/template escapes
// each value for its context, links are built only from the dashboard's own
// route patterns, and a strict Content-Security-Policy forbids inline
// scripts and styles, so an escaping slip still could not run code.
package dashboard

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/ipinfo"
	"github.com/skopos-go/skopos/internal/live"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/vault"
	"github.com/skopos-go/skopos/internal/window"
	"github.com/skopos-go/skopos/schema"
)

// Prefix is the path every dashboard route lives under.
const Prefix = "/dashboard"

// csp allows only the dashboard's own files: no inline script or style, no
// plugins, no <base>, no framing (clickjacking).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the dashboard. The zero value is usable.
type Options struct {
	// ClientIP returns the address login attempts are rate-limited by.
	// Default: the TCP peer (r.RemoteAddr). The plugin passes its
	// trusted-proxy resolver so that users behind one proxy are not one
	// bucket.
	ClientIP func(r *http.Request) netip.Addr

	// ScriptPath and EventPath are the browser script and event endpoint
	// shown in the snippet of the websites page. Defaults /skopos.js and
	// /api/event.
	ScriptPath string
	EventPath  string

	// SessionTTL is how long a login lasts. Default 12 hours.
	SessionTTL time.Duration

	// LoginFailures is how many failed logins one IP may make per minute
	// before it gets 429. Past twice that for one account (email), from
	// any number of addresses, each address gets one more guess at that
	// account per minute, and a wrong one is answered 429; a right
	// password from an address that has not failed at the account still
	// logs in. Default 5.
	LoginFailures int

	// RecentDrops returns, by reason, the events of a website (by
	// trackingId) the intake filtered in the last hour; the website's
	// page shows them. Nil: not shown.
	RecentDrops func(trackingID string) map[string]int64

	// RequireVerified refuses adding websites to users whose email is not
	// verified (superusers always may). The plugin sets it when anyone
	// may sign up: an unverified account must not claim domains.
	RequireVerified bool

	// Live streams stored events to the live view (/sites/{id}/realtime)
	// and the active-visitor counts to the "active now" counters of the
	// overview and the site page. Nil: no live view, and the counters show
	// the figure of the page load.
	Live *live.Hub

	// Shares opens shared links (share.PathPrefix pages), with the
	// per-client limits it shares with the stats API. Nil: shared links
	// answer 404.
	Shares *share.Guard

	// QueryBudget bounds the time of each report a page computes (the
	// site page, a funnel, a custom event's properties, a summary
	// export's days); over it the page answers 503 saying so. 0: no
	// bound.
	QueryBudget time.Duration
	// Queries bounds the report pages computing at once per website and
	// per shared link (the stats API's Gate, so both count together);
	// beyond it a page answers 503 at once. Nil: not bounded.
	Queries *stats.Gate
	// ClickHouse is the events store's server when events are stored in
	// ClickHouse: every page reads its raw rows there. Nil: SQLite.
	ClickHouse *clickhouse.Client

	// Now is the clock; default time.Now. Tests set it.
	Now func() time.Time

	// OldestUnwritten returns the time the oldest accepted event still
	// waiting to be stored was accepted (zero when none); when it is
	// older than a minute the websites page warns that the writer is
	// behind. Default: no warning.
	OldestUnwritten func() time.Time

	// Vault seals the keys saved on the Service keys page. Nil: the vault
	// is off; the page says how to turn it on and stores nothing.
	Vault *vault.Vault

	// SEO asks for an SEO analysis of a website with a PageSpeed
	// strategy (mobile or desktop), as seorun.Runner.Request: on
	// seorun.ErrTooSoon, retryAfter says how long to wait. Nil: SEO
	// analysis is off and the SEO page has no "Run analysis" form.
	SEO func(site *core.Record, strategy string) (retryAfter time.Duration, err error)

	// NotifyTest sends a test message of a notification rule (its
	// email, its webhook) at once, for the Notifications page's "Send a
	// test message"; the error is shown to the rule's owner. Nil: no
	// test button.
	NotifyTest func(ctx context.Context, rule *core.Record) error

	// ValidateRule checks a notification rule before the Notifications
	// page saves it, beyond the page's own checks (event type, website,
	// email and webhook URL syntax); validation.Errors come back as the
	// form's field errors, any other error as the form's. Nil: only the
	// page's checks.
	ValidateRule func(app core.App, rule *core.Record) error

	// IPInfo tells the network of a session's stored IP address for the
	// session page (the plugin passes ipinfo.Lookup, bundled data).
	// Nil: the page shows the address without network facts.
	IPInfo func(netip.Addr) (ipinfo.Info, bool)

	// Erase erases a session, a visitor or an identified user of a
	// website (erase.Erase; the plugin runs it on the pipeline's worker)
	// for the delete pages of the session, user and visitors pages; actor
	// is the logged-in account as "<collection>/<id>". Nil: no delete
	// links or pages.
	Erase func(ctx context.Context, t erase.Target, actor string) (erase.Result, error)
}

type server struct {
	app      core.App
	opts     Options
	mux      *routeMux
	sessions *sessionStore
	limiter  *window.Limiter[netip.Addr] // failed logins per client address
	accounts *window.Limiter[string]     // failed logins per account
	// failedHere: the address failed at the account in the last minute
	// (a limit of 1 per pair; see login)
	failedHere *window.Limiter[loginPair]
	pages      map[string]*template.Template
	static     http.Handler
}

// Handler returns the dashboard. Mount it for Prefix, share.PathPrefix
// and every path under them; it answers 404 for anything else.
func Handler(app core.App, opts Options) http.Handler {
	if opts.ScriptPath == "" {
		opts.ScriptPath = "/skopos.js"
	}
	if opts.EventPath == "" {
		opts.EventPath = "/api/event"
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.LoginFailures <= 0 {
		opts.LoginFailures = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClientIP == nil {
		opts.ClientIP = peerIP
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	s := &server{
		app: app, opts: opts, mux: &routeMux{ServeMux: http.NewServeMux()},
		sessions:   newSessionStore(opts.Now, opts.SessionTTL),
		limiter:    window.New[netip.Addr](opts.Now, opts.LoginFailures, time.Minute),
		accounts:   window.New[string](opts.Now, 2*opts.LoginFailures, time.Minute),
		failedHere: window.New[loginPair](opts.Now, 1, time.Minute),
		pages:      pages(),
		static:     http.StripPrefix(Prefix+"/static/", http.FileServerFS(sub)),
	}
	s.routes()
	return s
}

func (s *server) routes() {
	m := s.mux
	m.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusFound)
	})
	m.HandleFunc("GET "+Prefix+"/static/", s.serveStatic)
	m.HandleFunc("GET "+Prefix+"/login", s.loginForm)
	m.HandleFunc("POST "+Prefix+"/login", s.login)
	m.HandleFunc("POST "+Prefix+"/logout", s.authed(s.logout))

	m.HandleFunc("GET "+Prefix+"/{$}", s.authed(s.overview))
	m.HandleFunc("GET "+activePath, s.authed(s.activeStream))
	m.HandleFunc("GET "+Prefix+"/sites/{id}", s.authed(s.forSite(s.sitePage)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/realtime", s.authed(s.ownSite(access.Viewer, s.realtime)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/live/stream", s.authed(s.liveStream))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/events", s.authed(s.forSite(s.eventDrill)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/errors", s.authed(s.forSite(s.errorDrill)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/breakdown/{dim}", s.authed(s.forSite(s.breakdownPage)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/suggest", s.authed(s.forSite(s.suggest)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/sessions", s.authed(s.forSite(s.sessionList)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/export", s.authed(s.forSite(s.exportCSV)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/sessions/{sid}", s.authed(s.ownSite(access.Viewer, s.sessionTimeline)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/visitors", s.authed(s.ownSite(access.Viewer, s.visitorsPage)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/visitors/{vid}/export", s.authed(s.ownSite(access.Viewer, s.visitorExport)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/users/{userId}", s.authed(s.ownSite(access.Viewer, s.userPage)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/users/{userId}/export", s.authed(s.ownSite(access.Viewer, s.userExport)))
	s.eraseRoutes()
	m.HandleFunc("GET "+Prefix+"/sites/{id}/goals", s.authed(s.ownSite(access.Viewer, s.goals)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/goals", s.authed(s.ownSite(access.Admin, s.addGoal)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/goals/{gid}/delete", s.authed(s.ownSite(access.Admin, s.deleteRecord(schema.Goals, "gid", "goals"))))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/funnels", s.authed(s.ownSite(access.Viewer, s.funnels)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/funnels", s.authed(s.ownSite(access.Admin, s.addFunnel)))
	m.HandleFunc("GET "+Prefix+"/sites/{id}/funnels/{fid}", s.authed(s.forSite(s.funnelView)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/funnels/{fid}/delete", s.authed(s.ownSite(access.Admin, s.deleteRecord(schema.Funnels, "fid", "funnels"))))

	m.HandleFunc("GET "+Prefix+"/sites/{id}/audit", s.authed(s.ownSite(access.Admin, s.auditPage)))

	m.HandleFunc("GET "+Prefix+"/sites/{id}/uptime", s.authed(s.ownSite(access.Viewer, s.uptimePage)))

	m.HandleFunc("GET "+Prefix+"/sites/{id}/seo", s.authed(s.ownSite(access.Viewer, s.seoPage)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/seo", s.authed(s.ownSite(access.Admin, s.runSEO)))

	m.HandleFunc("POST "+Prefix+"/sites/{id}/segments", s.authed(s.ownSite(access.Viewer, s.addSegment)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/segments/{gid}/delete", s.authed(s.ownSite(access.Viewer, s.deleteSegment)))

	m.HandleFunc("GET "+Prefix+"/sites/{id}/shares", s.authed(s.ownSite(access.Admin, s.shares)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/shares", s.authed(s.ownSite(access.Admin, s.addShare)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/shares/{sid}/revoke", s.authed(s.ownSite(access.Admin, s.deleteRecord(schema.Shares, "sid", "shares"))))

	// a shared link's read-only reports (share.PathPrefix)
	m.HandleFunc("GET "+share.PathPrefix+"/{token}", s.shared(s.sitePage))
	m.HandleFunc("POST "+share.PathPrefix+"/{token}", s.unlockShare)
	m.HandleFunc("GET "+share.PathPrefix+"/{token}/events", s.shared(s.eventDrill))
	m.HandleFunc("GET "+share.PathPrefix+"/{token}/errors", s.shared(s.errorDrill))
	m.HandleFunc("GET "+share.PathPrefix+"/{token}/breakdown/{dim}", s.shared(s.breakdownPage))
	m.HandleFunc("GET "+share.PathPrefix+"/{token}/suggest", s.shared(s.suggest))
	m.HandleFunc("GET "+share.PathPrefix+"/{token}/funnels/{fid}", s.shared(s.funnelView))
	m.HandleFunc("GET "+share.PathPrefix+"/{token}/active", s.shared(func(w http.ResponseWriter, r *http.Request, rd *reader) {
		if rd.pinned() {
			// the count is of every visitor, not the segment's
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		s.serveActive(w, r, "share:"+rd.link.Record.Id, []string{rd.site.Id})
	}))

	m.HandleFunc("GET "+Prefix+"/sites/{id}/members", s.authed(s.ownSite(access.Admin, s.members)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/members", s.authed(s.ownSite(access.Owner, s.invite)))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/members/{uid}/role", s.authed(s.ownSite(access.Owner, s.memberAction(audit.MemberRole, "role", s.setRole))))
	// an admin may leave (team.Remove lets a member remove themselves)
	m.HandleFunc("POST "+Prefix+"/sites/{id}/members/{uid}/remove", s.authed(s.ownSite(access.Admin, s.memberAction(audit.MemberRemove, "removed", s.removeMember))))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/members/{uid}/transfer", s.authed(s.ownSite(access.Owner, s.memberAction(audit.OwnerTransfer, "transferred", s.transferSite))))
	m.HandleFunc("POST "+Prefix+"/sites/{id}/invites/{iid}/revoke", s.authed(s.ownSite(access.Owner, s.revokeInvite)))
	// an invitation link: anyone holding it (the token is the secret)
	m.HandleFunc("GET "+Prefix+"/invite/{token}", s.invitePage)
	m.HandleFunc("POST "+Prefix+"/invite/{token}", s.acceptInvite)

	m.HandleFunc("GET "+Prefix+"/websites", s.authed(s.websites))
	m.HandleFunc("POST "+Prefix+"/websites", s.authed(s.addWebsite))
	m.HandleFunc("GET "+Prefix+"/websites/{id}", s.authed(s.ownSite(access.Admin, s.editWebsite)))
	m.HandleFunc("POST "+Prefix+"/websites/{id}", s.authed(s.ownSite(access.Admin, s.saveWebsite)))
	m.HandleFunc("POST "+Prefix+"/websites/{id}/archive", s.authed(s.ownSite(access.Admin, s.archiveWebsite)))
	m.HandleFunc("GET "+Prefix+"/websites/{id}/delete", s.authed(s.ownSite(access.Owner, s.confirmDelete)))
	m.HandleFunc("POST "+Prefix+"/websites/{id}/delete", s.authed(s.ownSite(access.Owner, s.deleteWebsite)))

	m.HandleFunc("GET "+Prefix+"/keys", s.authed(s.keys))
	m.HandleFunc("POST "+Prefix+"/keys", s.authed(s.createKey))
	m.HandleFunc("POST "+Prefix+"/keys/{kid}/revoke", s.authed(s.revokeKey))

	m.HandleFunc("GET "+notifyPath, s.authed(s.notifications))
	m.HandleFunc("POST "+notifyPath, s.authed(s.createRule))
	m.HandleFunc("GET "+notifyPath+"/{rid}", s.authed(s.ownRule(s.editRule)))
	m.HandleFunc("POST "+notifyPath+"/{rid}", s.authed(s.ownRule(s.saveRule)))
	m.HandleFunc("POST "+notifyPath+"/{rid}/active", s.authed(s.ownRule(s.switchRule)))
	m.HandleFunc("POST "+notifyPath+"/{rid}/delete", s.authed(s.ownRule(s.deleteRule)))
	m.HandleFunc("POST "+notifyPath+"/{rid}/test", s.authed(s.ownRule(s.testRule)))

	m.HandleFunc("GET "+serviceKeysPath, s.authed(s.serviceKeys))
	m.HandleFunc("POST "+serviceKeysPath, s.authed(s.addServiceKey))
	m.HandleFunc("POST "+serviceKeysPath+"/{kid}/{action}", s.authed(s.changeServiceKey))
}

// routeMux is a ServeMux that remembers its patterns, so that a test can
// walk every route (Patterns) and a route added without an access rule
// for it fails that test.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

func (m *routeMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.HandleFunc(pattern, h)
}

// Patterns lists the route patterns ("GET /dashboard/sites/{id}") of a
// Handler, in the order they were registered; nil for any other handler.
func Patterns(h http.Handler) []string {
	if s, ok := h.(*server); ok {
		return append([]string(nil), s.mux.patterns...)
	}
	return nil
}

// ServeHTTP sets the security headers every dashboard response carries,
// refuses cross-site POSTs, then routes.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// Dashboard URLs carry site ids and event names; never leak them.
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodPost && !sameOrigin(r) {
		s.fail(w, r, nil, http.StatusForbidden, "Cross-site request refused.")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *server) serveStatic(w http.ResponseWriter, r *http.Request) {
	// The files change only with the binary; an hour keeps page loads fast
	// without pinning an old script across an upgrade for long.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	s.static.ServeHTTP(w, r)
}

// sameOrigin is a second CSRF line behind the form tokens: browsers send
// Origin on POSTs, and a form posted from another site names that site.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// isHTTPS reports whether the browser reached us over HTTPS: directly, or
// through a reverse proxy on the same machine that says so. A remote peer
// cannot claim HTTPS with a header.
func isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return false
	}
	ip := peerIP(r)
	return ip.IsValid() && ip.IsLoopback()
}

func peerIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

// Origin is the scheme and host the browser used (for the snippet and
// shared links' URLs), with isHTTPS's rule for the scheme.
func Origin(r *http.Request) string {
	scheme := "http"
	if isHTTPS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
