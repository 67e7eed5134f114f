package dashboard

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/inflector"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// segmentPicker is the site page's segment card: choose a saved segment
// (a GET form: segment=<id> in the URL), save the page's filters as one,
// delete the chosen one.
type segmentPicker struct {
	Options []segmentOption
	Action  string
	// Hidden are the period and filters the choice keeps.
	Hidden []hiddenInput
	// SaveURL and SaveFilters save the page's filters (its segment's and
	// its own) as a new segment; SaveFilters is empty without filters.
	SaveURL     string
	SaveFilters []string
	CanShare    bool // the user may share segments (access.Admin)
	MaxName     int
	// DeleteURL deletes the chosen segment, when the user may.
	DeleteURL string
}

type segmentOption struct {
	ID, Name         string
	Shared, Selected bool
}

type hiddenInput struct{ Name, Value string }

// picker builds the segment card of a user's site page; req.Filters are
// the page's filters with its segment's.
func (s *server) picker(rd *reader, req stats.Request) (*segmentPicker, error) {
	segs, err := segment.List(s.app, rd.u.rec, rd.site)
	if err != nil {
		return nil, err
	}
	pq := periodQuery(req.Period)
	d := &segmentPicker{Action: rd.url("", nil), SaveURL: sitePath(rd.site.Id, "segments", pq),
		CanShare: access.Can(s.app, rd.u.rec, rd.site, access.Admin), MaxName: schema.MaxSegmentName}
	d.Hidden = hiddenInputs(viewQuery(req.Period, rd.own))
	for _, g := range segs {
		sel := rd.seg != nil && rd.seg.ID == g.ID
		d.Options = append(d.Options, segmentOption{ID: g.ID, Name: g.Name, Shared: g.Shared, Selected: sel})
		if sel && (g.Mine || d.CanShare) {
			d.DeleteURL = sitePath(rd.site.Id, "segments/"+url.PathEscape(g.ID)+"/delete", pq)
		}
	}
	if len(rd.own) > 0 {
		for _, f := range req.Filters {
			d.SaveFilters = append(d.SaveFilters, f.String())
		}
	}
	return d, nil
}

// addSegment saves the posted filters as a segment of the site and opens
// the site page with it.
func (s *server) addSegment(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	in := segment.Input{Name: r.PostFormValue("name"), Filters: r.PostForm["filter"], Shared: r.PostFormValue("shared") != ""}
	seg, err := segment.Create(s.app, u.rec, site, in)
	switch {
	case errors.Is(err, segment.ErrInvalid):
		msg := strings.TrimPrefix(err.Error(), segment.ErrInvalid.Error()+": ")
		s.fail(w, r, u, http.StatusUnprocessableEntity, "The segment was not saved: "+inflector.Sentenize(msg))
		return
	case errors.Is(err, segment.ErrForbidden):
		s.fail(w, r, u, http.StatusForbidden, "Only the website's admins and owner share segments.")
		return
	case err != nil:
		s.internal(w, r, u, err)
		return
	}
	_ = audit.Log(s.app, audit.Entry{Website: site, Actor: u.rec, Action: audit.SegmentCreate, Target: seg.Name,
		Details: map[string]any{"filters": seg.Filters, "shared": seg.Shared}})
	http.Redirect(w, r, siteURL(site.Id, with(s.navQuery(r, site, false), "segment", seg.ID)), http.StatusSeeOther)
}

// deleteSegment deletes a segment of the site (its creator; a shared
// one also an admin or the owner) and opens the site page without it.
func (s *server) deleteSegment(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	id := r.PathValue("gid")
	seg, _, err := segment.Get(s.app, u.rec, site, id)
	if err == nil {
		err = segment.Delete(s.app, u.rec, id)
	}
	if err == nil {
		_ = audit.Log(s.app, audit.Entry{Website: site, Actor: u.rec, Action: audit.SegmentDelete, Target: seg.Name,
			Details: map[string]any{"shared": seg.Shared}})
	}
	switch {
	case errors.Is(err, segment.ErrNotFound):
		s.notFound(w, r, u)
	case errors.Is(err, segment.ErrForbidden):
		s.fail(w, r, u, http.StatusForbidden, "Only its creator, or an admin for a shared one, deletes a segment.")
	case err != nil:
		s.internal(w, r, u, err)
	default:
		http.Redirect(w, r, siteURL(site.Id, s.navQuery(r, site, false)), http.StatusSeeOther)
	}
}

// segmentChoices are the segments u may pin a link, a key or a report of
// site to ("" first: none).
func (s *server) segmentChoices(u *user, site *core.Record, selected string) ([]segmentOption, error) {
	segs, err := segment.List(s.app, u.rec, site)
	if err != nil {
		return nil, err
	}
	out := []segmentOption{{Name: "None (all visitors)", Selected: selected == ""}}
	for _, g := range segs {
		out = append(out, segmentOption{ID: g.ID, Name: g.Name, Shared: g.Shared, Selected: g.ID == selected})
	}
	return out, nil
}

// keepPin is the report segment select's value that keeps the copy of a
// segment the reports are pinned to (which may have changed or gone
// since).
const keepPin = "keep"

// reportPin is the report segment select's value for rec as stored.
func reportPin(rec *core.Record) string {
	if fs, _, err := segment.Pinned(rec, "report"); err != nil || fs != nil {
		return keepPin
	}
	return ""
}

// reportChoices are the report segment select's options: none, the pin
// as stored (when there is one), then the segments u may use.
func (s *server) reportChoices(u *user, site *core.Record, selected string) ([]segmentOption, error) {
	out, err := s.segmentChoices(u, site, selected)
	if err != nil {
		return nil, err
	}
	if reportPin(site) == keepPin {
		_, name, _ := segment.Pinned(site, "report")
		keep := segmentOption{ID: keepPin, Name: "Keep: " + cmp.Or(name, "(unnamed)") + " (as pinned)", Selected: selected == keepPin}
		out = slices.Insert(out, 1, keep)
	}
	return out, nil
}

// postedReportPin is the pin a posted report segment asks for: nil to
// keep the stored one, a zero Pin to unpin, or a copy of a segment u may
// use on site (bad when it names none).
func (s *server) postedReportPin(u *user, site *core.Record, v string) (_ *segment.Pin, bad bool) {
	switch v {
	case keepPin:
		return nil, false
	case "":
		return &segment.Pin{}, false
	}
	pin, _, err := segment.PinOf(s.app, u.rec, site, v)
	if err != nil {
		return nil, true
	}
	return &pin, false
}
