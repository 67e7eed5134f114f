// Package share is Skopos' shared links: read-only access to one
// website's reports for anyone holding an unguessable token, without an
// account (a client, a public stats page).
//
// A link is a skopos_shares record: the website, an optional label, the
// SHA-256 of the token (the token itself is shown once, when the link is
// created, and never stored), an optional bcrypt password hash, an
// optional expiry and the time of last use. Whoever may see the website
// (access.CanView) creates, lists and revokes its links. A revoked link
// is deleted; an unknown, revoked or expired token, or one whose website
// is gone, is ErrNotFound alike.
//
// A Guard rate-limits the anonymous side per client address: every read
// through a link, and more strictly the failed ones (unknown tokens,
// wrong passwords), so that neither tokens nor passwords can be guessed
// and a link cannot be used to run expensive queries without end. Wrong
// passwords are also counted per link, so that rotating addresses buys no
// more guesses at one link's password.
package share

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/token"
	"github.com/skopos-go/skopos/internal/window"
	"github.com/skopos-go/skopos/schema"
	"golang.org/x/crypto/bcrypt"
)

// PasswordCost is the bcrypt cost of new link passwords. Tests lower it
// (package pbtest does): a check reads the cost stored in each hash.
var PasswordCost = bcrypt.DefaultCost

// PathPrefix is where a link's read-only dashboard lives:
// PathPrefix + "/" + token.
const PathPrefix = "/share"

var (
	// ErrNotFound is every reason a token opens nothing: unknown,
	// revoked, expired, or its website deleted. Callers answer 404
	// without saying which.
	ErrNotFound = errors.New("share: no such link")
	// ErrPassword is a missing or wrong password for a link that has
	// one.
	ErrPassword = errors.New("share: password required")
	// ErrRateLimited is a client address, or a link's password, over the
	// Guard's limits.
	ErrRateLimited = errors.New("share: too many requests")
	// ErrInvalid is input Create refuses; the message says what.
	ErrInvalid = errors.New("share: invalid")
)

// Input is a new link.
type Input struct {
	// Name is an optional label for the owner ("For ACME").
	Name string
	// Password, when not empty, must be given to open the link.
	Password string
	// Expires, when not zero, is when the link stops working.
	Expires time.Time
	// Segment, when not empty, is the id of a saved segment of the
	// website the creator may use: the link then shows only that
	// segment (a copy of its filters, see package segment).
	Segment string
}

// Create makes a link to site for auth, who must be an admin or the
// owner of it (else ErrNotFound, or access.ErrForbidden for a viewer). It returns the token, which is not stored and
// cannot be shown again, and the record.
func Create(app core.App, auth, site *core.Record, in Input, now time.Time) (string, *core.Record, error) {
	if err := access.Check(app, auth, site, access.Admin); err != nil {
		return "", nil, notFound(err)
	}
	in.Name = strings.TrimSpace(in.Name)
	if len(in.Name) > schema.MaxShareName {
		return "", nil, fmt.Errorf("%w: name is longer than %d bytes", ErrInvalid, schema.MaxShareName)
	}
	if len(in.Password) > schema.MaxSharePassword {
		return "", nil, fmt.Errorf("%w: password is longer than %d bytes", ErrInvalid, schema.MaxSharePassword)
	}
	if !in.Expires.IsZero() && !in.Expires.After(now) {
		return "", nil, fmt.Errorf("%w: expires is in the past", ErrInvalid)
	}
	col, err := app.FindCollectionByNameOrId(schema.Shares)
	if err != nil {
		return "", nil, fmt.Errorf("share: collection: %w", err)
	}
	tok, hash, err := token.New("")
	if err != nil {
		return "", nil, fmt.Errorf("share: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Set("website", site.Id)
	rec.Set("name", in.Name)
	rec.Set("hash", hash)
	if in.Segment != "" {
		pin, _, err := segment.PinOf(app, auth, site, in.Segment)
		if err != nil {
			return "", nil, fmt.Errorf("%w: segment: no saved segment %q of this website you may use", ErrInvalid, in.Segment)
		}
		pin.Apply(rec, "")
	}
	if in.Password != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(in.Password), PasswordCost)
		if err != nil {
			return "", nil, fmt.Errorf("share: password: %w", err)
		}
		rec.Set("password", string(h))
	}
	if !in.Expires.IsZero() {
		rec.Set("expires", in.Expires.UTC())
	}
	if err := app.Save(rec); err != nil {
		return "", nil, fmt.Errorf("share: save: %w", err)
	}
	return tok, rec, nil
}

