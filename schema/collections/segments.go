package collections

import (
	"github.com/skopos-go/skopos/schema"
)

// segments defines skopos_segments: saved segments, a named list of
// stats filters ("country:DE", as the API's filter= spells them) of one
// website. The creator is a users record (user) or a superuser
// (superuser); shared makes it visible to every member of the website.
// Superuser-only (no API rules): package segment checks who may see
// and delete one.
func (b *builder) segments() {
	b.cascade("website", schema.Websites)
	b.relation("user", schema.Users)
	b.relation("superuser", schema.Superusers)
	b.text("name", schema.MaxSegmentName, true)
	// 1..stats.MaxFilters filter strings; bounded well above 10 paths
	b.json("filters", 1<<16)
	b.boolean("shared")
	b.index("name", true, "website, user, superuser, name")
	b.index("website", false, "website")
}

// pin adds the fields of a record pinned to a saved segment: a copy of
// the segment's filters (<prefix>Filters, or filters without a prefix)
// and its name for display (<prefix>Segment). A copy, not a relation:
// editing or deleting the segment must never widen what a pinned link,
// key or report shows.
func (b *builder) pin(prefix string) {
	f, s := "filters", "segment"
	if prefix != "" {
		f, s = prefix+"Filters", prefix+"Segment"
	}
	b.json(f, 1<<16)
	b.text(s, schema.MaxSegmentName, false)
}
