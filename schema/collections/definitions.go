// Package collections defines the Skopos PocketBase collections as Go code:
// the one source of truth for both the embedded server's migrations and
// `skopos schema apply`, which pushes the same collections to a remote
// PocketBase over its REST API.
//
// The definitions follow the Skopos PocketBase schema (same collection
// names, field names and field types, so tools that read Skopos data read
// ours) and add what the Go pipeline relies on: UNIQUE indexes that make
// concurrent writers race-free, and the session fields sessions.startedAt,
// sessions.eventCount and sessions.isEngaged, which let a session that
// another process or a restarted one created keep counting where it was.
//
// Applying is convergent: collections that are missing are created, and for
// existing ones Skopos' fields and indexes are added or updated while fields
// and indexes that a user added are kept. Applying twice changes nothing.
//
//	// embedded (inside a PocketBase app, e.g. from a migration):
//	changed, err := collections.Apply(app)
//
// This package links PocketBase's engine (package core); the plain names
// and limits live in package schema, which the SDK uses without it.
package collections

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

// IDResolver returns the id of the collection with the given name, so that
// relation fields point at the collection that really exists in the target
// PocketBase (a collection created through the admin UI has a random id).
type IDResolver func(name string) (string, error)

// Definitions returns the desired Skopos collections in dependency order.
// Relation targets are resolved by name with resolve.
func Definitions(resolve IDResolver) ([]*core.Collection, error) {
	out := make([]*core.Collection, 0, len(schema.All()))
	for _, name := range schema.All() {
		c, err := Definition(name, resolve)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Definition returns the desired definition of one Skopos collection.
func Definition(name string, resolve IDResolver) (*core.Collection, error) {
	define, ok := definitions[name]
	if !ok {
		return nil, fmt.Errorf("schema: unknown collection %q", name)
	}
	b := builder{c: core.NewBaseCollection(name), resolve: resolve}
	define(&b)
	// Skopos data tools sort and prune by created/updated, and
	// core.NewBaseCollection adds only the id field.
	b.fields(
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
	)
	if b.err != nil {
		return nil, b.err
	}
	return b.c, nil
}

// definitions adds each collection's fields, indexes and rules.
var definitions = map[string]func(*builder){
	schema.Websites:     (*builder).websites,
	schema.Visitors:     (*builder).visitors,
	schema.Sessions:     (*builder).sessions,
	schema.Events:       (*builder).events,
	schema.JSErrors:     (*builder).jsErrors,
	schema.DashSum:      (*builder).dashSum,
	schema.DashSumItems: (*builder).dashSumItems,
	schema.Spools:       (*builder).spools,
	schema.Secrets:      (*builder).secrets,
	schema.Goals:        (*builder).goals,
	schema.Funnels:      (*builder).funnels,
	schema.APIKeys:      (*builder).apiKeys,
	schema.Shares:       (*builder).shares,
	schema.SEOData:      (*builder).seoData,
	schema.SEOHistory:   (*builder).seoHistory,
	schema.ServiceKeys:  (*builder).serviceKeys,

	schema.UptimeChecks:     (*builder).uptimeChecks,
	schema.UptimeIncidents:  (*builder).uptimeIncidents,
	schema.UptimeDays:       (*builder).uptimeDays,
	schema.NotifyRules:      (*builder).notifyRules,
	schema.NotifyDeliveries: (*builder).notifyDeliveries,
	schema.State:            (*builder).state,
	schema.Erasures:         (*builder).erasures,
	schema.Members:          (*builder).members,
	schema.Invites:          (*builder).invites,
	schema.Audit:            (*builder).audit,
	schema.Segments:         (*builder).segments,
	schema.Outbox:           (*builder).outbox,
}

// websites defines websites: the sites tracked, with their owner and settings.
func (b *builder) websites() {
	b.text("name", 255, true)
	b.text("domain", 2048, true)
	b.fields(&core.TextField{Name: "trackingId", Required: true, Max: 64, AutogeneratePattern: "[a-z0-9]{15}"})
	b.text("sdkVersion", 64, false)
	b.boolean("isArchived")
	b.boolean("storeRawIp")
	b.boolean("disableLocalhostTracking")
	b.json("ipBlacklist", 1<<16)
	b.fields(&core.NumberField{Name: "dataRetentionDays", OnlyInt: true, Min: types.Pointer(0.0)})
	b.relation("user", schema.Users)
	// new: the IANA time zone the site's days are counted in ("" is
	// UTC); summaries are hourly in UTC, so changing it applies to
	// all history at once
	b.text("timezone", schema.MaxTimezoneName, false)
	// new: email reports to the owner (none, weekly or monthly; empty
	// is none) and the last report period sent ("weekly 2026-11-16"),
	// so that a restart never sends one twice
	b.fields(&core.SelectField{Name: "reportFrequency", MaxSelect: 1, Values: schema.ReportFrequencies})
	b.text("lastReport", 64, false)
	// new: the saved segment the email reports are pinned to
	// (reportFilters, reportSegment; see pin)
	b.pin("report")
	// new: the site's home page (https://www.example.com/ or
	// http://localhost:8081/), which the SEO analysis and the uptime
	// checks fetch; the domain alone has lost its scheme and port.
	// Empty: https://<domain>/ (filled in on save). A text field: the
	// save hook checks it (PocketBase's URL field refuses some hosts a
	// test or an intranet site has)
	b.text("url", schema.MaxURL, false)
	// uptime monitoring (the Skopos dashboard's fields): on/off, the
	// interval in seconds (60 at least; 0 is the default, 300), the last
	// status ("up", "down" or empty) and check; new: the TLS
	// certificate's expiry as the last check saw it
	b.boolean("uptimeMonitoring")
	b.fields(&core.NumberField{Name: "uptimeCheckInterval", OnlyInt: true, Min: types.Pointer(0.0)})
	b.text("currentStatus", 16, false)
	b.fields(&core.DateField{Name: "lastUptimeCheck"}, &core.DateField{Name: "certExpiry"})
	b.index("trackingId", true, "trackingId")
}

// visitors defines visitors: one row per visitor of a website, with the
// user it was identified as.
func (b *builder) visitors() {
	b.relation("website", schema.Websites)
	b.text("visitorId", 255, true)
	b.text("userId", 255, false)
	b.text("name", 255, false)
	b.fields(&core.EmailField{Name: "email"})
	b.text("phone", 50, false)
	b.json("metadata", schema.MaxMetadata)
	b.index("website_visitorId", true, "website, visitorId")
	// new: the stats' account filters (user, identified, meta.<key>)
	// list a site's visitors by user id, or its identified ones, once
	// per statement; with id the list is read from the index alone
	b.index("website_userId", false, "website, userId, id")
}

// sessions defines sessions: one row per visit.
func (b *builder) sessions() {
	b.relation("website", schema.Websites)
	b.relation("visitor", schema.Visitors)
	b.text("browser", 255, false)
	b.text("os", 255, false)
	b.text("device", 50, false)
	b.text("screenWidth", 10, false)
	b.text("screenHeight", 10, false)
	b.text("language", schema.MaxLanguage, false)
	b.text("entryPath", schema.MaxPath, false)
	b.text("exitPath", schema.MaxPath, false)
	b.text("referrer", schema.MaxReferrer, false)
	b.text("country", 100, false)
	b.text("state", 100, false)
	b.text("ipAddress", 64, false)
	b.boolean("isNewVisitor")
	b.fields(&core.DateField{Name: "lastActivity"})
	// new: the time of the session's first event (created is the
	// later write time); summaries bucket sessions by its UTC day
	b.fields(&core.DateField{Name: "startedAt"})
	b.fields(&core.NumberField{Name: "seq", OnlyInt: true, Min: types.Pointer(1.0)})
	b.json("utm", schema.MaxUTMStored)
	// new: the session's pageView/custom event count and engagement,
	// so that a session continued after a restart or on another
	// instance keeps counting where it was
	b.fields(&core.NumberField{Name: "eventCount", OnlyInt: true, Min: types.Pointer(0.0)})
	b.boolean("isEngaged")
	// new: where the visit came from (internal/channel): the source
	// (Google, Gmail, a utm_source or the referrer's host) and the
	// channel by GA4's default rules, decided when the session opens
	b.text("source", schema.MaxSource, false)
	b.text("channel", schema.MaxChannel, false)
	// new: the engaged time of the session's page views, summed from
	// their engagement beacons
	b.fields(&core.NumberField{Name: "engagedMs", OnlyInt: true, Min: types.Pointer(0.0)})
	b.index("visitor_seq", true, "visitor, seq")
	b.index("website_created", false, "website, created")
	b.index("website_startedAt", false, "website, startedAt")
	b.index("website_lastActivity", false, "website, lastActivity")
	b.index("visitor_lastActivity", false, "visitor, lastActivity")
}

// events defines events: the page views, custom events and other events
// of a session.
func (b *builder) events() {
	b.relation("session", schema.Sessions)
	b.fields(&core.SelectField{Name: "type", MaxSelect: 1, Values: schema.EventTypes})
	b.text("path", schema.MaxPath, false)
	b.text("eventName", schema.MaxEventName, false)
	b.json("eventData", schema.MaxEventDataStored)
	b.relation("website", schema.Websites)
	b.fields(&core.DateField{Name: "timestamp"})
	// new: a page view's engaged time and deepest scroll (percent), the
	// largest its engagement beacons reported
	b.fields(&core.NumberField{Name: "engagedMs", OnlyInt: true, Min: types.Pointer(0.0)})
	b.fields(&core.NumberField{Name: "scrollDepth", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(100.0)})
	// the stats' median time on page and scroll depth read the engaged
	// page views of the top pages: covering, and partial (only page
	// views with engagement), so a report never reads the events' rows
	// for them, nor the index entries of page views without engagement
	b.c.AddIndex(schema.IndexName(b.c.Name, "website_path_engaged"), false,
		"website, path, timestamp, type, engagedMs, scrollDepth, session", "engagedMs > 0 OR scrollDepth > 0")
	b.index("session_timestamp", false, "session, timestamp")
	b.index("website_timestamp", false, "website, timestamp")
	// filtered stats, goals and funnels select events by page or
	// by custom event name within a period; type, session and id
	// make the indexes covering for them (no lookup of the event's
	// row: a page's views are spread over every page of the table)
	b.index("website_path_timestamp", false, "website, path, timestamp, type, session, id")
	b.index("website_eventName_timestamp", false, "website, eventName, timestamp, type, session, id")
	// new: the revenue of a custom event, in the minor units of the
	// ISO 4217 revenueCurrency (0 and "" without), and the order it paid
	b.fields(&core.NumberField{Name: "revenueAmount", OnlyInt: true, Min: types.Pointer(0.0), Max: types.Pointer(float64(schema.MaxRevenueAmount))})
	b.text("revenueCurrency", 3, false)
	b.text("orderId", schema.MaxOrderID, false)
	// the writer looks up each order's stored revenue (an order is paid
	// once); partial, since most events carry no order
	b.c.AddIndex(schema.IndexName(b.c.Name, "website_orderId"), false, "website, orderId", "orderId != ''")
}

// jsErrors defines js_errors: the JS errors of a website, one row per error
// group (message and location) with its lifetime count.
func (b *builder) jsErrors() {
	b.relation("website", schema.Websites)
	b.relation("session", schema.Sessions)
	b.text("errorHash", 64, true)
	b.text("errorMessage", schema.MaxErrorMessage, false)
	b.text("stackTrace", schema.MaxStackTrace, false)
	b.text("url", schema.MaxPath, false)
	b.fields(&core.NumberField{Name: "count", OnlyInt: true})
	b.fields(&core.DateField{Name: "lastSeen"})
	b.index("website_errorHash", true, "website, errorHash")
	b.index("website_lastSeen", false, "website, lastSeen")
}

// dashSum defines dash_sum: the hourly summaries of a website (UTC hours).
func (b *builder) dashSum() {
	b.relation("website", schema.Websites)
	b.fields(&core.DateField{Name: "date", Required: true})
	for _, n := range schema.SumCounters {
		b.fields(&core.NumberField{Name: n, OnlyInt: true})
	}
	// new: the row came from another tool's export (internal/importer),
	// not from raw rows: the stats API says which days are imported
	b.boolean("imported")
	b.index("website_date", true, "website, date")
}

// dashSumItems defines dash_sum_items: the breakdown counts of a website
// per UTC day.
func (b *builder) dashSumItems() {
	b.relation("website", schema.Websites)
	b.fields(&core.DateField{Name: "date", Required: true})
	b.fields(&core.SelectField{Name: "dimension", MaxSelect: 1, Values: schema.Dimensions, Required: true})
	b.text("key", schema.MaxDimensionKey, false)
	b.fields(&core.NumberField{Name: "count", OnlyInt: true})
	b.index("website_date_dimension_key", true, "website, date, dimension, key")
}

// spools defines skopos_spool: per intake log, the last record whose data
// is committed.
func (b *builder) spools() {
	// superuser-only (no API rules): it is the writer's bookkeeping
	b.fields(&core.NumberField{Name: "seq", OnlyInt: true, Min: types.Pointer(0.0)})
}

// outbox defines skopos_ch_outbox: rows committed for ClickHouse and not
// yet shipped, oldest first (created, then id).
func (b *builder) outbox() {
	// superuser-only (no API rules): the writer's bookkeeping
	b.fields(&core.SelectField{Name: "table", MaxSelect: 1, Required: true,
		Values: []string{"events", "sessions", "js_errors", "engagement"}})
	b.fields(&core.NumberField{Name: "rowCount", OnlyInt: true, Min: types.Pointer(0.0)})
	b.text("rows", schema.MaxOutboxRows, false)
	b.index("created", false, "created, id")
}

// secrets defines skopos_secrets: the server's own secrets (the visitor salt).
func (b *builder) secrets() {
	// superuser-only (no API rules): an owner who could read the
	// visitor salt could reverse visitor ids into IP addresses
	b.text("name", 100, true)
	b.text("value", 200, true)
	b.index("name", true, "name")
}

// goals defines goals: the goals of a website.
func (b *builder) goals() {
	b.relation("website", schema.Websites)
	b.text("name", 255, true)
	b.fields(&core.SelectField{Name: "type", MaxSelect: 1, Values: schema.GoalTypes, Required: true})
	b.text("match", schema.MaxGoalMatch, true)
	b.text("propertyKey", 255, false)
	b.text("propertyValue", 255, false)
	b.index("website_name", true, "website, name")
	b.ownerRules()
}

// funnels defines funnels: the funnels of a website.
func (b *builder) funnels() {
	b.relation("website", schema.Websites)
	b.text("name", 255, true)
	b.json("steps", 1<<14)
	b.index("website_name", true, "website, name")
	b.ownerRules()
}

// apiKeys defines skopos_api_keys: the API keys of the stats API.
func (b *builder) apiKeys() {
	// superuser-only (no API rules): managed through
	// /api/skopos/keys; the owner is a users or a superuser record
	// (exactly one of the two relations is set)
	b.relation("user", schema.Users)
	b.relation("superuser", schema.Superusers)
	b.text("name", schema.MaxAPIKeyName, true)
	// hex SHA-256 of the key; the key itself is never stored
	b.fields(&core.TextField{Name: "hash", Required: true, Min: 64, Max: 64})
	// trackingIds the key may read; null: every site its owner sees
	b.json("sites", 1<<16)
	b.fields(&core.DateField{Name: "expires"})
	b.fields(&core.DateField{Name: "lastUsed"})
	b.pin("")
	b.index("hash", true, "hash")
	b.index("user", false, "user")
	b.index("superuser", false, "superuser")
}

// shares defines skopos_shares: the shared links of a website's dashboard.
func (b *builder) shares() {
	// superuser-only (no API rules): managed through
	// /api/skopos/shares by whoever may see the website
	b.relation("website", schema.Websites)
	b.text("name", schema.MaxShareName, false)
	// hex SHA-256 of the token; the token itself is never stored
	b.fields(&core.TextField{Name: "hash", Required: true, Min: 64, Max: 64})
	// bcrypt hash of the optional password; empty: none
	b.fields(&core.TextField{Name: "password", Max: 100, Hidden: true})
	b.fields(&core.DateField{Name: "expires"})
	b.fields(&core.DateField{Name: "lastUsed"})
	b.pin("")
	b.index("hash", true, "hash")
	b.index("website", false, "website")
}

// seoData defines seo_data: a website's latest SEO analysis (the Skopos
// dashboard's fields) and the state of its analysis job.
func (b *builder) seoData() {
	b.cascade("website", schema.Websites)
	for _, n := range []string{"metaTags", "performanceScores", "lighthouseData", "technicalSeo", "socialMetaTags",
		"analysisWarnings", "recommendations", "headings", "images", "links"} {
		b.json(n, 1<<20)
	}
	b.fields(&core.NumberField{Name: "loadTime"}, &core.NumberField{Name: "pageSize"}, &core.DateField{Name: "lastAnalyzed"})
	// new: the score and its label, the strategy of the last run, and
	// the job: status, when it was asked for (at most one run per site
	// per minute), and why it failed
	b.fields(&core.NumberField{Name: "score", OnlyInt: true})
	b.text("label", 32, false)
	b.fields(&core.SelectField{Name: "strategy", MaxSelect: 1, Values: []string{"mobile", "desktop"}})
	b.fields(&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"pending", "running", "done", "failed"}})
	b.fields(&core.DateField{Name: "requestedAt"})
	b.text("error", 2048, false)
	b.index("website", true, "website")
	b.index("status", false, "status")
}

