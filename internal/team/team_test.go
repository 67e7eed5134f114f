package team_test

import (
	"errors"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/team"
	"github.com/skopos-go/skopos/schema"
)

type fixture struct {
	app                    core.App
	site                   *core.Record
	owner, alice, bob, eve *core.Record
}

func setup(t *testing.T) *fixture {
	t.Helper()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	f := &fixture{app: app}
	user := func(email string) *core.Record {
		return pbtest.Save(t, app, schema.Users, map[string]any{"email": email, "password": "team-password-1"})
	}
	f.owner, f.alice, f.bob, f.eve = user("owner@t.test"), user("alice@t.test"), user("bob@t.test"), user("eve@t.test")
	f.site = pbtest.Save(t, app, schema.Websites, map[string]any{"name": "S", "domain": "s.t.test", "user": f.owner.Id})
	return f
}

func TestInviteAcceptOnceWithinSevenDays(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	token, rec, err := team.Invite(f.app, f.owner, f.site, "Alice@t.test", access.Viewer, now)
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetString("tokenHash") == token || len(token) < 40 {
		t.Fatalf("token %q stored as %q: must be long and stored hashed", token, rec.GetString("tokenHash"))
	}
	pending, err := team.Pending(f.app, f.site, now)
	if err != nil || len(pending) != 1 || pending[0].Email != "Alice@t.test" {
		t.Fatalf("Pending = %+v, %v", pending, err)
	}
	if _, err := team.Accept(f.app, token, f.bob, now); !errors.Is(err, team.ErrWrongAccount) {
		t.Fatalf("accepted by another email: %v, want ErrWrongAccount", err)
	}
	if _, err := team.Accept(f.app, token, f.alice, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := access.RoleOf(f.app, f.alice, f.site); got != access.Viewer {
		t.Fatalf("alice's role after accepting = %v", got)
	}
	if _, err := team.Accept(f.app, token, f.alice, now.Add(2*time.Hour)); !errors.Is(err, team.ErrInviteUsed) {
		t.Fatalf("second accept: %v, want ErrInviteUsed", err)
	}
	ms, err := team.Members(f.app, f.site)
	if err != nil || len(ms) != 2 || ms[0].Role != access.Owner || ms[1].Email != "alice@t.test" {
		t.Fatalf("Members = %+v, %v", ms, err)
	}

	// expiry: the last second of the 7 days works, the next does not
	tok2, _, err := team.Invite(f.app, f.owner, f.site, "bob@t.test", access.Admin, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := team.Open(f.app, tok2, now.Add(team.InviteTTL-time.Second)); err != nil {
		t.Fatalf("open just before expiry: %v", err)
	}
	if _, err := team.Accept(f.app, tok2, f.bob, now.Add(team.InviteTTL)); !errors.Is(err, team.ErrInviteExpired) {
		t.Fatalf("accept at expiry: %v, want ErrInviteExpired", err)
	}
	if access.RoleOf(f.app, f.bob, f.site) != access.None {
		t.Fatal("an expired invitation gave a role")
	}
	if _, err := team.Open(f.app, "nosuchtoken", now); !errors.Is(err, team.ErrNoInvite) {
		t.Fatalf("unknown token: %v", err)
	}
}

func TestOnlyTheOwnerManagesMembers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	accept := func(u *core.Record, role access.Role) {
		t.Helper()
		tok, _, err := team.Invite(f.app, f.owner, f.site, u.Email(), role, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := team.Accept(f.app, tok, u, now); err != nil {
			t.Fatal(err)
		}
	}
	accept(f.alice, access.Admin)
	accept(f.bob, access.Viewer)

	tests := []struct {
		name string
		err  error
		want error
	}{
		{"admin invites", second(team.Invite(f.app, f.alice, f.site, "x@t.test", access.Viewer, now)), access.ErrForbidden},
		{"admin promotes", team.SetRole(f.app, f.alice, f.site, f.bob.Id, access.Admin), access.ErrForbidden},
		{"admin removes another", team.Remove(f.app, f.alice, f.site, f.bob.Id), access.ErrForbidden},
		{"admin removes the owner", team.Remove(f.app, f.alice, f.site, f.owner.Id), access.ErrForbidden},
		{"admin transfers", team.Transfer(f.app, f.alice, f.site, f.alice.Id), access.ErrForbidden},
		{"stranger invites", second(team.Invite(f.app, f.eve, f.site, "x@t.test", access.Viewer, now)), access.ErrNotFound},
		{"owner invites a member", second(team.Invite(f.app, f.owner, f.site, "BOB@t.test", access.Admin, now)), team.ErrInvalid},
		{"owner invites themselves", second(team.Invite(f.app, f.owner, f.site, "owner@t.test", access.Admin, now)), team.ErrInvalid},
		{"owner role", second(team.Invite(f.app, f.owner, f.site, "x@t.test", access.Owner, now)), team.ErrInvalid},
		{"bad email", second(team.Invite(f.app, f.owner, f.site, "x@", access.Viewer, now)), team.ErrInvalid},
		{"owner removes the owner", team.Remove(f.app, f.owner, f.site, f.owner.Id), team.ErrInvalid},
		{"transfer to a stranger", team.Transfer(f.app, f.owner, f.site, f.eve.Id), team.ErrInvalid},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if err := team.SetRole(f.app, f.owner, f.site, f.bob.Id, access.Admin); err != nil {
		t.Fatal(err)
	}
	if access.RoleOf(f.app, f.bob, f.site) != access.Admin {
		t.Fatal("SetRole did not promote")
	}
	// a member may leave
	if err := team.Remove(f.app, f.bob, f.site, f.bob.Id); err != nil {
		t.Fatal(err)
	}
	if access.RoleOf(f.app, f.bob, f.site) != access.None {
		t.Fatal("bob still has a role after leaving")
	}
	// transfer: alice owns it, the former owner stays as an admin
	if err := team.Transfer(f.app, f.owner, f.site, f.alice.Id); err != nil {
		t.Fatal(err)
	}
	site, _ := f.app.FindRecordById(schema.Websites, f.site.Id)
	if access.RoleOf(f.app, f.alice, site) != access.Owner || access.RoleOf(f.app, f.owner, site) != access.Admin {
		t.Fatalf("after transfer: alice %v, former owner %v", access.RoleOf(f.app, f.alice, site), access.RoleOf(f.app, f.owner, site))
	}
	if err := team.Remove(f.app, f.owner, site, f.alice.Id); !errors.Is(err, access.ErrForbidden) {
		t.Fatalf("the former owner removes the new one: %v", err)
	}
}

func TestPendingInvitesAreBounded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	now := time.Now()
	for i := range team.MaxPendingInvites {
		if _, _, err := team.Invite(f.app, f.owner, f.site, "p"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@t.test", access.Viewer, now); err != nil {
			t.Fatalf("invitation %d: %v", i+1, err)
		}
	}
	if _, _, err := team.Invite(f.app, f.owner, f.site, "one-more@t.test", access.Viewer, now); !errors.Is(err, team.ErrInvalid) {
		t.Fatalf("invitation %d: %v, want ErrInvalid", team.MaxPendingInvites+1, err)
	}
	// inviting an address again replaces its open invitation
	if _, _, err := team.Invite(f.app, f.owner, f.site, "paa@t.test", access.Admin, now); err != nil {
		t.Fatalf("re-inviting: %v", err)
	}
}

func second[T any](_ T, _ *core.Record, err error) error { return err }
