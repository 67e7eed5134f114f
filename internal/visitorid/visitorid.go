// Package visitorid computes the cookieless visitor id: a hash of the
// website's tracking id, the client's IP address and its user agent.
//
// What the hash is keyed with decides what a reader of the stored ids can
// learn and how long a visitor is recognised (Mode):
//
//   - Salted (the default): HMAC-SHA256 keyed by a secret installation
//     salt, generated once and kept in PocketBase's skopos_secrets
//     collection (superuser-only), which every server and SDK instance of
//     the installation reads. Nobody who reads visitor ids through the API,
//     an export or a copy of the analytics rows can recover IP addresses by
//     enumerating them; a visitor is recognised as returning for as long as
//     their address and browser stay the same.
//   - Daily: HMAC-SHA256 keyed by a random salt of the UTC day, also kept in
//     skopos_secrets and deleted once the day before yesterday is over, so
//     that not even a copy of the whole database links a visitor's days or
//     reveals an address. Visitors are counted per day, as Plausible does:
//     nobody returns from one day to the next, and a session open at
//     midnight UTC continues as a new visitor's.
//   - Compatible: the Skopos Node SDK's unsalted SHA-256 of
//     "<trackingId>-<ip>-<ua>", so that visitors recorded by it keep
//     matching. Reversible by anyone who reads the ids (the IPv4 space is
//     small): use it only to continue existing Skopos data.
package visitorid

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// Mode is how visitor ids are keyed; see the package documentation.
type Mode string

// The modes. The zero value means Salted.
const (
	Salted     Mode = "salted"
	Daily      Mode = "daily"
	Compatible Mode = "compatible"
)

// ErrMode: a mode name that is not one of the three.
var ErrMode = errors.New("visitor ids: unknown mode")

// ParseMode reads a mode name; "" is Salted.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(strings.ToLower(strings.TrimSpace(s))); m {
	case "":
		return Salted, nil
	case Salted, Daily, Compatible:
		return m, nil
	}
	return "", fmt.Errorf("%w %q: want %q, %q or %q", ErrMode, s, Salted, Daily, Compatible)
}

// Secret names in skopos_secrets.
const (
	// SaltName holds the installation salt of Salted mode.
	SaltName = "visitorSalt"
	// DayPrefix + "2006-01-02" holds the salt of one UTC day (Daily).
	DayPrefix = "visitorSalt:"
)

// Secrets keeps named secrets (skopos_secrets). Implementations exist for
// the in-process app and for a PocketBase reached over REST.
type Secrets interface {
	// GetOrCreate returns the value kept under name, storing value first
	// when there is none. When several instances race, all of them get
	// the one value that was stored.
	GetOrCreate(ctx context.Context, name, value string) (string, error)
	// Names lists the names that start with prefix.
	Names(ctx context.Context, prefix string) ([]string, error)
	// Delete removes name; a missing one is not an error.
	Delete(ctx context.Context, name string) error
}