// seoHistory defines seo_history: one row per finished SEO analysis.
func (b *builder) seoHistory() {
	b.cascade("website", schema.Websites)
	b.fields(&core.DateField{Name: "analyzedAt", Required: true})
	b.fields(&core.SelectField{Name: "strategy", MaxSelect: 1, Values: []string{"mobile", "desktop"}})
	b.fields(&core.NumberField{Name: "score", OnlyInt: true})
	b.text("label", 32, false)
	// PageSpeed's performance score, when hasPerformance (a number
	// field cannot hold null, and 0 is a score)
	b.fields(&core.NumberField{Name: "performance", OnlyInt: true})
	b.boolean("hasPerformance")
	b.fields(&core.NumberField{Name: "critical", OnlyInt: true}, &core.NumberField{Name: "high", OnlyInt: true})
	b.index("website_analyzedAt", false, "website, analyzedAt")
}

// serviceKeys defines api_keys: the key vault.
func (b *builder) serviceKeys() {
	// superuser-only (no API rules): managed through the dashboard; the
	// owner is a users record (the Skopos dashboard's field) or, new, a
	// superuser (exactly one of the two is set)
	b.relation("user", schema.Users)
	b.relation("superuser", schema.Superusers)
	// the service's name (google_pagespeed, …): text, the list is open
	b.text("service", 64, true)
	b.text("label", schema.MaxServiceKeyLabel, false)
	// the sealed key (internal/vault); never the key itself
	b.fields(&core.TextField{Name: "encryptedKey", Required: true, Max: 3 * schema.MaxServiceKey, Hidden: true})
	b.boolean("isActive")
	b.fields(&core.DateField{Name: "lastUsed"})
	b.fields(&core.NumberField{Name: "usageCount", OnlyInt: true, Min: types.Pointer(0.0)})
	b.json("metadata", 1<<14)
	b.index("user_service", false, "user, service")
	b.index("superuser_service", false, "superuser, service")
}

