// Package schema defines the Skopos PocketBase collections as Go code: the one
// source of truth for both the embedded server's migrations and
// `skopos schema apply`, which pushes the same collections to a remote
// PocketBase over its REST API.
//
// The definitions follow the Skopos PocketBase schema (same collection names,
// field names and field types, so tools that read Skopos data read ours) and
// add what the Go pipeline relies on: UNIQUE indexes that make concurrent
// writers race-free, and the fields marked "new" in SPEC §3.
//
// Applying is convergent: collections that are missing are created, and for
// existing ones Skopos' fields and indexes are added or updated while fields
// and indexes that a user added are kept. Applying twice changes nothing.
//
//	// embedded (inside a PocketBase app, e.g. from a migration):
//	changed, err := schema.Apply(app)
package schema

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// Collection names.
const (
	Websites     = "websites"
	Visitors     = "visitors"
	Sessions     = "sessions"
	Events       = "events"
	JSErrors     = "js_errors"
	DashSum      = "dash_sum"
	DashSumItems = "dash_sum_items"

	// UsersCollectionId is the id of PocketBase's default "users" auth
	// collection, which websites.user points to.
	usersCollection = "users"
)

// Names lists every Skopos collection in dependency order (a collection
// comes after the collections its relations point to).
var Names = []string{Websites, Visitors, Sessions, Events, JSErrors, DashSum, DashSumItems}

// Event types accepted by events.type (the Skopos select values).
var EventTypes = []string{"pageView", "custom", "click", "form_submission", "revenue"}

// Dimensions are the dash_sum_items.dimension values.
var Dimensions = []string{
	"page", "entryPage", "exitPage", "referrer", "device", "browser", "os",
	"language", "country", "customEvent", "jsError",
}

// Stored-length limits: each text field's max is at least what the pipeline
// stores in it (SPEC §4), so no accepted value can fail at PocketBase.
const (
	MaxPath         = 2048
	MaxReferrer     = 4096
	MaxEventName    = 255
	MaxErrorMessage = 512
	MaxStackTrace   = 4096
	MaxLanguage     = 100
	MaxDimensionKey = 512
	MaxMetadata     = 8192
	// JSON limits are in bytes as PocketBase serializes them; PocketBase's
	// encoder escapes <, > and & as \u00XX (6 bytes), so a payload the
	// pipeline accepted at 8192 bytes can grow up to 6x when stored.
	MaxEventDataStored = 6 * 8192
	MaxUTMStored       = 16384
)

// IDResolver returns the id of the collection with the given name, so that
// relation fields point at the collection that really exists in the target
// PocketBase (a collection created through the admin UI has a random id).
type IDResolver func(name string) (string, error)

