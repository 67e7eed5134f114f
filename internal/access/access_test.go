package access_test

import (
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

func save(t *testing.T, app core.App, collection string, set func(*core.Record)) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	set(rec)
	if err := app.Save(rec); err != nil {
		t.Fatalf("save %s: %v", collection, err)
	}
	return rec
}

func authRecord(t *testing.T, app core.App, collection, email string) *core.Record {
	t.Helper()
	return save(t, app, collection, func(r *core.Record) {
		r.SetEmail(email)
		r.SetPassword("access-password-1")
	})
}

func TestCanViewAndVisibleSites(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()

	members := core.NewAuthCollection("members")
	if err := app.Save(members); err != nil {
		t.Fatal(err)
	}
	super, err := app.FindAuthRecordByEmail(core.CollectionNameSuperusers, pbtest.Email)
	if err != nil {
		t.Fatal(err)
	}
	owner := authRecord(t, app, schema.Users, "owner@example.test")
	other := authRecord(t, app, schema.Users, "other@example.test")
	member := authRecord(t, app, "members", "member@example.test")
	// a record of another auth collection with the owner's id must not
	// pass for the owner
	twin := authRecord(t, app, "members", "twin@example.test")
	twin.Id = owner.Id

	site := func(name, user string) *core.Record {
		return save(t, app, schema.Websites, func(r *core.Record) {
			r.Set("name", name)
			r.Set("domain", name+".example")
			r.Set("user", user)
		})
	}
	owned := site("owned", owner.Id)
	unowned := site("unowned", "")

	tests := []struct {
		name   string
		auth   *core.Record
		canSee map[string]bool // site name → CanView
		listed []string
	}{
		{"superuser", super, map[string]bool{"owned": true, "unowned": true}, []string{"owned", "unowned"}},
		{"owner", owner, map[string]bool{"owned": true, "unowned": false}, []string{"owned"}},
		{"other user", other, map[string]bool{"owned": false, "unowned": false}, nil},
		{"other auth collection", member, map[string]bool{"owned": false, "unowned": false}, nil},
		{"other auth collection, same id", twin, map[string]bool{"owned": false, "unowned": false}, nil},
		{"nil auth", nil, map[string]bool{"owned": false, "unowned": false}, nil},
	}
	sites := map[string]*core.Record{"owned": owned, "unowned": unowned}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for name, want := range tt.canSee {
				if got := access.CanView(app, tt.auth, sites[name]); got != want {
					t.Errorf("CanView(%s) = %v, want %v", name, got, want)
				}
			}
			recs, err := access.VisibleSites(app, tt.auth)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, r := range recs {
				got[r.GetString("name")] = true
			}
			if len(got) != len(tt.listed) {
				t.Errorf("VisibleSites = %v, want %v", got, tt.listed)
			}
			for _, name := range tt.listed {
				if !got[name] {
					t.Errorf("VisibleSites = %v, want %v", got, tt.listed)
				}
			}
		})
	}
	if access.CanView(app, super, nil) {
		t.Error("CanView(superuser, nil site) = true")
	}
}