// uptimeChecks defines uptime_checks: every check of a website.
func (b *builder) uptimeChecks() {
	b.cascade("website", schema.Websites)
	b.boolean("isUp")
	b.fields(&core.NumberField{Name: "statusCode", OnlyInt: true}, &core.NumberField{Name: "responseTime"})
	b.text("error", 1024, false)
	b.boolean("ssl")
	b.fields(&core.NumberField{Name: "contentLength"}, &core.DateField{Name: "timestamp"})
	// new: the TLS certificate's expiry (https only)
	b.fields(&core.DateField{Name: "certExpiry"})
	b.index("website_timestamp", false, "website, timestamp")
}

// uptimeIncidents defines uptime_incidents: the down periods of a website.
func (b *builder) uptimeIncidents() {
	b.cascade("website", schema.Websites)
	b.fields(&core.DateField{Name: "startTime"}, &core.DateField{Name: "endTime"})
	// milliseconds, as the Skopos dashboard stores it
	b.fields(&core.NumberField{Name: "duration", OnlyInt: true})
	b.boolean("isResolved")
	b.text("error", 1024, false)
	b.fields(&core.NumberField{Name: "statusCode", OnlyInt: true})
	b.index("website_isResolved_startTime", false, "website, isResolved, startTime")
}

// uptimeDays defines uptime_days: the daily roll-up of uptime checks.
func (b *builder) uptimeDays() {
	b.cascade("website", schema.Websites)
	b.fields(&core.DateField{Name: "date", Required: true})
	for _, n := range []string{"checks", "upChecks", "incidents"} {
		b.fields(&core.NumberField{Name: n, OnlyInt: true, Min: types.Pointer(0.0)})
	}
	// milliseconds
	b.fields(&core.NumberField{Name: "avgResponseTime"}, &core.NumberField{Name: "p95ResponseTime"},
		&core.NumberField{Name: "downtime", OnlyInt: true})
	b.index("website_date", true, "website, date")
}

