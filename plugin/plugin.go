// Package plugin registers Skopos in a PocketBase app: the Skopos schema (as
// migrations), the batch API settings it needs, a first-run superuser and
// demo website, the hourly email reports job, and the `site add`, `schema
// apply`, `retention run` and `reports send` commands.
//
// It is what the `skopos` binary runs, and you can register it in your own
// PocketBase app the same way as PocketBase's plugins:
//
//	app := pocketbase.New()
//	plugin.MustRegister(app, app.RootCmd, plugin.Config{})
//	if err := app.Start(); err != nil {
//		log.Fatal(err)
//	}
//
// On `serve` it mounts the browser event endpoint (POST /api/event) for
// every website, choosing the website by the page's host; the browser
// script (/skopos.js); the demo page (/demo, with Config.Demo); the stats
// API (/api/skopos/stats), its live stream (/api/skopos/live) and its API
// keys (/api/skopos/keys); the SEO analysis (/api/skopos/seo, run in the
// background for every new website); uptime (/api/skopos/uptime, with the
// monitor and the notification rules running in the background); the
// dashboard (/dashboard); and,
// with Config.MetricsToken, Prometheus metrics (/metrics). Retention runs
// daily.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/botdetect"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/clientip"
	"github.com/skopos-go/skopos/internal/dbconn"
	"github.com/skopos-go/skopos/internal/live"
	"github.com/skopos-go/skopos/internal/notify"
	"github.com/skopos-go/skopos/internal/seorun"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/internal/spool"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/uptime"
	"github.com/skopos-go/skopos/internal/vault"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/spf13/cobra"
)

