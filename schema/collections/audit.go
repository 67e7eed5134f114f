package collections

import "github.com/skopos-go/skopos/schema"

// audit defines skopos_audit: the audit log. website is a plain text id,
// not a relation: a relation would be cleared (or cascade) when the
// website is deleted, and superusers must still read what happened to
// it. Likewise actorEmail is a copy taken when the row was written, not
// a relation to the account, which may be deleted since.
func (b *builder) audit() {
	b.text("website", 64, true)
	b.text("websiteName", 255, false)
	// "users/<id>" or "_superusers/<id>", " (API key)" through a key
	b.text("actor", 255, false)
	b.text("actorEmail", 255, false)
	// dotted: website.update, goal.create, key.revoke, …
	b.text("action", 64, true)
	b.text("target", schema.MaxAuditTarget, false)
	b.json("details", schema.MaxAuditDetails)
	b.index("website_created", false, "website, created")
}
