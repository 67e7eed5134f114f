package pbrest_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
)

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	srv, p := start(t, nil)
	ctx := ctxT(t)

	if err := newClient(t, srv).Authenticate(ctx); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if got := p.passwordAuths.Load(); got != 1 {
		t.Fatalf("password auths = %d, want 1", got)
	}

	bad, _ := pbrest.New(pbrest.Config{URL: srv.URL, Email: srv.Email, Password: "wrong"})
	err := bad.Authenticate(ctx)
	if !errors.Is(err, pbrest.ErrBadRequest) || pbrest.IsTransient(err) {
		t.Fatalf("Authenticate with a wrong password = %v, want a permanent ErrBadRequest", err)
	}

	guest, _ := pbrest.New(pbrest.Config{URL: srv.URL})
	if err := guest.Authenticate(ctx); !errors.Is(err, pbrest.ErrNoCredentials) {
		t.Fatalf("Authenticate without credentials = %v, want ErrNoCredentials", err)
	}
	// A guest cannot read a superuser-only collection.
	_, err = guest.ListRecords(ctx, itemsCollection, pbrest.ListQuery{}, nil)
	if !errors.Is(err, pbrest.ErrForbidden) {
		t.Fatalf("guest ListRecords = %v, want ErrForbidden", err)
	}
}

func TestConcurrentCallersShareOneSignIn(t *testing.T) {
	t.Parallel()
	srv, p := start(t, nil)
	c := newClient(t, srv)
	ctx := ctxT(t)

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := c.ListRecords(ctx, itemsCollection, pbrest.ListQuery{}, nil)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("ListRecords: %v", err)
		}
	}
	if got := p.passwordAuths.Load(); got != 1 {
		t.Fatalf("password auths = %d, want 1 shared by 20 callers", got)
	}
}

// TestTokenRenewedBeforeExpiry shortens the superuser token lifetime to
// 10s (the minimum PocketBase allows) and keeps calling past the first
// token's expiry: the client must renew the token before it expires, so
// the server never rejects a request.
func TestTokenRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	const lifetime = 10 * time.Second
	srv, p := start(t, func(app core.App) error {
		col, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
		if err != nil {
			return err
		}
		col.AuthToken.Duration = int64(lifetime / time.Second)
		return app.Save(col)
	})
	c := newClient(t, srv)
	ctx := ctxT(t)

	if err := c.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	testwait.For(t, lifetime+testwait.Deadline, "a renewal and the first token's expiry", func() bool {
		if _, err := c.ListRecords(ctx, itemsCollection, pbrest.ListQuery{}, nil); err != nil {
			t.Fatalf("ListRecords after %v: %v", time.Since(start), err)
		}
		return p.refreshes.Load() >= 1 && time.Since(start) > lifetime+time.Second
	})
	if rej := p.rejections(); len(rej) > 0 {
		t.Fatalf("server rejected requests: %v", rej)
	}
	// Renewed once, maybe twice: not on every call, and never too late.
	if r := p.refreshes.Load() + p.passwordAuths.Load() - 1; r > 2 {
		t.Errorf("%d renewals in %v, want 1 or 2", r, time.Since(start))
	}
}

// TestReauthenticatesOnceWhenTokenRevoked revokes the client's token on the
// server; the next call must still succeed after exactly one sign-in.
func TestReauthenticatesOnceWhenTokenRevoked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(*pbrest.Client) error
	}{
		// PocketBase answers 401 where superuser auth is required...
		{"401 settings", func(c *pbrest.Client) error {
			return c.Do(ctxT(t), http.MethodGet, "/api/settings", nil, nil)
		}},
		// ...but 403 on superuser-only collections.
		{"403 superuser-only collection", func(c *pbrest.Client) error {
			_, err := c.ListRecords(ctxT(t), itemsCollection, pbrest.ListQuery{}, nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, p := start(t, nil)
			c := newClient(t, srv)
			if err := tt.call(c); err != nil {
				t.Fatalf("first call: %v", err)
			}

			su, err := srv.App().FindAuthRecordByEmail(core.CollectionNameSuperusers, srv.Email)
			if err != nil {
				t.Fatal(err)
			}
			su.RefreshTokenKey() // invalidates every issued token
			if err := srv.App().Save(su); err != nil {
				t.Fatal(err)
			}

			if err := tt.call(c); err != nil {
				t.Fatalf("call after revocation: %v", err)
			}
			if got := p.passwordAuths.Load(); got != 2 {
				t.Fatalf("password auths = %d, want 2 (one re-auth)", got)
			}
			if err := tt.call(c); err != nil {
				t.Fatalf("third call: %v", err)
			}
			if got := p.passwordAuths.Load(); got != 2 {
				t.Fatalf("password auths after third call = %d, want 2", got)
			}
		})
	}
}