// Info is a link as its owners see it listed (never the token or any
// hash).
type Info struct {
	ID          string `json:"id"`
	Site        string `json:"site"` // trackingId
	SiteName    string `json:"siteName"`
	Name        string `json:"name"`
	HasPassword bool   `json:"hasPassword"`
	// Segment is the name of the segment the link is pinned to ("":
	// none) and Filters its filters as they were copied.
	Segment string   `json:"segment"`
	Filters []string `json:"filters"`
	// Expires and LastUsed are zero for never (JSON "").
	Expires  types.DateTime `json:"expires"`
	Created  types.DateTime `json:"created"`
	LastUsed types.DateTime `json:"lastUsed"`
	Expired  bool           `json:"expired"`
}

// List returns the links of the websites auth administers (access.Admin),
// newest first; site (a websites record) narrows it to one website.
func List(app core.App, auth, site *core.Record, now time.Time) ([]Info, error) {
	sites := map[string]*core.Record{}
	if site != nil {
		if err := access.Check(app, auth, site, access.Admin); err != nil {
			return nil, notFound(err)
		}
		sites[site.Id] = site
	} else {
		recs, err := access.SitesWith(app, auth, access.Admin)
		if err != nil {
			return nil, fmt.Errorf("share: sites: %w", err)
		}
		for _, r := range recs {
			sites[r.Id] = r
		}
	}
	out := []Info{}
	if len(sites) == 0 {
		return out, nil
	}
	ids := make([]any, 0, len(sites))
	for id := range sites {
		ids = append(ids, id)
	}
	recs, err := app.FindAllRecords(schema.Shares, dbx.In("website", ids...))
	if err != nil {
		return nil, fmt.Errorf("share: list: %w", err)
	}
	for _, r := range recs {
		s := sites[r.GetString("website")]
		exp := r.GetDateTime("expires")
		pinned, segName, _ := segment.Pinned(r, "")
		filters := []string{}
		for _, f := range pinned {
			filters = append(filters, f.String())
		}
		out = append(out, Info{ID: r.Id, Site: s.GetString("trackingId"), SiteName: s.GetString("name"),
			Name: r.GetString("name"), HasPassword: r.GetString("password") != "", Segment: segName, Filters: filters,
			Expires: exp, Created: r.GetDateTime("created"), LastUsed: r.GetDateTime("lastUsed"),
			Expired: !exp.IsZero() && !now.Before(exp.Time())})
	}
	// created has millisecond resolution; the id breaks ties so that the
	// order is stable
	slices.SortFunc(out, func(a, b Info) int {
		return cmp.Or(b.Created.Time().Compare(a.Created.Time()), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Revoke deletes the link named by ref (its token or its record id) if
// auth may see its website; otherwise, or when there is no such link,
// ErrNotFound. The token works because the API names links by it; the
// id because the owner's list cannot show tokens.
func Revoke(app core.App, auth *core.Record, ref string) error {
	rec, err := app.FindFirstRecordByData(schema.Shares, "hash", token.Hash(ref))
	if err != nil {
		rec, err = app.FindRecordById(schema.Shares, ref)
	}
	if err != nil {
		return ErrNotFound
	}
	site, err := app.FindRecordById(schema.Websites, rec.GetString("website"))
	if err != nil {
		// the website is gone: only a superuser may clean up
		if auth == nil || !auth.IsSuperuser() {
			return ErrNotFound
		}
	} else if err := access.Check(app, auth, site, access.Admin); err != nil {
		return notFound(err)
	}
	if err := app.Delete(rec); err != nil {
		return fmt.Errorf("share: revoke: %w", err)
	}
	return nil
}

// Link is an open shared link.
type Link struct {
	Record *core.Record
	// Site is the website the link shows.
	Site *core.Record
	// Token is the token the link was opened with.
	Token string
	// Pinned are the filters of the segment the link is pinned to (nil:
	// none), which every report through the link must add; Segment is
	// that segment's name.
	Pinned  []stats.Filter
	Segment string
}

// HasPassword reports whether the link needs a password.
func (l *Link) HasPassword() bool { return l.Record.GetString("password") != "" }

// CheckPassword reports whether pw is the link's password. bcrypt's
// comparison takes the same time whatever the guess.
func (l *Link) CheckPassword(pw string) bool {
	h := l.Record.GetString("password")
	return h != "" && bcrypt.CompareHashAndPassword([]byte(h), []byte(pw)) == nil
}

// find resolves a token at now, and records its use.
func find(app core.App, tok string, now time.Time) (*Link, error) {
	rec, ok := token.Find(app, schema.Shares, tok, now)
	if !ok {
		return nil, ErrNotFound
	}
	site, err := app.FindRecordById(schema.Websites, rec.GetString("website"))
	if err != nil {
		return nil, ErrNotFound
	}
	pinned, name, err := segment.Pinned(rec, "")
	if err != nil {
		// never the unfiltered reports of a link that was pinned
		app.Logger().Error("skopos: shared link refused", "error", err)
		return nil, ErrNotFound
	}
	token.Touch(app, rec, now)
	return &Link{Record: rec, Site: site, Token: tok, Pinned: pinned, Segment: name}, nil
}

// Guard opens links for anonymous clients under per-address and per-link
// limits. One
// Guard serves a whole server (the stats API and the dashboard's shared
// pages), so that both count against the same limits.
type Guard struct {
	now   func() time.Time
	reads *window.Limiter[netip.Addr]
	fails *window.Limiter[netip.Addr]
	links *window.Limiter[string] // wrong passwords per link (record id)
	// key signs the cookies that remember an entered password; it lives
	// in memory, so a restart asks for passwords again.
	key []byte
}

// Limits of a Guard; zero values are the defaults.
type Limits struct {
	// Reads is how many requests one client address may make through
	// shared links per minute (pages and stats API calls). Default 120.
	Reads int
	// Failures is how many unknown tokens and wrong passwords one client
	// address may try per minute, and how many wrong passwords one link
	// takes per minute from all addresses together. Default 10.
	Failures int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// NewGuard returns a Guard with the given limits.
func NewGuard(l Limits) *Guard {
	if l.Reads <= 0 {
		l.Reads = 120
	}
	if l.Failures <= 0 {
		l.Failures = 10
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return &Guard{now: l.Now, reads: window.New[netip.Addr](l.Now, l.Reads, time.Minute),
		fails: window.New[netip.Addr](l.Now, l.Failures, time.Minute),
		links: window.New[string](l.Now, l.Failures, time.Minute), key: []byte(rand.Text() + rand.Text())}
}

// Open resolves the token tok for a client at ip: ErrRateLimited when the address
// is over a limit, ErrNotFound for a token that opens nothing. The
// password is not checked here (see Unlock and Allowed).
func (g *Guard) Open(app core.App, tok string, ip netip.Addr) (*Link, error) {
	if g.fails.Blocked(ip) || !g.reads.Allow(ip) {
		return nil, ErrRateLimited
	}
	l, err := find(app, tok, g.now())
	if err != nil {
		g.fails.Add(ip)
		return nil, err
	}
	return l, nil
}

// CheckPassword checks a password given for l by a client at ip: nil when
// the link has no password or pw is right, ErrPassword when wrong (counted
// as a failure of the address and of the link), ErrRateLimited when the
// address or the link had too many failures in the last minute. A link
// under attack thus refuses new visitors for a minute at a time; only
// holders of its token can do that, and visitors who entered the password
// before keep their cookie (Unlocked).
func (g *Guard) CheckPassword(l *Link, pw string, ip netip.Addr) error {
	if !l.HasPassword() {
		return nil
	}
	if g.fails.Blocked(ip) || g.links.Blocked(l.Record.Id) {
		return ErrRateLimited
	}
	if pw == "" || !l.CheckPassword(pw) {
		if pw != "" {
			g.fails.Add(ip)
			g.links.Add(l.Record.Id)
		}
		return ErrPassword
	}
	return nil
}

// CookieTTL is how long an entered password is remembered by the browser.
const CookieTTL = 24 * time.Hour

// Cookie is the value of the cookie that remembers, until CookieTTL, that
// the link's password was entered. It is bound to the link and its
// current password hash, so a new password or a revoked link ends it.
func (g *Guard) Cookie(l *Link) string {
	exp := strconv.FormatInt(g.now().Add(CookieTTL).Unix(), 10)
	return exp + "." + g.sign(l, exp)
}

// Unlocked reports whether cookie (from Cookie) lets the client into l.
// Links without a password are always unlocked.
func (g *Guard) Unlocked(l *Link, cookie string) bool {
	if !l.HasPassword() {
		return true
	}
	exp, sig, ok := strings.Cut(cookie, ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !g.now().Before(time.Unix(unix, 0)) {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(g.sign(l, exp)))
}

func (g *Guard) sign(l *Link, exp string) string {
	m := hmac.New(sha256.New, g.key)
	m.Write([]byte(l.Record.Id + "|" + l.Record.GetString("password") + "|" + exp))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// notFound is access.Check's error in this package's terms: ErrNotFound
// for a website the caller cannot see, access.ErrForbidden kept as it is.
func notFound(err error) error {
	if errors.Is(err, access.ErrNotFound) {
		return ErrNotFound
	}
	return err
}
