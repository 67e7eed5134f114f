package share_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/testclock"

	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/schema"
)

// adaSite starts PocketBase with a user, ada, owning one website.
func adaSite(t *testing.T) (app core.App, ada, site *core.Record) {
	t.Helper()
	app = pbtest.Start(t, pbtest.Options{}).App()
	ada = pbtest.Save(t, app, schema.Users, map[string]any{"email": "ada@share.test"})
	site = pbtest.Save(t, app, schema.Websites, map[string]any{"name": "Ada's", "domain": "ada.share.test", "user": ada.Id})
	return app, ada, site
}

// TestGuard: a link opens with its token only; the password cookie is
// bound to the link, its password and its lifetime; failures and reads
// are limited per address, each address on its own.
func TestGuard(t *testing.T) {
	t.Parallel()
	app, ada, site := adaSite(t)
	c := testclock.New(time.Now())
	g := share.NewGuard(share.Limits{Reads: 20, Failures: 3, Now: c.Now})
	ip := netip.MustParseAddr("198.51.100.1")
	other := netip.MustParseAddr("198.51.100.2")

	open, _, err := share.Create(app, ada, site, share.Input{}, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	locked, _, err := share.Create(app, ada, site, share.Input{Password: "s3cret"}, c.Now())
	if err != nil {
		t.Fatal(err)
	}
	l, err := g.Open(app, open, ip)
	if err != nil || l.Site.Id != site.Id || l.HasPassword() || !g.Unlocked(l, "") {
		t.Fatalf("open link: %v %+v", err, l)
	}
	ll, err := g.Open(app, locked, ip)
	if err != nil || !ll.HasPassword() || g.Unlocked(ll, "") {
		t.Fatalf("password link: %v", err)
	}
	if err := g.CheckPassword(ll, "s3cret", ip); err != nil {
		t.Fatalf("right password: %v", err)
	}
	cookie := g.Cookie(ll)
	for _, tc := range []struct {
		name, cookie string
		want         bool
	}{
		{"its cookie", cookie, true},
		{"tampered expiry", "9" + cookie, false},
		{"tampered signature", cookie[:len(cookie)-2] + "xx", false},
		{"no dot", strings.ReplaceAll(cookie, ".", ""), false},
		{"empty", "", false},
	} {
		if got := g.Unlocked(ll, tc.cookie); got != tc.want {
			t.Errorf("%s: unlocked %v, want %v", tc.name, got, tc.want)
		}
	}
	// another guard (a restarted server) has another key
	if share.NewGuard(share.Limits{Now: c.Now}).Unlocked(ll, cookie) {
		t.Error("a cookie of another server's guard unlocks")
	}
	// a new password ends the cookie
	ll.Record.Set("password", "$2a$04$changedchangedchangedchangedchangedchangedchangedchang")
	if g.Unlocked(ll, cookie) {
		t.Error("the cookie outlived a password change")
	}
	ll, _ = g.Open(app, locked, ip)
	c.Add(share.CookieTTL)
	if g.Unlocked(ll, cookie) {
		t.Error("the cookie outlived its TTL")
	}

	// failures: 3 per address; then even the right answers wait
	if err := g.CheckPassword(ll, "wrong", ip); !errors.Is(err, share.ErrPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := g.CheckPassword(ll, "", ip); !errors.Is(err, share.ErrPassword) {
		t.Fatalf("no password: %v", err)
	}
	if _, err := g.Open(app, "no-such-token", ip); !errors.Is(err, share.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	if _, err := g.Open(app, strings.Repeat("x", 101), ip); !errors.Is(err, share.ErrNotFound) {
		t.Fatalf("long token: %v", err)
	}
	if _, err := g.Open(app, open, ip); !errors.Is(err, share.ErrRateLimited) {
		t.Fatalf("after 3 failures (the empty password is not one): %v", err)
	}
	if err := g.CheckPassword(ll, "s3cret", ip); !errors.Is(err, share.ErrRateLimited) {
		t.Fatalf("right password after 3 failures: %v", err)
	}
	if _, err := g.Open(app, open, other); err != nil {
		t.Fatalf("another address: %v", err)
	}
	c.Add(time.Minute)
	if _, err := g.Open(app, open, ip); err != nil {
		t.Fatalf("a minute later: %v", err)
	}

	// reads: 20 a minute per address (other's earlier read left the
	// window with the minute above)
	n := 0
	for ; n < 30; n++ {
		if _, err := g.Open(app, open, other); errors.Is(err, share.ErrRateLimited) {
			break
		}
	}
	if n != 20 {
		t.Errorf("%d reads allowed in a minute, want 20", n)
	}
}

// TestGuardLimitsWrongPasswordsPerLink: rotating addresses buys no more
// guesses at one link's password: the 11th wrong one within a minute is
// refused whatever its address, while other links are not affected.
func TestGuardLimitsWrongPasswordsPerLink(t *testing.T) {
	t.Parallel()
	app, ada, site := adaSite(t)
	c := testclock.New(time.Now())
	g := share.NewGuard(share.Limits{Now: c.Now}) // default: 10 failures a minute
	open := func(pw string) *share.Link {
		tok, _, err := share.Create(app, ada, site, share.Input{Password: pw}, c.Now())
		if err != nil {
			t.Fatal(err)
		}
		l, err := g.Open(app, tok, netip.MustParseAddr("192.0.2.1"))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	target, bystander := open("s3cret"), open("other")
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}) }
	for i := range 10 {
		if err := g.CheckPassword(target, "wrong", addr(i)); !errors.Is(err, share.ErrPassword) {
			t.Fatalf("guess %d from a new address: %v, want ErrPassword", i+1, err)
		}
	}
	if err := g.CheckPassword(target, "wrong", addr(10)); !errors.Is(err, share.ErrRateLimited) {
		t.Fatalf("11th guess from a new address: %v, want ErrRateLimited", err)
	}
	if err := g.CheckPassword(bystander, "other", addr(11)); err != nil {
		t.Fatalf("another link: %v", err)
	}
	c.Add(time.Minute)
	if err := g.CheckPassword(target, "s3cret", addr(12)); err != nil {
		t.Fatalf("a minute later: %v", err)
	}
}
