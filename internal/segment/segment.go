// Package segment is Skopos' saved segments: a named set of stats
// filters of one website ("country:DE", "page:/pricing"), saved once and
// applied by id (segment=<id>) wherever filter= works.
//
// A segment is private to the account that saved it (a users record or
// a superuser) or shared with every member of its website. Whoever may
// see the website (access.CanView) saves private segments; shared ones
// need access.Admin. A segment the caller may not use (another member's
// private one, one of a website the caller cannot see) is ErrNotFound,
// exactly like an unknown id.
//
// Shared links, API keys and email reports may be pinned to a segment:
// the segment's filters are copied onto the pinned record (Pin.Apply)
// and always added to what the record's reader asks for (Pinned,
// Combine). A copy rather than a reference, so that editing or deleting
// the segment never widens what was handed out.
package segment

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

var (
	// ErrNotFound is a segment the caller may not use, or none: callers
	// answer 404 without saying which.
	ErrNotFound = errors.New("segment: not found")
	// ErrForbidden is a segment the caller sees but may not delete, or a
	// shared segment saved by a viewer (access.Admin needed).
	ErrForbidden = errors.New("segment: your role on this website does not allow this")
	// ErrInvalid is input Create refuses; the message says what.
	ErrInvalid = errors.New("segment: invalid")
)

// Input is a new segment.
type Input struct {
	// Name is required: 1 to schema.MaxSegmentName bytes after trimming
	// spaces, unique among the caller's segments of the website.
	Name string
	// Filters are 1 to stats.MaxFilters filters as filter= spells them.
	Filters []string
	// Shared makes the segment visible to every member of the website.
	Shared bool
}

// Segment is a saved segment as its readers see it.
type Segment struct {
	ID      string         `json:"id"`
	Site    string         `json:"site"` // trackingId
	Name    string         `json:"name"`
	Filters []string       `json:"filters"`
	Shared  bool           `json:"shared"`
	Mine    bool           `json:"mine"` // saved by the caller
	Created types.DateTime `json:"created"`
}

// creatorField is the skopos_segments relation that points at auth
// ("" for a record that cannot save segments).
func creatorField(auth *core.Record) string {
	switch {
	case auth == nil || auth.Id == "":
		return ""
	case auth.IsSuperuser():
		return "superuser"
	case auth.Collection().Name == schema.Users:
		return "user"
	}
	return ""
}

// mine reports whether rec was saved by auth.
func mine(rec, auth *core.Record) bool {
	f := creatorField(auth)
	return f != "" && rec.GetString(f) == auth.Id
}

// ParseFilters checks a segment's filters: 1 to stats.MaxFilters, each
// one stats.ParseFilter reads. The error wraps ErrInvalid and
// stats.ErrBadFilter (for a bad filter string).
func ParseFilters(raw []string) ([]stats.Filter, error) {
	if len(raw) == 0 || len(raw) > stats.MaxFilters {
		return nil, fmt.Errorf("%w: a segment has 1 to %d filters, not %d", ErrInvalid, stats.MaxFilters, len(raw))
	}
	fs, err := stats.ParseFilters(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return fs, nil
}

// Create saves a segment of site for auth, who must see the website
// (else ErrNotFound) and, for a shared one, administer it (else
// ErrForbidden).
func Create(app core.App, auth, site *core.Record, in Input) (Segment, error) {
	field := creatorField(auth)
	if field == "" || !access.CanView(app, auth, site) {
		return Segment{}, ErrNotFound
	}
	if in.Shared && !access.Can(app, auth, site, access.Admin) {
		return Segment{}, ErrForbidden
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || len(name) > schema.MaxSegmentName {
		return Segment{}, fmt.Errorf("%w: name is required (at most %d bytes)", ErrInvalid, schema.MaxSegmentName)
	}
	fs, err := ParseFilters(in.Filters)
	if err != nil {
		return Segment{}, err
	}
	n, err := app.CountRecords(schema.Segments, dbx.HashExp{"website": site.Id, field: auth.Id, "name": name})
	if err != nil {
		return Segment{}, fmt.Errorf("segment: %w", err)
	}
	if n > 0 {
		return Segment{}, fmt.Errorf("%w: you already have a segment named %q on this website", ErrInvalid, name)
	}
	col, err := app.FindCollectionByNameOrId(schema.Segments)
	if err != nil {
		return Segment{}, fmt.Errorf("segment: collection: %w", err)
	}
	rec := core.NewRecord(col)
	rec.Set("website", site.Id)
	rec.Set(field, auth.Id)
	rec.Set("name", name)
	rec.Set("filters", strs(fs))
	rec.Set("shared", in.Shared)
	if err := app.Save(rec); err != nil {
		return Segment{}, fmt.Errorf("segment: save: %w", err)
	}
	return info(rec, auth, site), nil
}

// strs spells fs as filter= does, the form segments store.
func strs(fs []stats.Filter) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.String()
	}
	return out
}