// Collections returns the desired Skopos collections in dependency order.
// Relation targets are resolved by name with resolve.
func Collections(resolve IDResolver) ([]*core.Collection, error) {
	out := make([]*core.Collection, 0, len(Names))
	for _, name := range Names {
		c, err := Collection(name, resolve)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Collection returns the desired definition of one Skopos collection.
func Collection(name string, resolve IDResolver) (*core.Collection, error) {
	b := builder{c: core.NewBaseCollection(name), resolve: resolve}
	switch name {
	case Websites:
		b.text("name", 255, true)
		b.text("domain", 2048, true)
		b.fields(&core.TextField{Name: "trackingId", Required: true, Max: 64, AutogeneratePattern: "[a-z0-9]{15}"})
		b.text("sdkVersion", 64, false)
		b.boolean("isArchived")
		b.boolean("storeRawIp")
		b.boolean("disableLocalhostTracking")
		b.json("ipBlacklist", 1<<16)
		b.fields(&core.NumberField{Name: "dataRetentionDays", OnlyInt: true, Min: types.Pointer(0.0)})
		b.relation("user", usersCollection)
		b.index("trackingId", true, "trackingId")
	case Visitors:
		b.relation("website", Websites)
		b.text("visitorId", 255, true)
		b.text("userId", 255, false)
		b.text("name", 255, false)
		b.fields(&core.EmailField{Name: "email"})
		b.text("phone", 50, false)
		b.json("metadata", MaxMetadata)
		b.index("website_visitorId", true, "website, visitorId")
	case Sessions:
		b.relation("website", Websites)
		b.relation("visitor", Visitors)
		b.text("browser", 255, false)
		b.text("os", 255, false)
		b.text("device", 50, false)
		b.text("screenWidth", 10, false)
		b.text("screenHeight", 10, false)
		b.text("language", MaxLanguage, false)
		b.text("entryPath", MaxPath, false)
		b.text("exitPath", MaxPath, false)
		b.text("referrer", MaxReferrer, false)
		b.text("country", 100, false)
		b.text("state", 100, false)
		b.text("ipAddress", 64, false)
		b.boolean("isNewVisitor")
		b.fields(&core.DateField{Name: "lastActivity"})
		// new: the time of the session's first event (created is the
		// later write time); summaries bucket sessions by its UTC day
		b.fields(&core.DateField{Name: "startedAt"})
		b.fields(&core.NumberField{Name: "seq", OnlyInt: true, Min: types.Pointer(1.0)})
		b.json("utm", MaxUTMStored)
		// new: the session's pageView/custom event count and engagement,
		// so that a session continued after a restart or on another
		// instance keeps counting where it was
		b.fields(&core.NumberField{Name: "eventCount", OnlyInt: true, Min: types.Pointer(0.0)})
		b.boolean("isEngaged")
		b.index("visitor_seq", true, "visitor, seq")
		b.index("website_created", false, "website, created")
		b.index("website_startedAt", false, "website, startedAt")
		b.index("website_lastActivity", false, "website, lastActivity")
		b.index("visitor_lastActivity", false, "visitor, lastActivity")
	case Events:
		b.relation("session", Sessions)
		b.fields(&core.SelectField{Name: "type", MaxSelect: 1, Values: EventTypes})
		b.text("path", MaxPath, false)
		b.text("eventName", MaxEventName, false)
		b.json("eventData", MaxEventDataStored)
		b.relation("website", Websites)
		b.fields(&core.DateField{Name: "timestamp"})
		b.index("session_timestamp", false, "session, timestamp")
		b.index("website_timestamp", false, "website, timestamp")
		b.index("type_eventName", false, "type, eventName")
	case JSErrors:
		b.relation("website", Websites)
		b.relation("session", Sessions)
		b.text("errorHash", 64, true)
		b.text("errorMessage", MaxErrorMessage, false)
		b.text("stackTrace", MaxStackTrace, false)
		b.text("url", MaxPath, false)
		b.fields(&core.NumberField{Name: "count", OnlyInt: true})
		b.fields(&core.DateField{Name: "lastSeen"})
		b.index("website_errorHash", true, "website, errorHash")
		b.index("website_lastSeen", false, "website, lastSeen")
	case DashSum:
		b.relation("website", Websites)
		b.fields(&core.DateField{Name: "date", Required: true})
		for _, n := range []string{"pageViews", "visitors", "newVisitors", "returningVisitors",
			"engagedSessions", "bounces", "durationSeconds", "jsErrors"} {
			b.fields(&core.NumberField{Name: n, OnlyInt: true})
		}
		b.index("website_date", true, "website, date")
	case DashSumItems:
		b.relation("website", Websites)
		b.fields(&core.DateField{Name: "date", Required: true})
		b.fields(&core.SelectField{Name: "dimension", MaxSelect: 1, Values: Dimensions, Required: true})
		b.text("key", MaxDimensionKey, false)
		b.fields(&core.NumberField{Name: "count", OnlyInt: true})
		b.index("website_date_dimension_key", true, "website, date, dimension, key")
	default:
		return nil, fmt.Errorf("schema: unknown collection %q", name)
	}
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

type builder struct {
	c       *core.Collection
	resolve IDResolver
	err     error
}

func (b *builder) fields(f ...core.Field) { b.c.Fields.Add(f...) }

func (b *builder) text(name string, max int, required bool) {
	b.fields(&core.TextField{Name: name, Max: max, Required: required})
}

func (b *builder) boolean(name string) { b.fields(&core.BoolField{Name: name}) }

func (b *builder) json(name string, maxSize int64) {
	b.fields(&core.JSONField{Name: name, MaxSize: maxSize})
}

// relation adds a single, optional relation without cascade delete, as in
// the Skopos schema: deleting a website must not start a delete of millions
// of rows inside one request (retention does that in bulk instead).
func (b *builder) relation(name, target string) {
	id, err := b.resolve(target)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("schema: %s.%s: resolve %q: %w", b.c.Name, name, target, err)
	}
	b.fields(&core.RelationField{Name: name, CollectionId: id, MaxSelect: 1})
}

func (b *builder) index(suffix string, unique bool, columns string) {
	b.c.AddIndex(IndexName(b.c.Name, suffix), unique, columns, "")
}

// IndexName is the name Skopos gives to its index on collection.
func IndexName(collection, suffix string) string {
	return "idx_skopos_" + collection + "_" + suffix
}
