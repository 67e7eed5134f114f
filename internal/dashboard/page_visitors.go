package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/visitors"
	"github.com/skopos-go/skopos/internal/worldmap"
)

// visitorRow is a listed visitor with its links.
type visitorRow struct {
	visitors.Row
	Keys      string // the metadata keys, comma-separated
	UserURL   string // "" when not identified
	ExportURL string
	DeleteURL string // "" without Options.Erase
}

// sortLink is a column's order link.
type sortLink struct {
	Label, Href string
	Current     bool
}

type visitorsData struct {
	Site        siteView
	Period      periodView
	FormAction  string
	Search      string
	Sort        string
	Identified  []option
	Sorts       []sortLink
	Rows        []visitorRow
	NextURL     string
	FirstURL    string // the first page, on the next ones
	BackURL     string
	Paged       bool
	IsFiltering bool
	// Notice says what the erasure that led here deleted.
	Notice string
	// Erasures are the website's latest erasures (the log keeps no ids
	// or data of what went).
	Erasures []erasureRow
}

// visitorsPage lists the site's visitors of the period (package
// visitors), a page at a time by cursor.
func (s *server) visitorsPage(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	rd := &reader{u: u, site: site}
	p, ok := s.readPeriod(w, r, rd)
	if !ok {
		return
	}
	q := r.URL.Query()
	sort, err1 := visitors.ParseSort(q.Get("sort"))
	ident, err2 := visitors.ParseIdentified(q.Get("identified"))
	if err := errors.Join(err1, err2); err != nil {
		s.fail(w, r, u, http.StatusBadRequest, "Unknown order or filter of the visitors list.")
		return
	}
	search := strings.TrimSpace(q.Get("search"))
	listed, err := visitors.List(r.Context(), s.app, site.Id, visitors.Query{From: p.From, To: p.To, Search: search,
		Identified: ident, Sort: sort, After: q.Get("after"), ClickHouse: s.opts.ClickHouse})
	if errors.Is(err, visitors.ErrBadQuery) {
		s.fail(w, r, u, http.StatusBadRequest, "That page of the visitors list is not valid: start again from the first page.")
		return
	}
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	// base selects this list again (period, search, filter, order)
	base := periodQuery(p)
	if search != "" {
		base.Set("search", search)
	}
	if ident != "" {
		base.Set("identified", string(ident))
	}
	d := visitorsData{Site: s.viewSite(site), Period: viewPeriod(p), FormAction: sitePath(site.Id, "visitors", nil),
		Search: search, Sort: string(sort), BackURL: siteURL(site.Id, periodQuery(p)),
		Paged: q.Get("after") != "", IsFiltering: search != "" || ident != "", Notice: erasedNotice(q)}
	if d.Erasures, err = s.recentErasures(r, site.Id); err != nil {
		s.internal(w, r, u, err)
		return
	}
	for _, o := range []option{{"", "Everyone", false}, {"first", "Identified users first", false},
		{"yes", "Identified users only", false}, {"no", "Anonymous visitors only", false}} {
		o.Selected = o.Value == string(ident)
		d.Identified = append(d.Identified, o)
	}
	for _, o := range []struct {
		sort  visitors.Sort
		label string
	}{{visitors.SortLastSeen, "Last visit"}, {visitors.SortFirstSeen, "First visit"}, {visitors.SortSessions, "Sessions"}} {
		d.Sorts = append(d.Sorts, sortLink{Label: o.label, Href: sitePath(site.Id, "visitors", with(base, "sort", string(o.sort))),
			Current: o.sort == sort})
	}
	self := with(base, "sort", string(sort))
	if listed.Next != "" {
		d.NextURL = sitePath(site.Id, "visitors", with(self, "after", listed.Next))
	}
	if d.Paged {
		d.FirstURL = sitePath(site.Id, "visitors", self)
	}
	for _, row := range listed.Rows {
		row.Country = worldmap.Name(row.Country)
		v := visitorRow{Row: row, Keys: strings.Join(row.MetadataKeys, ", "),
			ExportURL: sitePath(site.Id, "visitors/"+url.PathEscape(row.ID)+"/export", nil)}
		if row.UserID != "" {
			v.UserURL = userURL(site.Id, row.UserID)
		}
		if s.opts.Erase != nil {
			v.DeleteURL = eraseURL(site.Id, erase.Visitor, row.ID)
		}
		d.Rows = append(d.Rows, v)
	}
	s.render(w, http.StatusOK, "visitors", pageFor(u, "Visitors · "+site.GetString("name"), "", d))
}

// visitorExport downloads everything stored about one visitor (the
// right of access).
func (s *server) visitorExport(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	id := r.PathValue("vid")
	s.serveExport(w, r, u, site, "visitor-"+id, []string{id})
}

// serveExport streams the JSON export of visitors of site (package
// visitors), or answers 404 if one is not the site's.
func (s *server) serveExport(w http.ResponseWriter, r *http.Request, u *user, site *core.Record, name string, ids []string) {
	err := visitors.ServeExportClickHouse(w, r, s.app, s.opts.ClickHouse, site, name, ids)
	switch {
	case errors.Is(err, visitors.ErrNotFound):
		s.notFound(w, r, u)
	case err != nil:
		// after the headers: the download is cut short
		s.app.Logger().Error("dashboard: visitor export failed", "error", err)
	}
}