// Config configures the plugin. The zero value is what a PocketBase
// developer adding Skopos to an existing app wants: schema and batch
// settings, no generated superuser, no demo website.
type Config struct {
	// AdminEmail and AdminPassword, when both set, make sure a superuser
	// with that email exists when the server starts (it is created if
	// missing; an existing one is left as it is).
	AdminEmail    string
	AdminPassword string

	// GenerateAdmin creates a superuser with a random password, printed
	// once to Out, when the server starts with no superuser at all and no
	// AdminEmail is set. Default false (PocketBase's own installer then
	// asks for one in the browser).
	GenerateAdmin bool

	// Demo creates the demo website (domain "localhost", localhost
	// tracking allowed, no events) on the first start and prints its link
	// and trackingId on every start. Default false.
	Demo bool

	// BatchMaxRequests is the batch API's maxRequests set on the first
	// start. Default 1000. An operator's later change is kept.
	BatchMaxRequests int

	// TrustedProxies lists the CIDRs whose X-Forwarded-For / X-Real-IP
	// are believed. Default: loopback only; list a proxy on another
	// machine by its address or range. `skopos serve`:
	// SKOPOS_TRUSTED_PROXIES.
	TrustedProxies []string

	// GeoIPDatabase is the path of a MaxMind or DB-IP .mmdb file (or an
	// ip-location-db country one) giving new sessions their country and
	// state. Default: the bundled country database (internal/geo/countrydb:
	// countries only, NRO data under CC BY 4.0); "off": none ("Unknown").
	GeoIPDatabase string

	// SpoolDir is the intake log's directory: the event endpoint answers
	// 2xx only once an event is durable there, and the writer stores from
	// it, so a crash, a restart or a burst larger than memory loses
	// nothing acknowledged. Default <data dir>/skopos_spool.
	SpoolDir string
	// DisableSpool keeps events in memory between the endpoint and the
	// database (bounded by QueueSize; a crash loses what was not yet
	// written). Default false.
	DisableSpool bool
	// SpoolMaxBytes bounds the intake log; over it the endpoint answers
	// 503 with Retry-After. Default 1 GiB.
	SpoolMaxBytes int64
	// SpoolSync is the intake log's durability policy: "always" (default:
	// an fsync starts as soon as an event waits, the events arriving
	// meanwhile share the next one; an event is acknowledged after its
	// fsync), "batch" (an fsync every 10 ms or 1000 events: fewer fsyncs,
	// up to 10 ms more latency) or "off" (no fsync: a crash of the machine
	// can lose up to the last seconds the OS had not written; a crash of
	// the process loses nothing).
	SpoolSync string

	// QueueSize bounds the events held in memory between the endpoint and
	// the database when the spool is disabled; beyond it the endpoint
	// answers 503 with Retry-After. Default 50000: a burst of several
	// seconds at the store's full rate (one event holds well under 1 KiB).
	// With the spool, memory holds only a small read-ahead.
	QueueSize int

	// MetricsToken, when set, serves Prometheus metrics at /metrics to
	// requests bearing "Authorization: Bearer <MetricsToken>". Default
	// none: no /metrics.
	MetricsToken string

	// VisitorIDs is how cookieless visitor ids are keyed (the
	// skopos.Options field of the same name): "salted" (default: a
	// secret installation salt generated on the first start and kept in
	// skopos_secrets, superuser-only), "daily" (a random salt per UTC
	// day, deleted after two days: visitors counted per day) or
	// "compatible" (the Skopos Node SDK's unsalted hash, to continue its
	// data). `skopos serve`: SKOPOS_VISITOR_IDS. Unset on a data dir
	// adopted from Skopos Node that has no salt yet, it is "compatible",
	// so that its visitors are recognised when they come back (said at
	// start).
	VisitorIDs string
	// VisitorSalt, when set, is the salted mode's key instead of the
	// generated installation salt. Default none.
	VisitorSalt string

	// OnStored, when set, receives the events rows Skopos stored, after
	// each write transaction commits, in order. Skopos creates its rows
	// with SQL, not through PocketBase's record API (several times
	// faster), so PocketBase's record hooks (OnRecordCreate…) and realtime
	// subscriptions do not see events, sessions and visitors: use this
	// instead. It runs on the writer: return quickly, hand slow work off.
	// Default none.
	OnStored func([]StoredEvent)

	// EventsThroughRouter serves the event endpoint through PocketBase's
	// router and its global middlewares (and any you bound to the router)
	// like every other route. Default false: the endpoint is answered
	// ahead of the router, by the HTTP server's handler itself, which
	// saves about a tenth of the CPU of every beacon. It has its own body
	// limit, CORS and panic recovery; PocketBase's CORS and activity
	// logger must not apply to it anyway (they would answer preflights
	// with "*" and log visitors' IPs).
	EventsThroughRouter bool

	// AuthRateLimit, when > 0, turns on PocketBase's rate limiter on the
	// first start with one rule: that many requests per minute per client
	// IP to its auth endpoints (auth-with-password of superusers and
	// users, OTP, OAuth2), and as many to each of its requests that send
	// an email (password reset, verification, email change, OTP; added
	// on the first start of a version that has them). Superusers' own
	// requests are never limited. An
	// operator's later change (admin UI, Settings → Rate limits) is kept.
	// Default 0: PocketBase's settings are left alone. `skopos serve`
	// sets 5. PocketBase keys the limit by the peer address unless its
	// own trusted-proxy headers are set (Settings → Application).
	//
	// The same number bounds failed stats API keys (KeysPath) per
	// minute per client address (as the event endpoint sees it, so
	// TrustedProxies apply), counted in the process's memory: beyond it
	// every key from that address is refused (429) until the minute's
	// window frees up; PocketBase tokens are not affected. It bounds the
	// failed keys per key prefix (the key's first 11 characters) too,
	// from all addresses together.
	AuthRateLimit int

	// RateLimit and RateBurst bound the events one client address may
	// send to the event endpoint (per second, token bucket), as
	// skopos.Options.RateLimit: default 20 per second, bursts of 100;
	// negative turns it off. `skopos serve`: SKOPOS_RATE_LIMIT.
	RateLimit float64
	RateBurst int

	// BotPatterns are user-agent patterns treated as bots on top of the
	// built-in lists, one per entry in the syntax of the isbot list
	// (case-insensitive regular expressions; see the botdetect package),
	// so a maintained list can be extended without a code change.
	// `skopos serve` reads them from the file SKOPOS_BOT_PATTERNS names
	// (one per line, # comments). Default none.
	BotPatterns []string

	// Signup sets who may create accounts in PocketBase's users
	// collection on every start: "off" (superusers only: PocketBase's
	// default lets anyone sign up, and a user may add websites), "on"
	// (anyone; the dashboard then refuses to add websites for accounts
	// whose email is not verified). Default "": the collection's rule is
	// left as it is (your app's own). `skopos serve` sets "off" unless
	// SKOPOS_SIGNUP=on.
	Signup string

	// QueryBudget bounds the time of each report of the stats, funnel,
	// properties and export routes and of the dashboard's report pages
	// (each day of a summary export is one report; the raw events and
	// sessions exports, linear in the rows stored, are not bounded):
	// its SQL is interrupted and the route answers 503 with
	// Retry-After. Default 5s (stats.DefaultBudget); negative: no
	// bound. `skopos serve`: SKOPOS_QUERY_BUDGET (a Go duration).
	QueryBudget time.Duration
	// QueriesPerSite and QueriesPerLink bound the reports running at once
	// for one website (from every reader together) and through one
	// shared link; beyond them a route answers 503 with Retry-After at
	// once, without waiting. Defaults 4 and 2 (stats.DefaultPerSite,
	// stats.DefaultPerLink); negative: not bounded.
	QueriesPerSite int
	QueriesPerLink int

	// SEO configures the SEO analysis of websites (on by default).
	SEO SEOConfig

	// Uptime configures uptime monitoring (on by default for the
	// websites whose uptimeMonitoring is set).
	Uptime UptimeConfig

	// Notify configures the notification rules' delivery (on by default).
	Notify NotifyConfig

	// FetchPrivate lets the server's own fetches of addresses users name
	// (the SEO analysis of a website's home page) reach loopback,
	// private-network, link-local and other non-public addresses. Default
	// false: they are refused after DNS resolution and on every redirect,
	// so that a website's URL cannot make the server read its own admin
	// port, the local network or a cloud metadata service. Turn it on for
	// intranet sites and tests; it is logged at start. `skopos serve`:
	// SKOPOS_FETCH_PRIVATE=on.
	FetchPrivate bool

	// EncryptionKey is the key vault's server key, 64 hex characters
	// (e.g. `openssl rand -hex 32`): users' service keys (a PageSpeed
	// Insights key) are stored encrypted under it. Default none: the
	// vault is off and the Service keys page says how to turn it on; no
	// key is ever generated into the database, where it would sit beside
	// what it protects. The Skopos dashboard's ENCRYPTION_KEY works as it
	// is, and opens the keys it stored. `skopos serve`:
	// SKOPOS_ENCRYPTION_KEY or ENCRYPTION_KEY.
	EncryptionKey string
	// EncryptionKeyFile names a file holding EncryptionKey instead
	// (e.g. a container secret); setting both is an error. `skopos
	// serve`: SKOPOS_ENCRYPTION_KEY_FILE.
	EncryptionKeyFile string

	// AdoptBatchRows bounds the rows of one transaction while a Skopos
	// Node data dir is adopted (see docs/from-node.md). Default 20 000.
	// `skopos serve`: SKOPOS_ADOPT_BATCH_ROWS.
	AdoptBatchRows int

	// ClickHouseURL, when set, makes a ClickHouse server the events
	// store: events, sessions, JS errors and page engagement are written
	// there (through an outbox in PocketBase, so an outage of ClickHouse
	// loses nothing and does not stop the intake) and every report reads
	// them there; PocketBase keeps the websites, visitors, summaries and
	// everything small. Form http[s]://[user[:password]@]host[:port][/db]
	// (database skopos by default); the tables are created at start.
	// An existing SQLite history is copied with `skopos clickhouse
	// migrate`. Default none: SQLite. See docs/clickhouse.md for what
	// this mode does not cover yet. `skopos serve`: SKOPOS_CLICKHOUSE_URL.
	ClickHouseURL string
	// ClickHouseCluster names the ClickHouse cluster the tables are
	// created on (Replicated tables and a Distributed table over its
	// shards). Default none: one server. `skopos serve`:
	// SKOPOS_CLICKHOUSE_CLUSTER.
	ClickHouseCluster string

	// Out receives the start-up lines (demo link, trackingId, generated
	// credentials). Default os.Stdout.
	Out io.Writer
}

