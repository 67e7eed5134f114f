package plugin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/schema"
)

// KeysPath manages the stats API keys of the caller (a PocketBase auth
// token of a superuser or a users record; a key cannot manage keys):
//
//	POST   /api/skopos/keys       {"name", "sites"?: [trackingId], "expires"?: RFC 3339} → {"id", "key"}
//	GET    /api/skopos/keys       → [{"id", "name", "sites", "expires", "created", "lastUsed"}]
//	DELETE /api/skopos/keys/<id>  revokes a key (its owner or a superuser)
//
// The key is answered once, when it is created; only its SHA-256 hash is
// stored. "Authorization: Bearer <key>" then reads the stats API
// (StatsPath, PropertiesPath, FunnelPath) as the key's owner, restricted
// to the key's sites (omitted: every site the owner sees at the time of
// the request). See the README ("API keys").
const KeysPath = "/api/skopos/keys"

// KeyPrefix starts every API key, so a key is recognisable (in a leaked
// file, in a secret scanner's rules) and never mistaken for a PocketBase
// token.
const KeyPrefix = "sk_"

// lastUsedEvery is how often a key's lastUsed is written at most.
const lastUsedEvery = time.Minute

// keyAuth resolves API keys for the stats routes and counts failed
// attempts per client address.
type keyAuth struct {
	clientIP func(*http.Request) netip.Addr
	fails    *failCounter // nil: failed attempts are not limited
	// shares opens the shared links of "?share=<token>" requests; nil:
	// the route does not take them
	shares *share.Guard
}

func (p *plugin) mountKeys(e *core.ServeEvent) {
	e.Router.POST(KeysPath, createKey)
	e.Router.GET(KeysPath, listKeys)
	e.Router.DELETE(KeysPath+"/{id}", revokeKey)
}

// keyOwner returns the caller of a keys route: a PocketBase-authenticated
// superuser or users record.
func keyOwner(e *core.RequestEvent) (*core.Record, error) {
	if e.Auth == nil || !(e.Auth.IsSuperuser() || e.Auth.Collection().Name == schema.Users) {
		return nil, e.UnauthorizedError("A superuser or users auth token is required.", nil)
	}
	return e.Auth, nil
}

// ownerField is the skopos_api_keys relation that points at auth.
func ownerField(auth *core.Record) string {
	if auth.IsSuperuser() {
		return "superuser"
	}
	return "user"
}

type keyInput struct {
	Name    string    `json:"name"`
	Sites   *[]string `json:"sites"`
	Expires string    `json:"expires"`
}

func createKey(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	var in keyInput
	if err := json.NewDecoder(http.MaxBytesReader(e.Response, e.Request.Body, 1<<16)).Decode(&in); err != nil {
		return e.BadRequestError("The body must be a JSON object {name, sites?, expires?}.", err)
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > schema.MaxAPIKeyName {
		return e.BadRequestError(fmt.Sprintf("name is required (at most %d bytes)", schema.MaxAPIKeyName), nil)
	}
	col, err := e.App.FindCollectionByNameOrId(schema.APIKeys)
	if err != nil {
		return e.InternalServerError("", fmt.Errorf("skopos: api keys collection: %w", err))
	}
	rec := core.NewRecord(col)
	if in.Sites != nil {
		if len(*in.Sites) == 0 {
			return e.BadRequestError("sites must name at least one website (omit it for all of yours)", nil)
		}
		for _, id := range *in.Sites {
			site, err := e.App.FindFirstRecordByData(schema.Websites, "trackingId", id)
			if err != nil || !access.CanView(auth, site) {
				return e.BadRequestError(fmt.Sprintf("sites: no website %q of yours", id), nil)
			}
		}
		rec.Set("sites", slices.Compact(slices.Sorted(slices.Values(*in.Sites))))
	}
	if in.Expires != "" {
		t, err := time.Parse(time.RFC3339, in.Expires)
		if err != nil {
			return e.BadRequestError("expires must be an RFC 3339 time", err)
		}
		if !t.After(time.Now()) {
			return e.BadRequestError("expires is in the past", nil)
		}
		rec.Set("expires", t.UTC())
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return e.InternalServerError("", fmt.Errorf("skopos: api key: %w", err))
	}
	key := KeyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	rec.Set(ownerField(auth), auth.Id)
	rec.Set("name", in.Name)
	rec.Set("hash", keyHash(key))
	if err := e.App.Save(rec); err != nil {
		return e.InternalServerError("", fmt.Errorf("skopos: save api key: %w", err))
	}
	return e.JSON(http.StatusCreated, map[string]string{"id": rec.Id, "key": key})
}

// keyHash is the stored form of a key: hex SHA-256. The key is 256 random
// bits, so a plain hash (no salt, no slow KDF) cannot be reversed.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// keyInfo is a key as listed (never the key or its hash).
type keyInfo struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Sites    []string `json:"sites"` // null: every site of the owner
	Expires  string   `json:"expires"`
	Created  string   `json:"created"`
	LastUsed string   `json:"lastUsed"`
}

func listKeys(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	recs, err := e.App.FindRecordsByFilter(schema.APIKeys, ownerField(auth)+" = {:id}", "created", 0, 0, dbx.Params{"id": auth.Id})
	if err != nil {
		return e.InternalServerError("", fmt.Errorf("skopos: list api keys: %w", err))
	}
	out := make([]keyInfo, 0, len(recs))
	for _, r := range recs {
		out = append(out, keyInfo{
			ID: r.Id, Name: r.GetString("name"), Sites: keySites(r),
			Expires: r.GetString("expires"), Created: r.GetString("created"), LastUsed: r.GetString("lastUsed"),
		})
	}
	return e.JSON(http.StatusOK, out)
}

