// Package apikey is Skopos' stats API keys: creating a key for its owner
// (a superuser or a record of the users collection), listing and revoking
// an owner's keys, and resolving a presented key to its owner and site
// scope. The REST routes (/api/skopos/keys, the Bearer auth of the stats
// routes) and the dashboard's API keys page both use it, so the two
// accept and refuse exactly the same things.
//
// A key is Prefix followed by a token (internal/token): only its SHA-256
// hash is stored (collection skopos_api_keys), so a key can be shown
// once, when it is created, and never again.
package apikey

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/token"
	"github.com/skopos-go/skopos/schema"
)

// Prefix starts every API key, so a key is recognisable (in a leaked
// file, in a secret scanner's rules) and never mistaken for a PocketBase
// token.
const Prefix = "sk_"

// Shown is how much of a key identifies it where the rest is hidden (a
// log line, a secret scanner's finding): Prefix and 8 characters of the
// token, 48 of its 256 bits.
const Shown = len(Prefix) + 8

// PrefixOf is key's first Shown characters (all of a shorter key): the
// part failed attempts are counted under, so that guesses at the rest of
// a partly leaked key are limited from any number of addresses. Only
// someone who already holds that part can get a real key refused.
func PrefixOf(key string) string {
	return key[:min(len(key), Shown)]
}

// ErrNotFound is returned by Revoke and RevokeOwn for a key that does not
// exist or that the caller may not revoke; the two look the same so that
// key ids of other accounts cannot be probed.
var ErrNotFound = errors.New("API key not found")

// ErrBadKey is every reason Resolve refuses a key: unknown, revoked,
// expired, or its owner deleted. It does not say which.
var ErrBadKey = errors.New("invalid API key")

// InvalidError is a new key's input that Create refuses. Message is the
// sentence the REST API answers with (as a 400) and the dashboard shows.
type InvalidError struct {
	Message string
	Err     error // the underlying cause, if any (a time parse error)
}

func (e *InvalidError) Error() string { return e.Message }
func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(format string, args ...any) error {
	return &InvalidError{Message: fmt.Sprintf(format, args...)}
}

// Input is what a new key is made of.
type Input struct {
	// Name tells the owner's keys apart; required, at most
	// schema.MaxAPIKeyName bytes after trimming spaces.
	Name string
	// Sites are the trackingIds of the websites the key may read; each
	// must be one the owner may see. Nil: every website the owner sees
	// at the time of each request. Empty but not nil is refused, so that
	// a client that meant "these sites" and sent none does not get a key
	// for all of them.
	Sites []string
	// Expires is when the key stops working, in RFC 3339; it must be in
	// the future. Empty: never.
	Expires string
	// Segment, when not empty, is the id of a saved segment the owner
	// may use on a website it administers: the key then reads only that
	// website (Sites must be nil or name it alone) and only that segment
	// (a copy of its filters, see package segment).
	Segment string
}

// Key is a key as listed: never the key or its hash.
type Key struct {
	ID       string
	Name     string
	Sites    []string // trackingIds; nil: every website of the owner
	Segment  string   // name of the segment the key is pinned to; "": none
	Expires  types.DateTime
	Created  types.DateTime
	LastUsed types.DateTime // zero: never used
}

// CanOwn reports whether auth may own (and so create, list and revoke)
// keys: a superuser or a record of the users collection.
func CanOwn(auth *core.Record) bool {
	return auth != nil && (auth.IsSuperuser() || auth.Collection().Name == schema.Users)
}

// ownerField is the skopos_api_keys relation that points at owner.
func ownerField(owner *core.Record) string {
	if owner.IsSuperuser() {
		return "superuser"
	}
	return "user"
}

// errNotOwner guards the functions against a caller that skipped CanOwn:
// a record of another auth collection must not become a "user" relation.
var errNotOwner = errors.New("apikey: only a superuser or a users record owns API keys")