// DBConnect opens the app's SQLite databases with PocketBase's settings
// plus memory-mapped reads (dbconn.MmapSize), which make filtered stats
// about 30 % faster at a million events. Pass it to your app:
//
//	app := pocketbase.NewWithConfig(pocketbase.Config{DBConnect: plugin.DBConnect})
//
// `skopos serve` does. Without it Skopos works the same, reading through
// each connection's page cache.
func DBConnect(dbPath string) (*dbx.DB, error) { return dbconn.Connect(dbPath) }

// MustRegister is Register that panics on error, for use in main.
func MustRegister(app core.App, rootCmd *cobra.Command, cfg Config) {
	if err := Register(app, rootCmd, cfg); err != nil {
		panic(err)
	}
}

// Register adds Skopos to app. rootCmd may be nil when the app has no CLI;
// otherwise the `site` and `schema` commands are added to it.
func Register(app core.App, rootCmd *cobra.Command, cfg Config) error {
	p, err := newPlugin(app, cfg)
	if err != nil {
		return err
	}
	app.OnServe().BindFunc(p.onServe)
	p.bindWebsiteHooks(app)
	bindWebsiteDomainHook(app)
	bindGoalHooks(app)
	bindAuditHooks(app)
	p.scheduleRetention(app)
	p.scheduleReports(app)
	if rootCmd != nil {
		p.addCommands(rootCmd)
	}
	return nil
}