// notifyRules defines notyf_rules: the notification rules.
func (b *builder) notifyRules() {
	// superuser-only (no API rules): managed through the dashboard
	b.relation("user", schema.Users)
	b.relation("superuser", schema.Superusers) // new: a superuser's own rule
	b.cascade("website", schema.Websites)      // empty: every site of the user
	b.text("name", 255, false)
	b.fields(&core.SelectField{Name: "eventType", MaxSelect: 1, Values: schema.NotifyEvents, Required: true})
	b.fields(&core.EmailField{Name: "recipientEmail"})
	b.text("customEventName", schema.MaxEventName, false)
	// the Skopos dashboard's settings (notifyOn: up, down or both)
	b.json("metadata", 1<<14)
	b.boolean("isActive")
	b.fields(&core.DateField{Name: "lastTriggered"})
	b.fields(&core.NumberField{Name: "triggerCount", OnlyInt: true, Min: types.Pointer(0.0)})
	// new: a webhook (JSON POST signed with HMAC-SHA256 of the secret),
	// the rule's threshold (errors per hour, spike/drop percent, hours
	// without events), and the last delivery failure
	b.text("webhookUrl", schema.MaxURL, false)
	b.fields(&core.TextField{Name: "webhookSecret", Max: 128, Hidden: true})
	b.fields(&core.NumberField{Name: "threshold"})
	b.text("lastError", 1024, false)
	b.fields(&core.DateField{Name: "lastErrorAt"})
	b.index("user_isActive_eventType", false, "user, isActive, eventType")
	b.index("eventType_isActive", false, "eventType, isActive")
}