// Create makes a key for owner and returns its record id and the key
// itself, which is not stored and cannot be read again. A refused input
// is an *InvalidError, checked in this order: name, sites, expiry.
func Create(app core.App, owner *core.Record, in Input, now time.Time) (id, key string, err error) {
	if !CanOwn(owner) {
		return "", "", errNotOwner
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > schema.MaxAPIKeyName {
		return "", "", invalid("name is required (at most %d bytes)", schema.MaxAPIKeyName)
	}
	col, err := app.FindCollectionByNameOrId(schema.APIKeys)
	if err != nil {
		return "", "", fmt.Errorf("skopos: api keys collection: %w", err)
	}
	rec := core.NewRecord(col)
	if in.Sites != nil {
		if len(in.Sites) == 0 {
			return "", "", invalid("sites must name at least one website (omit it for all of yours)")
		}
		for _, tid := range in.Sites {
			site, err := app.FindFirstRecordByData(schema.Websites, "trackingId", tid)
			if err != nil || !access.Can(app, owner, site, access.Admin) {
				return "", "", invalid("sites: no website %q you own or administer", tid)
			}
		}
		rec.Set("sites", slices.Compact(slices.Sorted(slices.Values(in.Sites))))
	}
	if in.Segment != "" {
		pin, site, err := segment.PinOf(app, owner, nil, in.Segment)
		if err != nil || !access.Can(app, owner, site, access.Admin) {
			return "", "", invalid("segment: no saved segment %q of a website you own or administer", in.Segment)
		}
		tid := site.GetString("trackingId")
		if in.Sites != nil && slices.ContainsFunc(in.Sites, func(s string) bool { return s != tid }) {
			return "", "", invalid("sites: a key pinned to a segment reads only the segment's website")
		}
		rec.Set("sites", []string{tid})
		pin.Apply(rec, "")
	}
	if in.Expires != "" {
		t, err := time.Parse(time.RFC3339, in.Expires)
		if err != nil {
			return "", "", &InvalidError{Message: "expires must be an RFC 3339 time", Err: err}
		}
		if !t.After(now) {
			return "", "", invalid("expires is in the past")
		}
		rec.Set("expires", t.UTC())
	}
	key, hash, err := token.New(Prefix)
	if err != nil {
		return "", "", fmt.Errorf("skopos: api key: %w", err)
	}
	rec.Set(ownerField(owner), owner.Id)
	rec.Set("name", name)
	rec.Set("hash", hash)
	if err := app.Save(rec); err != nil {
		return "", "", fmt.Errorf("skopos: save api key: %w", err)
	}
	return rec.Id, key, nil
}

// List returns owner's keys, oldest first. Only the owner's own: a
// superuser sees other accounts' keys in the skopos_api_keys collection,
// not here.
func List(app core.App, owner *core.Record) ([]Key, error) {
	if !CanOwn(owner) {
		return nil, errNotOwner
	}
	recs, err := app.FindRecordsByFilter(schema.APIKeys, ownerField(owner)+" = {:id}", "created", 0, 0, dbx.Params{"id": owner.Id})
	if err != nil {
		return nil, fmt.Errorf("skopos: list api keys: %w", err)
	}
	out := make([]Key, 0, len(recs))
	for _, r := range recs {
		out = append(out, Key{
			ID: r.Id, Name: r.GetString("name"), Sites: siteScope(r), Segment: r.GetString("segment"),
			Expires: r.GetDateTime("expires"), Created: r.GetDateTime("created"), LastUsed: r.GetDateTime("lastUsed"),
		})
	}
	return out, nil
}

// siteScope is the key's sites; nil means every site of its owner.
func siteScope(r *core.Record) []string {
	var s []string
	if err := r.UnmarshalJSONField("sites", &s); err != nil || s == nil {
		return nil
	}
	return s
}

// Revoke deletes the key id if caller owns it or is a superuser (who may
// manage every record, as in PocketBase's own API); otherwise it returns
// ErrNotFound.
func Revoke(app core.App, caller *core.Record, id string) error {
	return revoke(app, caller, id, true)
}

// RevokeOwn deletes the key id only if caller owns it, superuser or not;
// otherwise it returns ErrNotFound. It suits a page that lists the
// caller's own keys: an id it did not list is not the caller's to revoke.
func RevokeOwn(app core.App, caller *core.Record, id string) error {
	return revoke(app, caller, id, false)
}

func revoke(app core.App, caller *core.Record, id string, superAny bool) error {
	if !CanOwn(caller) {
		return ErrNotFound
	}
	rec, err := app.FindRecordById(schema.APIKeys, id)
	if err != nil || !((superAny && caller.IsSuperuser()) || rec.GetString(ownerField(caller)) == caller.Id) {
		// someone else's key looks exactly like an unknown one
		return ErrNotFound
	}
	if err := app.Delete(rec); err != nil {
		return fmt.Errorf("skopos: revoke api key: %w", err)
	}
	return nil
}

// Resolve finds key's owner and site scope (nil: every site the owner
// sees), and records the key's use (at most once a minute). Every refusal
// is ErrBadKey; other errors do not occur.
func Resolve(app core.App, key string, now time.Time) (owner *core.Record, sites []string, err error) {
	r, err := Lookup(app, key, now)
	return r.Owner, r.Sites, err
}

// Resolved is what a key reads as.
type Resolved struct {
	Owner *core.Record
	Sites []string // trackingIds; nil: every site the owner sees
	// Pinned are the filters of the segment the key is pinned to (nil:
	// none): every report the key reads must add them.
	Pinned []stats.Filter
}

// Lookup is Resolve with the key's pinned filters. A key whose pinned
// filters cannot be read is ErrBadKey: refused, never read unfiltered.
func Lookup(app core.App, key string, now time.Time) (Resolved, error) {
	rec, ok := token.Find(app, schema.APIKeys, key, now)
	if !ok {
		return Resolved{}, ErrBadKey
	}
	pinned, _, err := segment.Pinned(rec, "")
	if err != nil {
		app.Logger().Error("skopos: API key refused", "error", err)
		return Resolved{}, ErrBadKey
	}
	var owner *core.Record
	switch {
	case rec.GetString("user") != "":
		owner, err = app.FindRecordById(schema.Users, rec.GetString("user"))
	case rec.GetString("superuser") != "":
		owner, err = app.FindRecordById(core.CollectionNameSuperusers, rec.GetString("superuser"))
	default:
		err = ErrBadKey
	}
	if err != nil {
		return Resolved{}, ErrBadKey
	}
	token.Touch(app, rec, now)
	return Resolved{Owner: owner, Sites: siteScope(rec), Pinned: pinned}, nil
}