// Config configures a Hasher.
type Config struct {
	Mode Mode
	// Salt, when set, is the Salted mode's key instead of the stored
	// installation salt (an operator's own SKOPOS_VISITOR_SALT).
	Salt string
	// Secrets holds the installation and day salts; required unless the
	// mode is Compatible or Salt is set.
	Secrets Secrets
	Logger  *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Hasher computes visitor ids. It is safe for concurrent use.
type Hasher struct {
	mode    Mode
	salt    *keyed
	secrets Secrets
	log     *slog.Logger
	now     func() time.Time

	mu   sync.RWMutex
	days map[int64]*keyed // Daily: the keys of the days around today, by day number
}

// New returns a Hasher for cfg. In Salted mode without cfg.Salt it reads
// (or, on the installation's first start, creates) the installation salt;
// in Daily mode it reads or creates the keys of today and tomorrow.
func New(ctx context.Context, cfg Config) (*Hasher, error) {
	h := &Hasher{mode: cfg.Mode, secrets: cfg.Secrets, log: cfg.Logger, now: cfg.Now,
		days: map[int64]*keyed{}}
	if h.mode == "" {
		h.mode = Salted
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	switch h.mode {
	case Compatible:
		if cfg.Salt != "" {
			return nil, fmt.Errorf("visitor ids: a salt makes no sense in %s mode (its ids are unsalted)", Compatible)
		}
		return h, nil
	case Salted:
		if cfg.Salt != "" {
			h.salt = newKeyed([]byte(cfg.Salt))
			return h, nil
		}
		if cfg.Secrets == nil {
			return nil, errors.New("visitor ids: no store for the installation salt")
		}
		v, err := cfg.Secrets.GetOrCreate(ctx, SaltName, newSalt())
		if err != nil {
			return nil, fmt.Errorf("visitor ids: installation salt: %w", err)
		}
		salt, err := decodeSalt(v)
		if err != nil {
			return nil, fmt.Errorf("visitor ids: installation salt: %w", err)
		}
		h.salt = newKeyed(salt)
		return h, nil
	case Daily:
		if cfg.Salt != "" {
			return nil, fmt.Errorf("visitor ids: %s mode uses random day salts; it takes no fixed salt", Daily)
		}
		if cfg.Secrets == nil {
			return nil, errors.New("visitor ids: no store for the day salts")
		}
		if err := h.Refresh(ctx); err != nil {
			return nil, err
		}
		return h, nil
	}
	return nil, fmt.Errorf("%w %q", ErrMode, cfg.Mode)
}

// Mode returns the hasher's mode.
func (h *Hasher) Mode() Mode { return h.mode }

// ID returns the visitor id for a request of trackingID's website from ip
// with user agent ua, received at t.
func (h *Hasher) ID(trackingID, ip, ua string, t time.Time) string {
	switch h.mode {
	case Compatible:
		return Hash(trackingID, ip, ua, nil)
	case Daily:
		return h.dayKey(dayNumber(t)).id(trackingID, ip, ua)
	}
	return h.salt.id(trackingID, ip, ua)
}

// keyed computes HMAC ids with one key, reusing keyed HMAC states: a new
// one per id cost as much as four unsalted hashes.
type keyed struct {
	key  []byte
	pool sync.Pool
	// local: a day key this instance made up while the store was
	// unreachable, to be stored (or replaced by the stored one) later;
	// guarded by Hasher.mu
	local bool
}

func newKeyed(key []byte) *keyed {
	k := &keyed{key: key}
	k.pool.New = func() any { return hmac.New(sha256.New, key) }
	return k
}

func (k *keyed) id(trackingID, ip, ua string) string {
	if ip == "" {
		ip = "unknown"
	}
	if ua == "" {
		ua = "unknown"
	}
	m := k.pool.Get().(hash.Hash)
	m.Reset()
	WriteFields(m, trackingID, ip, ua)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	k.pool.Put(m)
	return hex.EncodeToString(sum[:])
}

// Check is the id of a fixed probe visitor, which a server reports so that
// an SDK can tell whether it computes the same ids. Daily ids change with
// the day, so in Daily mode only the mode can be compared: Check is "".
func (h *Hasher) Check() string {
	if h.mode == Daily {
		return ""
	}
	return h.ID(ProbeVisitor[0], ProbeVisitor[1], ProbeVisitor[2], time.Time{})
}

// ProbeVisitor is the input of Check.
var ProbeVisitor = [3]string{"skopos-probe", "192.0.2.1", "Skopos visitor id probe"}

// dayKey returns the key of day, making one up (and remembering to store
// it) when the store could not be reached in time: ids are never left
// unkeyed and no event waits for PocketBase.
func (h *Hasher) dayKey(day int64) *keyed {
	h.mu.RLock()
	k := h.days[day]
	h.mu.RUnlock()
	if k != nil {
		return k
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if k = h.days[day]; k == nil {
		k = newKeyed(mustDecode(newSalt()))
		k.local = true
		h.days[day] = k
		h.log.Warn("skopos: the day's visitor salt could not be read from PocketBase in time; "+
			"this instance uses its own until it can (visitors seen meanwhile by several instances may count twice)", "day", dayName(day))
	}
	return k
}

// RefreshEvery is how often Run refreshes the day salts.
const RefreshEvery = time.Hour

// Run keeps the day salts of Daily mode current until ctx is done: every
// RefreshEvery it reads or creates today's and tomorrow's and deletes
// those before yesterday. Other modes return at once.
func (h *Hasher) Run(ctx context.Context) {
	if h.mode != Daily {
		return
	}
	t := time.NewTicker(RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := h.Refresh(ctx); err != nil && ctx.Err() == nil {
				h.log.Warn("skopos: refreshing the day's visitor salts failed; retrying within the hour", "error", err)
			}
		}
	}
}

// Refresh reads or creates the salts of today and tomorrow (UTC) and
// deletes, in memory and in the store, those of the days before yesterday.
// Run calls it; tests call it after moving the clock.
func (h *Hasher) Refresh(ctx context.Context) error {
	if h.mode != Daily {
		return nil
	}
	today := dayNumber(h.now())
	keep := dayName(today - 1) // yesterday's is kept, older ones go
	for _, day := range []int64{today, today + 1} {
		h.mu.RLock()
		k := h.days[day]
		local := k != nil && k.local
		h.mu.RUnlock()
		if k != nil && !local {
			continue
		}
		offer := newSalt()
		if local {
			offer = hex.EncodeToString(k.key)
		}
		v, err := h.secrets.GetOrCreate(ctx, DayPrefix+dayName(day), offer)
		if err != nil {
			return fmt.Errorf("visitor ids: salt of %s: %w", dayName(day), err)
		}
		key, err := decodeSalt(v)
		if err != nil {
			return fmt.Errorf("visitor ids: salt of %s: %w", dayName(day), err)
		}
		h.mu.Lock()
		if k == nil || !bytes.Equal(k.key, key) {
			h.days[day] = newKeyed(key)
		} else {
			k.local = false
		}
		h.mu.Unlock()
	}
	h.mu.Lock()
	for day := range h.days {
		if day < today-1 {
			delete(h.days, day)
		}
	}
	h.mu.Unlock()
	names, err := h.secrets.Names(ctx, DayPrefix)
	if err != nil {
		return fmt.Errorf("visitor ids: list day salts: %w", err)
	}
	sort.Strings(names)
	for _, n := range names {
		if strings.TrimPrefix(n, DayPrefix) >= keep {
			break
		}
		if err := h.secrets.Delete(ctx, n); err != nil {
			return fmt.Errorf("visitor ids: delete %s: %w", n, err)
		}
	}
	return nil
}

// dayNumber is t's UTC day as days since 1970-01-01: no formatting per
// event.
func dayNumber(t time.Time) int64 {
	sec := t.Unix()
	d := sec / 86400
	if sec < 0 && sec%86400 != 0 {
		d--
	}
	return d
}

// dayName is the UTC date of day number d, as day salts are named.
func dayName(d int64) string { return time.Unix(d*86400, 0).UTC().Format(time.DateOnly) }

// Hash identifies a visitor without cookies. Without salt it is the
// Skopos-compatible lowercase hex SHA-256 of "<trackingId>-<ip>-<ua>"
// ("unknown" for a missing ip or ua), so existing Skopos visitors keep
// matching. With salt it is HMAC-SHA256 keyed by salt over the
// length-prefixed fields: not reversible by enumerating the IPv4 space.
func Hash(trackingID, ip, ua string, salt []byte) string {
	if ip == "" {
		ip = "unknown"
	}
	if ua == "" {
		ua = "unknown"
	}
	if len(salt) == 0 {
		sum := sha256.Sum256([]byte(trackingID + "-" + ip + "-" + ua))
		return hex.EncodeToString(sum[:])
	}
	m := hmac.New(sha256.New, salt)
	WriteFields(m, trackingID, ip, ua)
	return hex.EncodeToString(m.Sum(nil))
}

// WriteFields writes length-prefixed fields, so that no two different
// field lists produce the same bytes (the Node SDK's "a-b"+"c" vs
// "a"+"b-c" collision gave two visitors one id).
func WriteFields(h hash.Hash, parts ...string) {
	var n [4]byte
	for _, p := range parts {
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
}

// newSalt returns 32 random bytes in hex.
func newSalt() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

// decodeSalt accepts what newSalt makes: a stored value edited into
// something shorter would weaken every id, so it is refused.
func decodeSalt(v string) ([]byte, error) {
	b, err := hex.DecodeString(v)
	if err != nil || len(b) < 16 {
		return nil, fmt.Errorf("stored salt is not at least 16 bytes of hex")
	}
	return b, nil
}

func mustDecode(v string) []byte {
	b, _ := hex.DecodeString(v)
	return b
}
