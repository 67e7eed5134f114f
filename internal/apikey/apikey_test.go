package apikey_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/apikey"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// TestCreateRefuses: each refused input is an *InvalidError with the
// message the REST API answers, and nothing is stored.
func TestCreateRefuses(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	ada := pbtest.Save(t, app, schema.Users, map[string]any{"email": "ada@apikey.test"})
	bob := pbtest.Save(t, app, schema.Users, map[string]any{"email": "bob@apikey.test"})
	bobs := pbtest.Save(t, app, schema.Websites, map[string]any{"name": "Bob's", "domain": "bob.apikey.test", "user": bob.Id})
	now := time.Now()
	for _, tc := range []struct {
		name string
		in   apikey.Input
		want string
	}{
		{"blank name", apikey.Input{Name: "  "}, "name is required (at most 255 bytes)"},
		{"long name", apikey.Input{Name: strings.Repeat("é", 128)}, "name is required (at most 255 bytes)"},
		{"empty sites", apikey.Input{Name: "x", Sites: []string{}}, "sites must name at least one website (omit it for all of yours)"},
		{"someone else's site", apikey.Input{Name: "x", Sites: []string{bobs.GetString("trackingId")}}, `sites: no website "` + bobs.GetString("trackingId") + `" you own or administer`},
		{"bad expiry", apikey.Input{Name: "x", Expires: "2027-01-01"}, "expires must be an RFC 3339 time"},
		{"past expiry", apikey.Input{Name: "x", Expires: now.Add(-time.Second).Format(time.RFC3339)}, "expires is in the past"},
		// the name is checked first
		{"blank name and past expiry", apikey.Input{Expires: "2020-01-01T00:00:00Z"}, "name is required (at most 255 bytes)"},
	} {
		_, _, err := apikey.Create(app, ada, tc.in, now)
		bad, ok := errors.AsType[*apikey.InvalidError](err)
		if !ok || bad.Message != tc.want {
			t.Errorf("%s: %v, want InvalidError %q", tc.name, err, tc.want)
		}
	}
	if keys, err := apikey.List(app, ada); err != nil || len(keys) != 0 {
		t.Errorf("after refusals: %v %v, want no keys", keys, err)
	}
	// a name of exactly MaxAPIKeyName bytes is fine
	if _, _, err := apikey.Create(app, ada, apikey.Input{Name: strings.Repeat("n", schema.MaxAPIKeyName)}, now); err != nil {
		t.Errorf("name of %d bytes: %v", schema.MaxAPIKeyName, err)
	}
}

// TestRevokeAndResolve: Revoke lets a superuser revoke anyone's key,
// RevokeOwn only the caller's own; a user never another's. Resolve finds
// the owner and scope until the key is revoked or expires.
func TestRevokeAndResolve(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	super, err := app.FindAuthRecordByEmail(core.CollectionNameSuperusers, srv.Email)
	if err != nil {
		t.Fatal(err)
	}
	ada := pbtest.Save(t, app, schema.Users, map[string]any{"email": "ada@apikey.test"})
	bob := pbtest.Save(t, app, schema.Users, map[string]any{"email": "bob@apikey.test"})
	site := pbtest.Save(t, app, schema.Websites, map[string]any{"name": "Ada's", "domain": "ada.apikey.test", "user": ada.Id})
	now := time.Now()
	create := func(owner *core.Record, in apikey.Input) (id, key string) {
		t.Helper()
		id, key, err := apikey.Create(app, owner, in, now)
		if err != nil {
			t.Fatal(err)
		}
		return id, key
	}

	tid := site.GetString("trackingId")
	id, key := create(ada, apikey.Input{Name: "scoped", Sites: []string{tid, tid}, Expires: now.Add(time.Hour).Format(time.RFC3339)})
	owner, sites, err := apikey.Resolve(app, key, now)
	if err != nil || owner.Id != ada.Id || len(sites) != 1 || sites[0] != tid {
		t.Fatalf("Resolve: %v %v %v, want ada scoped to [%s]", owner, sites, err, tid)
	}
	if _, _, err := apikey.Resolve(app, key, now.Add(time.Hour)); !errors.Is(err, apikey.ErrBadKey) {
		t.Errorf("Resolve at expiry: %v, want ErrBadKey", err)
	}
	if _, _, err := apikey.Resolve(app, apikey.Prefix+"unknown", now); !errors.Is(err, apikey.ErrBadKey) {
		t.Errorf("Resolve of an unknown key: %v, want ErrBadKey", err)
	}
	superID, _ := create(super, apikey.Input{Name: "ops"})

	for _, tc := range []struct {
		name   string
		revoke func(core.App, *core.Record, string) error
		caller *core.Record
		id     string
		want   error
	}{
		{"RevokeOwn, superuser, ada's key", apikey.RevokeOwn, super, id, apikey.ErrNotFound},
		{"Revoke, bob, ada's key", apikey.Revoke, bob, id, apikey.ErrNotFound},
		{"RevokeOwn, bob, ada's key", apikey.RevokeOwn, bob, id, apikey.ErrNotFound},
		{"RevokeOwn, ada, the superuser's key", apikey.RevokeOwn, ada, superID, apikey.ErrNotFound},
		{"RevokeOwn, unknown id", apikey.RevokeOwn, ada, "nosuchkey", apikey.ErrNotFound},
		{"RevokeOwn, superuser, own key", apikey.RevokeOwn, super, superID, nil},
		{"Revoke, superuser, ada's key", apikey.Revoke, super, id, nil},
		{"RevokeOwn, ada, revoked key", apikey.RevokeOwn, ada, id, apikey.ErrNotFound},
	} {
		if err := tc.revoke(app, tc.caller, tc.id); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, _, err := apikey.Resolve(app, key, now); !errors.Is(err, apikey.ErrBadKey) {
		t.Errorf("Resolve after revoking: %v, want ErrBadKey", err)
	}
}
