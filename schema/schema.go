// Package schema names the Skopos PocketBase collections and the limits of
// what the pipeline stores in them. It is plain data with no dependency on
// PocketBase, so that the SDK, which talks to PocketBase over HTTP, does
// not link PocketBase's engine.
//
// The collection definitions themselves (fields, indexes, the convergent
// Apply used by migrations and `skopos schema apply`) are in package
// schema/collections.
package schema

// Collection names.
const (
	Websites     = "websites"
	Visitors     = "visitors"
	Sessions     = "sessions"
	Events       = "events"
	JSErrors     = "js_errors"
	DashSum      = "dash_sum"
	DashSumItems = "dash_sum_items"
	// Spools holds, per intake log (spool), the sequence number of the
	// last record whose data is committed, written in the same
	// transaction as that data: a record replayed after a crash is
	// recognised as already stored and is not counted twice.
	Spools = "skopos_spool"
	// Secrets holds the installation's secrets by name (visitor id
	// salts); superuser-only, like every Skopos collection without
	// owner rules.
	Secrets = "skopos_secrets"
	// Goals and Funnels hold what the site's owner wants to measure:
	// conversions (a page pattern or a custom event) and ordered steps.
	// Owners manage their own sites' goals and funnels through the REST
	// API (the collections' rules) and the dashboard.
	Goals   = "goals"
	Funnels = "funnels"
	// APIKeys holds the stats API keys: the SHA-256 hash of each key
	// (never the key), its owner (a users or a _superusers record), name,
	// site scope, expiry and last use. Superuser-only (no API rules): keys
	// are managed through /api/skopos/keys.
	APIKeys = "skopos_api_keys"
	// Shares holds the shared links: read-only access to one website's
	// reports without an account. The SHA-256 hash of each token (never
	// the token), an optional bcrypt password hash, expiry and last use.
	// Superuser-only (no API rules): managed through /api/skopos/shares
	// and the dashboard.
	Shares = "skopos_shares"
	// SEOData holds, per website, its latest SEO analysis in the Skopos
	// dashboard's seo_data fields (so a migrated installation keeps its
	// last analysis), plus the state of the analysis job (pending,
	// running, done, failed) so that a job survives a restart. Deleted
	// with its website; not subject to data retention.
	SEOData = "seo_data"
	// SEOHistory holds one row per finished SEO analysis (score, label,
	// performance, recommendation counts): the score's history, which
	// the dashboard's seo_data (latest only) does not keep.
	SEOHistory = "seo_history"
	// ServiceKeys is the key vault: per-user keys of outside services
	// (google_pagespeed, …), encrypted under the server's key, in the
	// Skopos dashboard's api_keys fields. Not to be confused with APIKeys
	// (the stats API's own keys). Superuser-only (no API rules): managed
	// through the dashboard.
	ServiceKeys = "api_keys"
	// UptimeChecks holds every uptime check of a website (the Skopos
	// dashboard's fields), kept for a limited time; UptimeDays rolls
	// them up per UTC day so a year of history stays small.
	UptimeChecks = "uptime_checks"
	// UptimeIncidents holds the down periods of a website: opened by a
	// failed check, resolved (with its duration in milliseconds) by the
	// check that confirms it is back.
	UptimeIncidents = "uptime_incidents"
	// UptimeDays holds one row per website and UTC day: checks, checks
	// up, average and 95th percentile response time, incidents, downtime.
	UptimeDays = "uptime_days"
	// NotifyRules holds the notification rules (the Skopos dashboard's
	// notyf_rules fields, plus webhooks, thresholds and delivery state).
	NotifyRules = "notyf_rules"
	// NotifyDeliveries is the outbox of notifications: one row per rule
	// and triggering event (unique), so that an event is notified once
	// even when it is evaluated again after a restart; sent, retried
	// with backoff, folded into a digest beyond a rule's hourly limit.
	NotifyDeliveries = "notyf_deliveries"
	// State holds small named values of the server's background jobs
	// (the notifier's position in the events table).
	State = "skopos_state"
	// Erasures is the erasure log: one row per erasure of a session, a
	// visitor or an identified user (who asked, what kind, how many rows
	// went), never the erased data or its ids. Superuser-only (no API
	// rules); the dashboard shows a site's to its owner.
	Erasures = "skopos_erasures"
	// Members gives users records a role on a website they do not own
	// (admin or viewer; the owner is websites.user). One row per website
	// and user; deleted with either.
	Members = "skopos_members"
	// Invites are the pending invitations to a website: an email, the
	// role it will get, the hash of the link's token (never the token),
	// who invited and until when the link works. Used once: accepting it
	// records when and by whom.
	Invites = "skopos_invites"
	// Audit is the audit log: one row per change of a website's
	// settings, goals, funnels, links, keys, notification rules, members
	// and segments (when, who, what, on what). The website is a plain id
	// and the website's name and the actor's email are copied in, so that
	// a row outlives the website, the member and the account it names.
	// Superuser-only (no API rules); the dashboard and /api/skopos/audit
	// show a site's to its owner and admins.
	Audit = "skopos_audit"
	// Segments are the saved segments: a named set of stats filters per
	// website, private to the users or superuser record that saved it or
	// shared with every member of the website. Superuser-only (no API
	// rules): managed through /api/skopos/segments and the dashboard.
	Segments = "skopos_segments"
	// Outbox holds, with a ClickHouse events store, the rows of events,
	// sessions, JS errors and engagement the writer committed and has
	// not yet shipped to ClickHouse: written in the transaction of the
	// summaries, so that ClickHouse receives every committed row once
	// (internal/store/chstore). Superuser-only (no API rules).
	Outbox = "skopos_ch_outbox"

	// Users is PocketBase's default auth collection, which websites.user
	// points to.
	Users = "users"
)

