// Package access is the one rule for who may do what with a website,
// shared by the dashboard, the stats API and every other route:
//
//   - a superuser is the owner of every website;
//   - a record of PocketBase's "users" auth collection is the owner of
//     the websites whose user field is that record (websites.user, as in
//     the reference schema), and has the role its skopos_members row
//     gives it (admin or viewer) on the others it was invited to;
//   - nobody else has any role.
//
// Roles are ordered: an owner may do everything an admin may, an admin
// everything a viewer may. Routes ask Can(app, auth, site, need) and
// answer 404 below Viewer (another owner's website looks exactly like an
// unknown one) and 403 between Viewer and need.
package access

import (
	"errors"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// Role is what a caller may do with one website. The zero value is None.
type Role int

const (
	// None sees nothing: the website is answered as not found.
	None Role = iota
	// Viewer reads the reports: stats, sessions, visitors, funnels,
	// goals, live, SEO and uptime pages, exports.
	Viewer
	// Admin also changes the website's settings, goals, funnels, shared
	// links, API keys, notification rules, SEO runs and erasures; not its
	// members and not its deletion.
	Admin
	// Owner also manages the members, transfers the ownership and
	// deletes the website. A website has one owner (websites.user);
	// superusers are owners of every website.
	Owner
)

// Roles are the roles a member row may hold (an owner is websites.user,
// never a member row), in the order the dashboard lists them.
var Roles = []string{"admin", "viewer"}

// String is the role's name as skopos_members.role spells it.
func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Admin:
		return "admin"
	case Owner:
		return "owner"
	}
	return "none"
}

// ParseRole reads a member role ("admin" or "viewer"); anything else is
// None (an owner is never a member row).
func ParseRole(s string) Role {
	switch s {
	case "admin":
		return Admin
	case "viewer":
		return Viewer
	}
	return None
}

// RoleOf is auth's role on site. A nil auth or site, a record of another
// auth collection, and a lookup error are None.
func RoleOf(app core.App, auth, site *core.Record) Role {
	if auth == nil || site == nil {
		return None
	}
	if auth.IsSuperuser() {
		return Owner
	}
	// The collection is checked too: a record of another auth collection
	// could share an id with a users record.
	if auth.Collection().Name != schema.Users || auth.Id == "" {
		return None
	}
	if site.GetString("user") == auth.Id {
		return Owner
	}
	if app == nil || site.Id == "" {
		return None
	}
	var role string
	err := app.DB().Select("role").From(schema.Members).
		Where(dbx.HashExp{"website": site.Id, "user": auth.Id}).Limit(1).Row(&role)
	if err != nil {
		return None
	}
	return ParseRole(role)
}

// Can reports whether auth's role on site is need or above.
func Can(app core.App, auth, site *core.Record, need Role) bool {
	return need > None && RoleOf(app, auth, site) >= need
}

// ErrNotFound is Check's answer below Viewer: the website must look
// exactly like one that does not exist.
var ErrNotFound = errors.New("access: website not found")

// ErrForbidden is Check's answer to a caller who sees the website but
// whose role is below the one needed (HTTP 403).
var ErrForbidden = errors.New("access: your role on this website does not allow this")

// Check is Can as an error: nil when auth's role on site is need or
// above, ErrNotFound below Viewer, ErrForbidden otherwise.
func Check(app core.App, auth, site *core.Record, need Role) error {
	switch r := RoleOf(app, auth, site); {
	case r == None:
		return ErrNotFound
	case r < need:
		return ErrForbidden
	}
	return nil
}

// CanView reports whether auth may read site's reports (Viewer or above).
func CanView(app core.App, auth, site *core.Record) bool {
	return Can(app, auth, site, Viewer)
}

// VisibleSites lists the websites auth may see (CanView), in no
// particular order.
func VisibleSites(app core.App, auth *core.Record) ([]*core.Record, error) {
	switch {
	case auth == nil:
		return nil, nil
	case auth.IsSuperuser():
		return app.FindAllRecords(schema.Websites)
	case auth.Collection().Name == schema.Users && auth.Id != "":
		return app.FindAllRecords(schema.Websites, dbx.Or(
			dbx.HashExp{"user": auth.Id},
			dbx.NewExp("id IN (SELECT website FROM "+schema.Members+" WHERE user = {:member})", dbx.Params{"member": auth.Id}),
		))
	}
	return nil, nil
}

// SitesWith lists the websites on which auth's role is need or above.
func SitesWith(app core.App, auth *core.Record, need Role) ([]*core.Record, error) {
	recs, err := VisibleSites(app, auth)
	if err != nil || need <= Viewer {
		return recs, err
	}
	out := recs[:0]
	for _, r := range recs {
		if Can(app, auth, r, need) {
			out = append(out, r)
		}
	}
	return out, nil
}
