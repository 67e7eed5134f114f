package segment

import (
	"errors"
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/stats"
)

// Pin is the copy of a segment that a shared link, an API key or a
// website's email report is pinned to.
type Pin struct {
	Name    string
	Filters []string
}

// PinOf returns segment id of site (nil: of any website) for pinning, if
// auth may use it (else ErrNotFound), and the segment's website.
func PinOf(app core.App, auth, site *core.Record, id string) (Pin, *core.Record, error) {
	s, web, err := Get(app, auth, site, id)
	if err != nil {
		return Pin{}, nil, err
	}
	return Pin{Name: s.Name, Filters: s.Filters}, web, nil
}

// fields are the pinned record's fields for prefix ("" for shared links
// and API keys, "report" for websites).
func fields(prefix string) (filters, name string) {
	if prefix == "" {
		return "filters", "segment"
	}
	return prefix + "Filters", prefix + "Segment"
}

// Apply copies p onto rec (a zero Pin unpins it).
func (p Pin) Apply(rec *core.Record, prefix string) {
	f, n := fields(prefix)
	if len(p.Filters) == 0 {
		rec.Set(f, nil)
		rec.Set(n, "")
		return
	}
	rec.Set(f, p.Filters)
	rec.Set(n, p.Name)
}

// errBadPin is a pinned record whose filters cannot be read: its reader
// must be refused, never given the unfiltered reports.
var errBadPin = errors.New("segment: a pinned record's filters cannot be read")

// Pinned returns the filters rec is pinned to (nil: not pinned) and the
// segment's name. Filters that cannot be read are an error, which
// callers answer as a refusal.
func Pinned(rec *core.Record, prefix string) ([]stats.Filter, string, error) {
	f, n := fields(prefix)
	if raw := rec.GetString(f); raw == "" || raw == "null" {
		return nil, "", nil
	}
	var list []string
	if err := rec.UnmarshalJSONField(f, &list); err != nil {
		return nil, "", fmt.Errorf("%w: %s %s: %w", errBadPin, rec.Collection().Name, rec.Id, err)
	}
	fs, err := stats.ParseFilters(list)
	if err != nil || len(fs) == 0 {
		return nil, "", fmt.Errorf("%w: %s %s", errBadPin, rec.Collection().Name, rec.Id)
	}
	return fs, rec.GetString(n), nil
}