// MaxOutboxRows bounds an outbox record's rows (JSONEachRow text, in
// bytes): a writer's chunk of a few thousand events and their sessions.
const MaxOutboxRows = 64 << 20

// Names lists the collections of analytics data (websites and what is
// recorded for them) in dependency order (a collection comes after the
// collections its relations point to).
var Names = []string{Websites, Visitors, Sessions, Events, JSErrors, DashSum, DashSumItems}

// Analysis lists the collections the stats API reads besides the data:
// the owners' goals and funnels. Writers (the SDK) never need them.
var Analysis = []string{Goals, Funnels}

// Server lists the collections only the Skopos server reads and writes
// (never the SDK): the stats API keys, the shared links, the SEO analyses
// and the service key vault.
var Server = []string{APIKeys, Shares, SEOData, SEOHistory, ServiceKeys,
	UptimeChecks, UptimeIncidents, UptimeDays, NotifyRules, NotifyDeliveries, State, Erasures, Audit, Segments, Outbox}

// Teams lists the collections of a website's members and invitations;
// they come before Analysis, whose API rules read skopos_members.
var Teams = []string{Members, Invites}

// All lists every Skopos collection: Names, the writer's own bookkeeping
// (Spools), the installation's secrets, Teams, Analysis, then Server.
func All() []string {
	l := append(append([]string(nil), Names...), Spools, Secrets)
	return append(append(append(l, Teams...), Analysis...), Server...)
}

// Superusers is PocketBase's superusers auth collection, which
// skopos_api_keys.superuser points to.
const Superusers = "_superusers"

// EventTypes are the values events.type accepts (the Skopos select values).
var EventTypes = []string{"pageView", "custom", "click", "form_submission", "revenue"}

// SumCounters are dash_sum's counter fields (jsErrors last: js_errors
// holds lifetime counts, which no hour can be recovered from, so code that
// rebuilds hours from the raw rows takes all but the last).
var SumCounters = []string{"pageViews", "visitors", "newVisitors", "returningVisitors",
	"engagedSessions", "bounces", "durationSeconds", "jsErrors"}

