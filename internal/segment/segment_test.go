package segment_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// team starts PocketBase with a website owned by owner, an admin and a
// viewer member, and an outsider who owns another website.
func team(t *testing.T) (app core.App, owner, admin, viewer, outsider, site, other *core.Record) {
	t.Helper()
	app = pbtest.Start(t, pbtest.Options{}).App()
	user := func(email string) *core.Record {
		return pbtest.Save(t, app, schema.Users, map[string]any{"email": email})
	}
	owner, admin, viewer, outsider = user("owner@seg.test"), user("admin@seg.test"), user("viewer@seg.test"), user("out@seg.test")
	site = pbtest.Save(t, app, schema.Websites, map[string]any{"name": "Site", "domain": "site.seg.test", "user": owner.Id})
	other = pbtest.Save(t, app, schema.Websites, map[string]any{"name": "Other", "domain": "other.seg.test", "user": outsider.Id})
	pbtest.Save(t, app, schema.Members, map[string]any{"website": site.Id, "user": admin.Id, "role": "admin"})
	pbtest.Save(t, app, schema.Members, map[string]any{"website": site.Id, "user": viewer.Id, "role": "viewer"})
	return
}

// TestVisibility: a private segment is its creator's alone, a shared one
// every member's; another website's and another member's private one
// are ErrNotFound like an unknown id; only admins share; deleting is the
// creator's, and a shared one's also an admin's.
func TestVisibility(t *testing.T) {
	t.Parallel()
	app, owner, admin, viewer, outsider, site, other := team(t)
	de := []string{"country:DE"}

	mine, err := segment.Create(app, viewer, site, segment.Input{Name: "  Mine ", Filters: de})
	if err != nil || mine.Name != "Mine" || !mine.Mine || mine.Shared {
		t.Fatalf("viewer's private segment: %+v %v", mine, err)
	}
	if _, err := segment.Create(app, viewer, site, segment.Input{Name: "Team", Filters: de, Shared: true}); !errors.Is(err, segment.ErrForbidden) {
		t.Fatalf("viewer sharing: %v, want ErrForbidden", err)
	}
	team, err := segment.Create(app, admin, site, segment.Input{Name: "Team", Filters: []string{"country:DE", "page:/pricing"}, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := segment.Create(app, outsider, site, segment.Input{Name: "X", Filters: de}); !errors.Is(err, segment.ErrNotFound) {
		t.Fatalf("outsider: %v, want ErrNotFound", err)
	}

	names := func(auth *core.Record) string {
		l, err := segment.List(app, auth, site)
		if err != nil {
			return err.Error()
		}
		var n []string
		for _, s := range l {
			n = append(n, s.Name)
		}
		return strings.Join(n, ",")
	}
	for _, tc := range []struct {
		who  *core.Record
		want string
	}{{viewer, "Mine,Team"}, {owner, "Team"}, {admin, "Team"}, {outsider, segment.ErrNotFound.Error()}} {
		if got := names(tc.who); got != tc.want {
			t.Errorf("List as %s = %q, want %q", tc.who.Email(), got, tc.want)
		}
	}

	if _, err := segment.Resolve(app, owner, site, mine.ID); !errors.Is(err, segment.ErrNotFound) {
		t.Errorf("another member's private segment: %v, want ErrNotFound", err)
	}
	if _, err := segment.Resolve(app, outsider, other, team.ID); !errors.Is(err, segment.ErrNotFound) {
		t.Errorf("a segment of another website: %v, want ErrNotFound", err)
	}
	fs, err := segment.Resolve(app, viewer, site, team.ID)
	if err != nil || len(fs) != 2 || fs[0] != (stats.Filter{Dim: "country", Value: "DE"}) {
		t.Errorf("shared segment for a viewer: %v %v", fs, err)
	}

	if err := segment.Delete(app, viewer, team.ID); !errors.Is(err, segment.ErrForbidden) {
		t.Errorf("viewer deleting a shared segment: %v, want ErrForbidden", err)
	}
	if err := segment.Delete(app, owner, mine.ID); !errors.Is(err, segment.ErrNotFound) {
		t.Errorf("owner deleting a member's private segment: %v, want ErrNotFound", err)
	}
	if err := segment.Delete(app, outsider, team.ID); !errors.Is(err, segment.ErrNotFound) {
		t.Errorf("outsider deleting: %v, want ErrNotFound", err)
	}
	if err := segment.Delete(app, owner, team.ID); err != nil {
		t.Errorf("owner deleting a shared segment: %v", err)
	}
	if err := segment.Delete(app, viewer, mine.ID); err != nil {
		t.Errorf("creator deleting: %v", err)
	}
}

// TestBounds: the name is 1..MaxSegmentName bytes and unique per creator
// and website; filters are 1..stats.MaxFilters, each one filter= reads.
func TestBounds(t *testing.T) {
	t.Parallel()
	app, owner, _, viewer, _, site, _ := team(t)
	ten := make([]string, stats.MaxFilters)
	for i := range ten {
		ten[i] = "page:/p" + strings.Repeat("x", i)
	}
	if _, err := segment.Create(app, owner, site, segment.Input{Name: strings.Repeat("n", schema.MaxSegmentName), Filters: ten}); err != nil {
		t.Fatalf("longest name, most filters: %v", err)
	}
	for _, tc := range []struct {
		name string
		in   segment.Input
		want string
	}{
		{"blank name", segment.Input{Name: " ", Filters: []string{"country:DE"}}, "name is required (at most 100 bytes)"},
		{"long name", segment.Input{Name: strings.Repeat("é", 51), Filters: []string{"country:DE"}}, "name is required (at most 100 bytes)"},
		{"no filters", segment.Input{Name: "x"}, "a segment has 1 to 10 filters, not 0"},
		{"too many", segment.Input{Name: "x", Filters: append(ten, "country:DE")}, "a segment has 1 to 10 filters, not 11"},
		{"bad dimension", segment.Input{Name: "x", Filters: []string{"planet:Mars"}}, `unknown dimension "planet"`},
		{"no colon", segment.Input{Name: "x", Filters: []string{"DE"}}, `"DE": use <dimension>:<value>`},
		{"duplicate", segment.Input{Name: strings.Repeat("n", schema.MaxSegmentName), Filters: []string{"country:DE"}}, "you already have a segment named"},
	} {
		_, err := segment.Create(app, owner, site, tc.in)
		if !errors.Is(err, segment.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrInvalid with %q", tc.name, err, tc.want)
		}
	}
	// the same name is another member's to take
	if _, err := segment.Create(app, viewer, site, segment.Input{Name: strings.Repeat("n", schema.MaxSegmentName), Filters: []string{"country:DE"}}); err != nil {
		t.Errorf("same name, another creator: %v", err)
	}
}

// TestPin: a pin is a copy, so deleting the segment leaves the pinned
// record's filters; Combine puts the pin first and keeps every filter;
// unreadable pinned filters are an error, never "not pinned".
func TestPin(t *testing.T) {
	t.Parallel()
	app, owner, _, _, _, site, _ := team(t)
	seg, err := segment.Create(app, owner, site, segment.Input{Name: "DE", Filters: []string{"country:DE"}})
	if err != nil {
		t.Fatal(err)
	}
	pin, web, err := segment.PinOf(app, owner, nil, seg.ID)
	if err != nil || web.Id != site.Id {
		t.Fatal(err)
	}
	pin.Apply(site, "report")
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	if err := segment.Delete(app, owner, seg.ID); err != nil {
		t.Fatal(err)
	}
	rec, err := app.FindRecordById(schema.Websites, site.Id)
	if err != nil {
		t.Fatal(err)
	}
	fs, name, err := segment.Pinned(rec, "report")
	if err != nil || name != "DE" || len(fs) != 1 || fs[0].String() != "country:DE" {
		t.Fatalf("pinned after the segment's deletion: %v %q %v", fs, name, err)
	}
	own := []stats.Filter{{Dim: "country", Value: "DE", Not: true}}
	if got := segment.Combine(fs, own); len(got) != 2 || got[0] != fs[0] || got[1] != own[0] {
		t.Errorf("Combine = %v", got)
	}
	if fs, _, err := segment.Pinned(site, ""); fs != nil || err != nil {
		t.Errorf("a website's own filters field is not pinned: %v %v", fs, err)
	}
	segment.Pin{}.Apply(rec, "report")
	if fs, _, err := segment.Pinned(rec, "report"); fs != nil || err != nil {
		t.Errorf("unpinned: %v %v", fs, err)
	}
	rec.Set("reportFilters", []string{"planet:Mars"})
	if _, _, err := segment.Pinned(rec, "report"); err == nil {
		t.Error("unreadable pinned filters read as no pin")
	}
}