// keySites is the key's site scope; nil means every site of its owner.
func keySites(r *core.Record) []string {
	var sites []string
	if err := r.UnmarshalJSONField("sites", &sites); err != nil || sites == nil {
		return nil
	}
	return sites
}

func revokeKey(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	rec, err := e.App.FindRecordById(schema.APIKeys, e.Request.PathValue("id"))
	if err != nil || !(auth.IsSuperuser() || rec.GetString("user") == auth.Id) {
		// someone else's key looks exactly like an unknown one
		return e.NotFoundError("API key not found.", nil)
	}
	if err := e.App.Delete(rec); err != nil {
		return e.InternalServerError("", fmt.Errorf("skopos: revoke api key: %w", err))
	}
	return e.NoContent(http.StatusNoContent)
}

// errBadKey is every reason a key is refused: unknown, revoked, expired,
// or its owner deleted. The answer does not say which.
var errBadKey = errors.New("invalid API key")

// caller returns who a stats request reads as: the PocketBase-authenticated
// record, or the owner of the API key in "Authorization: Bearer <key>"
// and the key's site scope (nil: every site the owner sees). A request
// with neither is 401, as is a refused key.
func (k *keyAuth) caller(e *core.RequestEvent, now time.Time) (*core.Record, []string, error) {
	if e.Auth != nil {
		return e.Auth, nil, nil
	}
	key, ok := bearerKey(e.Request)
	if !ok {
		return nil, nil, e.UnauthorizedError("A superuser or users auth token, or an API key, is required.", nil)
	}
	var ip netip.Addr
	if k.fails != nil {
		ip = k.clientIP(e.Request)
		if k.fails.blocked(ip, now) {
			return nil, nil, e.TooManyRequestsError("Too many invalid API keys, try again later.", nil)
		}
	}
	owner, sites, err := resolveKey(e.App, key, now)
	if err != nil {
		if k.fails != nil {
			k.fails.fail(ip, now)
		}
		if errors.Is(err, errBadKey) {
			return nil, nil, e.UnauthorizedError("Invalid or expired API key.", nil)
		}
		return nil, nil, e.InternalServerError("", err)
	}
	return owner, sites, nil
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

// resolveKey finds key's owner and site scope, and records its use (at
// most once per lastUsedEvery).
func resolveKey(app core.App, key string, now time.Time) (*core.Record, []string, error) {
	hash := keyHash(key)
	rec, err := app.FindFirstRecordByData(schema.APIKeys, "hash", hash)
	if err != nil {
		return nil, nil, errBadKey
	}
	// the lookup is by hash, so its timing says nothing about the key;
	// the comparison is constant-time all the same
	if subtle.ConstantTimeCompare([]byte(rec.GetString("hash")), []byte(hash)) != 1 {
		return nil, nil, errBadKey
	}
	if exp := rec.GetDateTime("expires"); !exp.IsZero() && !now.Before(exp.Time()) {
		return nil, nil, errBadKey
	}
	var owner *core.Record
	switch {
	case rec.GetString("user") != "":
		owner, err = app.FindRecordById(schema.Users, rec.GetString("user"))
	case rec.GetString("superuser") != "":
		owner, err = app.FindRecordById(core.CollectionNameSuperusers, rec.GetString("superuser"))
	default:
		err = errBadKey
	}
	if err != nil {
		return nil, nil, errBadKey
	}
	if last := rec.GetDateTime("lastUsed"); last.IsZero() || now.Sub(last.Time()) >= lastUsedEvery {
		// a plain UPDATE: no record hooks, and "updated" keeps meaning
		// a change of the key's settings
		stamp, _ := types.ParseDateTime(now)
		if _, err := app.DB().Update(schema.APIKeys, dbx.Params{"lastUsed": stamp.String()}, dbx.HashExp{"id": rec.Id}).Execute(); err != nil {
			app.Logger().Warn("skopos: api key lastUsed", "error", err)
		}
	}
	return owner, keySites(rec), nil
}

// failCounter counts failed attempts per client address in a sliding
// window of a minute; at max the address is refused until its oldest
// failure leaves the window.
type failCounter struct {
	max      int
	mu       sync.Mutex
	failures map[netip.Addr][]time.Time
}

func newFailCounter(max int) *failCounter {
	return &failCounter{max: max, failures: map[netip.Addr][]time.Time{}}
}

func (c *failCounter) blocked(ip netip.Addr, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recent(ip, now)) >= c.max
}

func (c *failCounter) fail(ip netip.Addr, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures[ip] = append(c.recent(ip, now), now)
	if len(c.failures) > 10000 {
		// bounded memory: forget addresses whose failures expired
		for a := range c.failures {
			if len(c.recent(a, now)) == 0 {
				delete(c.failures, a)
			}
		}
	}
}

// recent drops ip's failures older than a minute; c.mu is held.
func (c *failCounter) recent(ip netip.Addr, now time.Time) []time.Time {
	f := c.failures[ip]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= time.Minute {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(c.failures, ip)
		return nil
	}
	c.failures[ip] = f
	return f
}