// Dimensions are the dash_sum_items.dimension values.
var Dimensions = []string{
	"page", "entryPage", "exitPage", "referrer", "device", "browser", "os",
	"language", "country", "region", "customEvent", "jsError",
	"utm_source", "utm_medium", "utm_campaign",
	"utm_term", "utm_content", "channel", "source",
}

// UTMDimensions are the campaign dimensions: a session with that utm_*
// query parameter on its entry page counts under its value; sessions
// without it are not listed.
var UTMDimensions = []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"}

// GoalTypes are the values goals.type accepts: a page path pattern or a
// custom event name.
var GoalTypes = []string{"page", "event"}

// NotifyEvents are the values notyf_rules.eventType accepts: the Skopos
// dashboard's six, then ours.
var NotifyEvents = []string{"new_visitor", "custom_event", "new_session", "daily_summary", "error_threshold", "uptime_status",
	"traffic_spike", "traffic_drop", "tracking_stopped", "certificate_expiry"}

// ReportFrequencies are the values websites.reportFrequency accepts: how
// often the site's owner gets an email report (empty is "none").
var ReportFrequencies = []string{"none", "weekly", "monthly"}

// Limits of goals and funnels.
const (
	MaxGoalMatch    = 512 // a goal's or step's match (path pattern or event name)
	MinFunnelSteps  = 2
	MaxFunnelSteps  = 8
	MaxTimezoneName = 64
	// MaxAPIKeyName is the longest name of an API key.
	MaxAPIKeyName = 255
	// MaxShareName is the longest label of a shared link.
	MaxShareName = 255
	// MaxURL is the longest website home-page URL (websites.url).
	MaxURL = 2048
	// MaxServiceKeyLabel is the longest label of a service key.
	MaxServiceKeyLabel = 255
	// MaxServiceKey is the longest service key accepted, in bytes.
	MaxServiceKey = 4096
	// MaxSegmentName is the longest name of a saved segment, in bytes.
	MaxSegmentName = 100
	// MaxSharePassword is the longest shared-link password in bytes:
	// bcrypt reads no further.
	MaxSharePassword = 72
	// MaxAuditTarget is the longest target of an audit row (the name or
	// id acted on), in characters; MaxAuditDetails the largest details
	// JSON in bytes as stored.
	MaxAuditTarget  = 512
	MaxAuditDetails = 16384
)

// Stored-length limits: each text field's max is at least what the
// pipeline stores in it after validation and truncation, so that no value
// the intake accepted can fail at PocketBase (a failure there would cost
// the whole transaction it is part of).
const (
	MaxPath         = 2048
	MaxReferrer     = 4096
	MaxEventName    = 255
	MaxErrorMessage = 512
	MaxStackTrace   = 4096
	MaxLanguage     = 100
	MaxDimensionKey = 512
	// MaxSource bounds sessions.source: a source name, a utm_source
	// value (at most 255 units) or a referrer's host.
	MaxSource = 255
	// MaxChannel bounds sessions.channel (the longest channel name is 25).
	MaxChannel  = 50
	MaxMetadata = 8192
	// JSON limits are in bytes as PocketBase serializes them; PocketBase's
	// encoder escapes <, > and & as \u00XX (6 bytes), so a payload the
	// pipeline accepted at 8192 bytes can grow up to 6x when stored.
	MaxEventDataStored = 6 * 8192
	MaxUTMStored       = 16384
	// MaxOrderID bounds events.orderId; MaxRevenueAmount events.revenueAmount,
	// in minor units (10^12: ten billion dollars, far within int64).
	MaxOrderID       = 64
	MaxRevenueAmount = 1_000_000_000_000
)

// IndexName is the name Skopos gives to its index on collection.
func IndexName(collection, suffix string) string {
	return "idx_skopos_" + collection + "_" + suffix
}
