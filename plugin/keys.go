package plugin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/apikey"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/internal/window"
	"github.com/skopos-go/skopos/schema"
)

// KeysPath manages the stats API keys of the caller (a PocketBase auth
// token of a superuser or a users record; a key cannot manage keys):
//
//	POST   /api/skopos/keys       {"name", "sites"?: [trackingId], "expires"?: RFC 3339, "segment"?: id} → {"id", "key"}
//	GET    /api/skopos/keys       → [{"id", "name", "sites", "segment", "expires", "created", "lastUsed"}]
//	DELETE /api/skopos/keys/<id>  revokes a key (its owner or a superuser)
//
// The key is answered once, when it is created; only its SHA-256 hash is
// stored. "Authorization: Bearer <key>" then reads the stats API
// (StatsPath, PropertiesPath, FunnelPath, ExportPath, LivePath) as the
// key's owner, restricted
// to the key's sites (omitted: every site the owner sees at the time of
// the request). See the README ("API keys").
const KeysPath = "/api/skopos/keys"

// KeyPrefix starts every API key, so a key is recognisable (in a leaked
// file, in a secret scanner's rules) and never mistaken for a PocketBase
// token.
const KeyPrefix = apikey.Prefix

// keyAuth resolves API keys for the stats routes and counts failed
// attempts per client address and per key prefix (apikey.PrefixOf).
type keyAuth struct {
	clientIP func(*http.Request) netip.Addr
	fails    *window.Limiter[netip.Addr] // failed keys per address in a minute; nil: not limited
	prefixes *window.Limiter[string]     // failed keys per key prefix in a minute; nil with fails
	// shares opens the shared links of "?share=<token>" requests; nil:
	// the route does not take them
	shares *share.Guard
}

func (p *plugin) mountKeys(e *core.ServeEvent) {
	e.Router.POST(KeysPath, createKey)
	e.Router.GET(KeysPath, listKeys)
	e.Router.DELETE(KeysPath+"/{id}", revokeKey)
}

// keyOwner returns the caller of a keys or shares route: a
// PocketBase-authenticated superuser or users record (never an API key
// or a shared link).
func keyOwner(e *core.RequestEvent) (*core.Record, error) {
	if !apikey.CanOwn(e.Auth) {
		return nil, e.UnauthorizedError("A superuser or users auth token is required.", nil)
	}
	return e.Auth, nil
}

type keyInput struct {
	Name    string    `json:"name"`
	Sites   *[]string `json:"sites"`
	Expires string    `json:"expires"`
	Segment string    `json:"segment"`
}

func createKey(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	var in keyInput
	if err := json.NewDecoder(http.MaxBytesReader(e.Response, e.Request.Body, 1<<16)).Decode(&in); err != nil {
		return e.BadRequestError("The body must be a JSON object {name, sites?, expires?, segment?}.", err)
	}
	spec := apikey.Input{Name: in.Name, Expires: in.Expires, Segment: in.Segment}
	if in.Sites != nil {
		// present, even as [], is a scope; apikey refuses an empty one
		spec.Sites = append([]string{}, *in.Sites...)
	}
	id, key, err := apikey.Create(e.App, auth, spec, time.Now())
	if err != nil {
		if bad, ok := errors.AsType[*apikey.InvalidError](err); ok {
			return e.BadRequestError(bad.Message, bad.Err)
		}
		return e.InternalServerError("", err)
	}
	if rec, err := e.App.FindRecordById(schema.APIKeys, id); err == nil {
		_ = audit.LogKey(e.App, auth, false, audit.KeyCreate, rec) // a failure is logged there
	}
	return e.JSON(http.StatusCreated, map[string]string{"id": id, "key": key})
}

// keyInfo is a key as listed (never the key or its hash).
type keyInfo struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Sites    []string `json:"sites"`   // null: every site of the owner
	Segment  string   `json:"segment"` // the pinned segment's name; "": none
	Expires  string   `json:"expires"`
	Created  string   `json:"created"`
	LastUsed string   `json:"lastUsed"`
}

func listKeys(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	keys, err := apikey.List(e.App, auth)
	if err != nil {
		return e.InternalServerError("", err)
	}
	out := make([]keyInfo, 0, len(keys))
	for _, k := range keys {
		out = append(out, keyInfo{
			ID: k.ID, Name: k.Name, Sites: k.Sites, Segment: k.Segment,
			Expires: k.Expires.String(), Created: k.Created.String(), LastUsed: k.LastUsed.String(),
		})
	}
	return e.JSON(http.StatusOK, out)
}

func revokeKey(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	// read before it goes: its rows name its name and scope
	rec, _ := e.App.FindRecordById(schema.APIKeys, e.Request.PathValue("id"))
	switch err := apikey.Revoke(e.App, auth, e.Request.PathValue("id")); {
	case errors.Is(err, apikey.ErrNotFound):
		return e.NotFoundError("API key not found.", nil)
	case err != nil:
		return e.InternalServerError("", err)
	}
	_ = audit.LogKey(e.App, auth, false, audit.KeyRevoke, rec) // a failure is logged there
	return e.NoContent(http.StatusNoContent)
}

// caller returns who a stats request reads as: the PocketBase-authenticated
// record, or the owner of the API key in "Authorization: Bearer <key>",
// the key's site scope (nil: every site the owner sees) and the filters
// it is pinned to (nil: none). A request with neither is 401, as is a
// refused key.
func (k *keyAuth) caller(e *core.RequestEvent, now time.Time) (apikey.Resolved, error) {
	if e.Auth != nil {
		return apikey.Resolved{Owner: e.Auth}, nil
	}
	key, ok := bearerKey(e.Request)
	if !ok {
		return apikey.Resolved{}, e.UnauthorizedError("A superuser or users auth token, or an API key, is required.", nil)
	}
	var ip netip.Addr
	prefix := apikey.PrefixOf(key)
	if k.fails != nil {
		ip = k.clientIP(e.Request)
		if k.fails.Blocked(ip) || k.prefixes.Blocked(prefix) {
			return apikey.Resolved{}, e.TooManyRequestsError("Too many invalid API keys, try again later.", nil)
		}
	}
	r, err := apikey.Lookup(e.App, key, now)
	if err != nil {
		if k.fails != nil {
			k.fails.Add(ip)
			k.prefixes.Add(prefix)
		}
		if errors.Is(err, apikey.ErrBadKey) {
			return apikey.Resolved{}, e.UnauthorizedError("Invalid or expired API key.", nil)
		}
		return apikey.Resolved{}, e.InternalServerError("", err)
	}
	return r, nil
}

// bearerKey returns the API key of "Authorization: Bearer sk_…" (the
// scheme is optional, as for PocketBase's tokens).
func bearerKey(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		h = h[7:]
	}
	return h, strings.HasPrefix(h, KeyPrefix)
}