// Migrate brings app's data dir to the current Skopos schema now, as the
// first serve after Register does (PocketBase's migrations, then Skopos'
// schema versions, settings and data upgrades, recorded in PocketBase's
// _migrations table), for a data dir prepared before it serves: an image
// built with the schema in it, or a test's template. The migrations that
// depend on cfg (AuthRateLimit, Demo, BatchMaxRequests) are its own: a
// later serve with another Config runs only those it has not recorded.
// app must be bootstrapped.
func Migrate(app core.App, cfg Config) error {
	p, err := newPlugin(app, cfg)
	if err != nil {
		return err
	}
	return p.migrate(app)
}

// newPlugin checks cfg and fills in its defaults.
func newPlugin(app core.App, cfg Config) (*plugin, error) {
	if app == nil {
		return nil, errors.New("skopos plugin: nil app")
	}
	if (cfg.AdminEmail == "") != (cfg.AdminPassword == "") {
		return nil, errors.New("skopos plugin: AdminEmail and AdminPassword must be set together")
	}
	if cfg.QueueSize < 0 {
		return nil, fmt.Errorf("skopos plugin: QueueSize %d must be >= 0", cfg.QueueSize)
	}
	switch cfg.Signup {
	case "", "on", "off":
	default:
		return nil, fmt.Errorf("skopos plugin: Signup %q: want \"on\", \"off\" or empty", cfg.Signup)
	}
	visitorIDsChosen := cfg.VisitorIDs != ""
	mode, err := visitorid.ParseMode(cfg.VisitorIDs)
	if err != nil {
		return nil, fmt.Errorf("skopos plugin: VisitorIDs: %w", err)
	}
	if cfg.VisitorSalt != "" && mode != visitorid.Salted {
		return nil, fmt.Errorf("skopos plugin: VisitorSalt is the key of the %q VisitorIDs mode, not of %q", visitorid.Salted, mode)
	}
	cfg.VisitorIDs = string(mode)
	bots, err := botdetect.CompilePatterns(cfg.BotPatterns)
	if err != nil {
		return nil, fmt.Errorf("skopos plugin: BotPatterns: %w", err)
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 50000
	}
	if cfg.BatchMaxRequests < 0 {
		return nil, fmt.Errorf("skopos plugin: BatchMaxRequests %d must be >= 0", cfg.BatchMaxRequests)
	}
	if cfg.BatchMaxRequests == 0 {
		cfg.BatchMaxRequests = 1000
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	sync, err := spool.ParseSync(cfg.SpoolSync)
	if err != nil {
		return nil, fmt.Errorf("skopos plugin: SpoolSync: %w", err)
	}
	if cfg.SpoolMaxBytes < 0 {
		return nil, fmt.Errorf("skopos plugin: SpoolMaxBytes %d must be >= 0", cfg.SpoolMaxBytes)
	}
	// parsed once: the event endpoint and the dashboard's rate limiter
	// must agree on who the client is
	ips, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("skopos plugin: TrustedProxies: %w", err)
	}
	key, keys, err := openVault(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.SEO.Concurrency < 0 {
		return nil, fmt.Errorf("skopos plugin: SEO.Concurrency %d must be >= 0", cfg.SEO.Concurrency)
	}
	p := &plugin{app: app, cfg: cfg, ips: ips, sync: sync, bots: bots, vault: keys, vaultKey: key, visitorIDsChosen: visitorIDsChosen,
		budget: orDefault(cfg.QueryBudget, stats.DefaultBudget),
		gate:   stats.NewGate(orDefault(cfg.QueriesPerSite, stats.DefaultPerSite), orDefault(cfg.QueriesPerLink, stats.DefaultPerLink))}
	return p, nil
}

type plugin struct {
	app     core.App
	cfg     Config
	keyAuth *keyAuth // who may read the stats API and the live stream
	ips     *clientip.Resolver
	sync    spool.Sync
	intake  *intake             // set when the server starts
	bots    *botdetect.Patterns // Config.BotPatterns, compiled
	// visitors computes visitor ids (set when the server starts)
	visitors *visitorid.Hasher
	// stopVisitors ends the refresh of daily salts (at terminate)
	stopVisitors context.CancelFunc
	// live fans stored events out to live streams (set when the server
	// starts)
	live *live.Hub
	// shares opens shared links for the stats API and the dashboard's
	// shared pages, under one set of per-client limits
	shares *share.Guard
	// vault seals service keys (nil without Config.EncryptionKey)
	vault    *vault.Vault
	vaultKey vault.Key // its current key, for `skopos vault rotate`
	// fetch is the one client for what users name (SEO analyses, uptime
	// checks, webhooks); set when the server starts
	fetch *http.Client
	// notify evaluates the notification rules and delivers their
	// messages (nil with NotifyConfig.Off)
	notify *notify.Notifier
	// monitor checks the websites' uptime (nil with UptimeConfig.Off)
	monitor *uptime.Monitor
	// seo runs the SEO analyses (set when the server starts; nil with
	// SEOConfig.Off)
	seo *seorun.Runner
	// visitorIDsChosen: Config.VisitorIDs was set (not the default), so
	// an adopted Skopos Node data dir does not switch to compatible ids
	visitorIDsChosen bool
	// budget is Config.QueryBudget with its default (0: none), gate the
	// reports running at once, for the API and the dashboard together
	budget time.Duration
	gate   *stats.Gate
	// ch is the ClickHouse events store's client and events its writer
	// (both nil without Config.ClickHouseURL; set when the server starts)
	ch           *clickhouse.Client
	events       *chstore.Store
	stopShipping func()
}

// orDefault is v, or def when v is 0; a negative v (off) is 0.
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// onServe runs before PocketBase starts listening: PocketBase has applied
// its own migrations by then, so Skopos' can build on them.
func (p *plugin) onServe(e *core.ServeEvent) error {
	if err := p.migrate(e.App); err != nil {
		return err
	}
	if err := p.ensureSuperuser(e.App); err != nil {
		return err
	}
	if err := p.applySignup(e.App); err != nil {
		return err
	}
	if err := p.startClickHouse(e.App); err != nil {
		return err
	}
	p.startLive(e.App)
	p.shares = share.NewGuard(share.Limits{Failures: p.cfg.AuthRateLimit})
	if err := p.startIntake(e); err != nil {
		return err
	}
	p.startFetch(e)
	if err := p.startSEO(e); err != nil {
		return err
	}
	p.startNotify(e)
	p.startUptime(e)
	p.mountIngest(e)
	p.mountTracker(e)
	p.mountStats(e)
	p.mountLive(e)
	p.mountKeys(e)
	p.mountExport(e)
	p.mountVisitors(e)
	p.mountShares(e)
	p.mountSegments(e)
	p.mountSEO(e)
	p.mountAudit(e)
	p.mountMembers(e)
	p.mountUptime(e)
	p.mountDashboard(e)
	if err := e.Next(); err != nil {
		return err
	}
	// the server's handler exists now (PocketBase sets it last)
	if !p.cfg.EventsThroughRouter && e.Server != nil && e.Server.Handler != nil {
		e.Server.Handler = eventsFirst(e.Server.Handler, p.intake.in.Handler(), e.App.Logger())
	}
	p.printDashboard(e)
	if p.cfg.Demo {
		p.printDemo(e)
	}
	return nil
}
