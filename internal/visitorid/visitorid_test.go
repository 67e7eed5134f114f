package visitorid_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testclock"

	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/store/reststore"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// stores returns the in-process and the REST store of one real
// PocketBase: every test runs against both, and they must agree.
func stores(t *testing.T) (*pbtest.Server, visitorid.Secrets, visitorid.Secrets) {
	t.Helper()
	srv := pbtest.Start(t, pbtest.Options{})
	pb, err := pbrest.New(pbrest.Config{URL: srv.URL, Email: srv.Email, Password: srv.Password})
	if err != nil {
		t.Fatal(err)
	}
	return srv, localstore.NewSecrets(srv.App()), reststore.NewSecrets(pb)
}

const (
	site = "abcdefghijklmno"
	ip   = "203.0.113.9"
	ua   = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
)

func TestParseMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want visitorid.Mode
		err  bool
	}{
		{"", visitorid.Salted, false},
		{"salted", visitorid.Salted, false},
		{" Daily ", visitorid.Daily, false},
		{"compatible", visitorid.Compatible, false},
		{"hourly", "", true},
	} {
		got, err := visitorid.ParseMode(tc.in)
		if got != tc.want || (err != nil) != tc.err || (err != nil && !errors.Is(err, visitorid.ErrMode)) {
			t.Errorf("ParseMode(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestConfigsThatMakeNoSenseAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, cfg := range []visitorid.Config{
		{Mode: visitorid.Compatible, Salt: "s"},
		{Mode: visitorid.Daily, Salt: "s"},
		{Mode: visitorid.Salted},           // no store
		{Mode: visitorid.Daily},            // no store
		{Mode: "weekly", Salt: "whatever"}, // unknown
	} {
		if _, err := visitorid.New(ctx, cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestCompatibleAndExplicitSaltNeedNoStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, err := visitorid.New(ctx, visitorid.Config{Mode: visitorid.Compatible})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.ID(site, ip, ua, time.Now()), visitorid.Hash(site, ip, ua, nil); got != want {
		t.Errorf("compatible id %s, want the unsalted hash %s", got, want)
	}
	s, err := visitorid.New(ctx, visitorid.Config{Salt: "operator-salt"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.ID(site, ip, ua, time.Now()), visitorid.Hash(site, ip, ua, []byte("operator-salt")); got != want {
		t.Errorf("explicit-salt id %s, want %s", got, want)
	}
	if c.Check() == s.Check() || c.Check() == "" {
		t.Error("Check does not tell the two apart")
	}
}

// TestInstallationSaltIsGeneratedOnceAndShared: the first hasher creates
// the salt, every later one (in-process or over REST, or after a restart)
// reads the same, and the ids are keyed by it.
func TestInstallationSaltIsGeneratedOnceAndShared(t *testing.T) {
	t.Parallel()
	srv, local, rest := stores(t)
	ctx := context.Background()
	a, err := visitorid.New(ctx, visitorid.Config{Secrets: local})
	if err != nil {
		t.Fatal(err)
	}
	b, err := visitorid.New(ctx, visitorid.Config{Mode: visitorid.Salted, Secrets: rest})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	id := a.ID(site, ip, ua, now)
	if id != b.ID(site, ip, ua, now) || a.Check() != b.Check() {
		t.Fatal("two hashers of one installation disagree")
	}
	if id == visitorid.Hash(site, ip, ua, nil) {
		t.Fatal("salted id equals the unsalted one")
	}
	if id != a.ID(site, ip, ua, now.Add(72*time.Hour)) {
		t.Error("a salted id changed with the day")
	}
	var n int
	if err := srv.App().DB().NewQuery("SELECT COUNT(*) FROM " + schema.Secrets).Row(&n); err != nil || n != 1 {
		t.Fatalf("%d secrets stored (%v), want 1", n, err)
	}
	var salt string
	_ = srv.App().DB().NewQuery("SELECT value FROM " + schema.Secrets).Row(&salt)
	if len(salt) != 64 || id != visitorid.Hash(site, ip, ua, mustHex(t, salt)) {
		t.Fatalf("stored salt %q does not key the ids", salt)
	}
}

// TestSecretsAreSuperuserOnly: nobody but a superuser reads the salts
// through the API (an owner who could would reverse visitor ids).
func TestSecretsAreSuperuserOnly(t *testing.T) {
	t.Parallel()
	srv, local, _ := stores(t)
	if _, err := visitorid.New(context.Background(), visitorid.Config{Secrets: local}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/api/collections/" + schema.Secrets + "/records")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("anonymous list of %s: %d, want 403", schema.Secrets, resp.StatusCode)
	}
}

// TestConcurrentFirstStartsAgreeOnOneSalt: instances starting at once all
// end up with the one salt that was stored.
func TestConcurrentFirstStartsAgreeOnOneSalt(t *testing.T) {
	t.Parallel()
	_, local, rest := stores(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	checks := make([]string, 8)
	errs := make([]error, 8)
	for i := range checks {
		wg.Go(func() {
			st := local
			if i%2 == 1 {
				st = rest
			}
			h, err := visitorid.New(ctx, visitorid.Config{Secrets: st})
			if err == nil {
				checks[i] = h.Check()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, c := range checks[1:] {
		if c != checks[0] {
			t.Fatalf("instances disagree: %v", checks)
		}
	}
}

func dayNames(t *testing.T, st visitorid.Secrets) []string {
	t.Helper()
	names, err := st.Names(context.Background(), visitorid.DayPrefix)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// TestDailySaltsRotateAreSharedAndAreDeleted: in daily mode two instances
// agree within a day, a visitor's id changes at midnight UTC, and the
// salts of the days before yesterday are deleted from the store.
func TestDailySaltsRotateAreSharedAndAreDeleted(t *testing.T) {
	t.Parallel()
	_, local, rest := stores(t)
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 3, 10, 23, 59, 0, 0, time.UTC))
	a, err := visitorid.New(ctx, visitorid.Config{Mode: visitorid.Daily, Secrets: local, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	b, err := visitorid.New(ctx, visitorid.Config{Mode: visitorid.Daily, Secrets: rest, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dayNames(t, rest), []string{"visitorSalt:2026-03-10", "visitorSalt:2026-03-11"}; !slices.Equal(got, want) {
		t.Fatalf("day salts %v, want %v (today and tomorrow)", got, want)
	}
	if a.Check() != "" {
		t.Error("daily Check must be empty: only the mode can be compared")
	}
	before := clk.Now()
	after := before.Add(2 * time.Minute) // 00:01 the next day
	for _, h := range []*visitorid.Hasher{a, b} {
		if h.ID(site, ip, ua, before) != a.ID(site, ip, ua, before) || h.ID(site, ip, ua, after) != a.ID(site, ip, ua, after) {
			t.Fatal("two instances disagree on a day's ids")
		}
	}
	if a.ID(site, ip, ua, before) == a.ID(site, ip, ua, after) {
		t.Fatal("the id did not change at midnight UTC")
	}
	if a.ID(site, ip, ua, before) != a.ID(site, ip, ua, before.Add(-23*time.Hour)) {
		t.Fatal("the id changed within one UTC day")
	}
	// three days later: the 10th and the 11th are gone, yesterday (12th)
	// is not in the store (nobody was running), today and tomorrow are
	clk.Add(3 * 24 * time.Hour) // 2026-03-13 23:59
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := dayNames(t, local), []string{"visitorSalt:2026-03-13", "visitorSalt:2026-03-14"}; !slices.Equal(got, want) {
		t.Fatalf("day salts after three days %v, want %v", got, want)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if a.ID(site, ip, ua, clk.Now()) != b.ID(site, ip, ua, clk.Now()) {
		t.Fatal("instances disagree after the refresh")
	}
}

// TestDailyWithoutTheStoreKeepsAKeyAndStoresItLater: a day whose salt
// could not be read in time gets a key made up by the instance (ids are
// never unkeyed, no event waits), which the next refresh stores, so the
// ids given meanwhile stay valid.
func TestDailyWithoutTheStoreKeepsAKeyAndStoresItLater(t *testing.T) {
	t.Parallel()
	_, local, _ := stores(t)
	ctx := context.Background()
	clk := testclock.New(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	h, err := visitorid.New(ctx, visitorid.Config{Mode: visitorid.Daily, Secrets: local, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(48 * time.Hour) // no refresh ran for two days
	id := h.ID(site, ip, ua, clk.Now())
	if id == visitorid.Hash(site, ip, ua, nil) {
		t.Fatal("unkeyed id")
	}
	if err := h.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.ID(site, ip, ua, clk.Now()); got != id {
		t.Fatal("the refresh replaced the key the instance had used")
	}
	other, err := visitorid.New(ctx, visitorid.Config{Mode: visitorid.Daily, Secrets: local, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if other.ID(site, ip, ua, clk.Now()) != id {
		t.Fatal("the made-up key was not stored for the other instances")
	}
}

// TestStoredSaltTooShortIsRefused: a salt edited into something weak
// fails loudly instead of keying every id with it.
func TestStoredSaltTooShortIsRefused(t *testing.T) {
	t.Parallel()
	_, local, _ := stores(t)
	ctx := context.Background()
	if _, err := local.GetOrCreate(ctx, visitorid.SaltName, "abcd"); err != nil {
		t.Fatal(err)
	}
	if _, err := visitorid.New(ctx, visitorid.Config{Secrets: local}); err == nil {
		t.Fatal("a 2-byte salt was accepted")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil {
		t.Fatal(err)
	}
	return b
}