func info(rec, auth, site *core.Record) Segment {
	return Segment{ID: rec.Id, Site: site.GetString("trackingId"), Name: rec.GetString("name"),
		Filters: storedStrings(rec, "filters"), Shared: rec.GetBool("shared"), Mine: mine(rec, auth),
		Created: rec.GetDateTime("created")}
}

// storedStrings reads a JSON array of strings (nil when absent or not
// one).
func storedStrings(rec *core.Record, field string) []string {
	var out []string
	if err := rec.UnmarshalJSONField(field, &out); err != nil {
		return nil
	}
	return out
}

// List returns the segments auth may use on site, its own and the shared
// ones, by name; ErrNotFound when auth cannot see the website.
func List(app core.App, auth, site *core.Record) ([]Segment, error) {
	field := creatorField(auth)
	if field == "" || !access.CanView(app, auth, site) {
		return nil, ErrNotFound
	}
	recs, err := app.FindAllRecords(schema.Segments, dbx.HashExp{"website": site.Id},
		dbx.Or(dbx.HashExp{"shared": true}, dbx.HashExp{field: auth.Id}))
	if err != nil {
		return nil, fmt.Errorf("segment: list: %w", err)
	}
	out := make([]Segment, 0, len(recs))
	for _, r := range recs {
		out = append(out, info(r, auth, site))
	}
	slices.SortFunc(out, func(a, b Segment) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// find returns segment id and its website if auth may use it, and, when
// site is not nil, if it is one of site.
func find(app core.App, auth, site *core.Record, id string) (rec, web *core.Record, err error) {
	if creatorField(auth) == "" || id == "" {
		return nil, nil, ErrNotFound
	}
	rec, err = app.FindRecordById(schema.Segments, id)
	if err != nil || (site != nil && rec.GetString("website") != site.Id) {
		return nil, nil, ErrNotFound
	}
	if web = site; web == nil {
		if web, err = app.FindRecordById(schema.Websites, rec.GetString("website")); err != nil {
			return nil, nil, ErrNotFound
		}
	}
	if !(rec.GetBool("shared") || mine(rec, auth)) || !access.CanView(app, auth, web) {
		return nil, nil, ErrNotFound
	}
	return rec, web, nil
}

// Get returns segment id of site (nil: of any website) if auth may use
// it; otherwise ErrNotFound.
func Get(app core.App, auth, site *core.Record, id string) (Segment, *core.Record, error) {
	rec, web, err := find(app, auth, site, id)
	if err != nil {
		return Segment{}, nil, err
	}
	return info(rec, auth, web), web, nil
}

// Resolve returns the filters of segment id of site if auth may use it;
// otherwise ErrNotFound.
func Resolve(app core.App, auth, site *core.Record, id string) ([]stats.Filter, error) {
	s, _, err := Get(app, auth, site, id)
	if err != nil {
		return nil, err
	}
	return stats.ParseFilters(s.Filters)
}

// Delete removes segment id: its creator may, and an admin or the owner
// of the website may remove a shared one. A segment auth may not use is
// ErrNotFound; one it sees but may not delete, ErrForbidden. Records
// pinned to it keep their copy of its filters.
func Delete(app core.App, auth *core.Record, id string) error {
	rec, web, err := find(app, auth, nil, id)
	if err != nil {
		return err
	}
	if !mine(rec, auth) && !access.Can(app, auth, web, access.Admin) {
		return ErrForbidden
	}
	if err := app.Delete(rec); err != nil {
		return fmt.Errorf("segment: delete: %w", err)
	}
	return nil
}

// Combine is what a pinned reader reads: the pinned filters, always,
// and its own (at most stats.MaxFilters, already checked by the caller),
// which can only narrow them. Every filter is a condition ANDed with the
// others, so no filter of the reader's can bring back what a pinned one
// leaves out.
func Combine(pinned, own []stats.Filter) []stats.Filter {
	if len(pinned) == 0 {
		return own
	}
	return append(slices.Clip(pinned), own...)
}