// notifyDeliveries defines notyf_deliveries: the notifications' outbox.
func (b *builder) notifyDeliveries() {
	b.cascade("rule", schema.NotifyRules)
	// what triggered it, unique per rule: an event id, "uptime:<check
	// id>", "spike:<site>:<hour>", …
	b.text("eventKey", 255, true)
	b.fields(&core.SelectField{Name: "channel", MaxSelect: 1, Values: []string{"email", "webhook"}})
	b.fields(&core.SelectField{Name: "status", MaxSelect: 1, Values: []string{"pending", "sent", "failed", "digested"}})
	b.text("subject", 512, false)
	b.json("payload", 1<<16)
	b.fields(&core.NumberField{Name: "attempts", OnlyInt: true, Min: types.Pointer(0.0)})
	b.fields(&core.DateField{Name: "nextAttempt"}, &core.DateField{Name: "sentAt"})
	b.text("error", 1024, false)
	b.index("rule_eventKey_channel", true, "rule, eventKey, channel")
	b.index("status_nextAttempt", false, "status, nextAttempt")
	b.index("rule_created", false, "rule, created")
}

// state defines skopos_state: small named values of background jobs.
func (b *builder) state() {
	b.text("name", 100, true)
	b.text("value", 1024, false)
	b.index("name", true, "name")
}

// erasures defines skopos_erasures: the erasure log (who erased what kind
// of data of a website, and how many rows went).
func (b *builder) erasures() {
	b.cascade("website", schema.Websites)
	b.fields(&core.SelectField{Name: "kind", MaxSelect: 1, Values: []string{"session", "visitor", "user"}, Required: true})
	// "users/<id>" or "_superusers/<id>", " (API key)" through a key
	b.text("actor", 255, false)
	for _, n := range []string{"visitors", "sessions", "events", "jsErrors", "summaries"} {
		b.fields(&core.NumberField{Name: n, OnlyInt: true, Min: types.Pointer(0.0)})
	}
	b.index("website_created", false, "website, created")
}
