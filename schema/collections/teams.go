package collections

import (
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// members defines skopos_members: the role (admin or viewer) of a users
// record on a website it does not own. Superuser-only (no API rules): the
// dashboard and /api/skopos manage it, so that only an owner can change
// who sees a website.
func (b *builder) members() {
	b.cascade("website", schema.Websites)
	b.cascade("user", schema.Users)
	b.fields(&core.SelectField{Name: "role", MaxSelect: 1, Values: []string{"admin", "viewer"}, Required: true})
	// "users/<id>" or "_superusers/<id>": who added the member
	b.text("addedBy", 255, false)
	b.index("website_user", true, "website, user")
	b.index("user", false, "user")
}

// invites defines skopos_invites: invitations by email to a website.
func (b *builder) invites() {
	b.cascade("website", schema.Websites)
	b.fields(&core.EmailField{Name: "email", Required: true})
	b.fields(&core.SelectField{Name: "role", MaxSelect: 1, Values: []string{"admin", "viewer"}, Required: true})
	// hex SHA-256 of the link's token; the token is only in the email
	b.text("tokenHash", 64, true)
	b.text("invitedBy", 255, false)
	b.fields(&core.DateField{Name: "expires", Required: true}, &core.DateField{Name: "accepted"})
	// the users record that accepted it
	b.text("acceptedBy", 64, false)
	b.index("tokenHash", true, "tokenHash")
	b.index("website", false, "website")
}
