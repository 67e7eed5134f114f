package dashboard

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/inflector"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// goalForm is the new-goal form as typed.
type goalForm struct {
	Name, Type, Match, PropertyKey, PropertyValue string
}

type goalDef struct {
	goal.Spec
	FilterURL string // the site page filtered by the goal
	DeleteURL string
	// Revenue is the goal's revenue in the period, a row per currency
	Revenue []revenueRow
	// Result is its conversions in the period (nil: not computed)
	Result *stats.GoalResult
}

type goalsData struct {
	Site       siteView
	Goals      []goalDef
	Form       goalForm
	Error      string
	Created    bool
	Deleted    bool
	ActionURL  string
	BackURL    string
	FunnelsURL string
}

func (s *server) goals(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	q := r.URL.Query()
	s.renderGoals(w, r, u, site, http.StatusOK, goalForm{Type: goal.Event}, "", q.Get("created") == "1", q.Get("deleted") == "1")
}

// navQuery is the period (and filters and segment) the page was opened with, kept in
// its links back to the site; a bad one is dropped rather than refused,
// as these pages do not show figures.
func (s *server) navQuery(r *http.Request, site *core.Record, filters bool) url.Values {
	p, err := s.period(r, site)
	if err != nil {
		return nil
	}
	fs, err := requestFilters(r)
	if err != nil || !filters {
		return viewQuery(p, nil)
	}
	q := viewQuery(p, fs)
	if id := r.URL.Query().Get("segment"); id != "" {
		q.Set("segment", id)
	}
	return q
}

func (s *server) renderGoals(w http.ResponseWriter, r *http.Request, u *user, site *core.Record, status int,
	f goalForm, msg string, created, deleted bool) {
	recs, err := s.app.FindAllRecords(schema.Goals, dbx.HashExp{"website": site.Id})
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	sortByName(recs)
	pq := s.navQuery(r, site, false)
	d := goalsData{Site: s.viewSite(site), Form: f, Error: msg, Created: created, Deleted: deleted,
		ActionURL: sitePath(site.Id, "goals", pq), BackURL: siteURL(site.Id, pq), FunnelsURL: sitePath(site.Id, "funnels", pq)}
	revenue, results := s.goalFigures(r, site)
	for _, rec := range recs {
		spec := goal.FromRecord(rec)
		d.Goals = append(d.Goals, goalDef{Spec: spec,
			FilterURL: siteURL(site.Id, with(pq, "filter", "goal:"+spec.Name)),
			DeleteURL: sitePath(site.Id, "goals/"+url.PathEscape(rec.Id)+"/delete", pq),
			Revenue:   revenue[spec.Name], Result: results[spec.Name]})
	}
	if !access.Can(s.app, u.rec, site, access.Admin) {
		d.readOnly()
	}
	s.render(w, status, "goals", pageFor(u, "Goals · "+site.GetString("name"), "", d))
}

// goalFigures reads each goal's revenue and conversions in the page's
// period, by name. The page manages goals: a report that fails (over its
// budget, too many running) leaves the figures out rather than the page.
func (s *server) goalFigures(r *http.Request, site *core.Record) (map[string][]revenueRow, map[string]*stats.GoalResult) {
	p, err := s.period(r, site)
	if err != nil {
		return nil, nil
	}
	leave, err := s.opts.Queries.Enter(site.Id, "")
	if err != nil {
		return nil, nil
	}
	defer leave()
	req := stats.Request{Period: p, Now: s.opts.Now(), Budget: s.opts.QueryBudget, ClickHouse: s.opts.ClickHouse}
	results := map[string]*stats.GoalResult{}
	if gs, err := stats.Goals(r.Context(), s.app, site.Id, req); err != nil {
		s.app.Logger().Warn("skopos dashboard: goal conversions left out", "site", site.Id, "error", err)
	} else {
		for i := range gs {
			results[gs[i].Name] = &gs[i]
		}
	}
	rows, err := stats.Revenue(r.Context(), s.app, site.Id, "goal", req)
	if err != nil {
		s.app.Logger().Warn("skopos dashboard: goal revenue left out", "site", site.Id, "error", err)
		return nil, results
	}
	out := map[string][]revenueRow{}
	for _, row := range revenueRows(rows) {
		out[row.Key] = append(out[row.Key], row)
	}
	return out, results
}

func sortByName(recs []*core.Record) {
	sort.SliceStable(recs, func(i, j int) bool {
		return strings.ToLower(recs[i].GetString("name")) < strings.ToLower(recs[j].GetString("name"))
	})
}

func (s *server) addGoal(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	f := goalForm{
		Name: strings.TrimSpace(r.PostFormValue("name")), Type: r.PostFormValue("type"),
		Match:       strings.TrimSpace(r.PostFormValue("match")),
		PropertyKey: strings.TrimSpace(r.PostFormValue("propertyKey")), PropertyValue: strings.TrimSpace(r.PostFormValue("propertyValue")),
	}
	spec := goal.Spec{Name: f.Name, Type: f.Type, Match: f.Match, PropertyKey: f.PropertyKey, PropertyValue: f.PropertyValue}
	if err := spec.Validate(); err != nil {
		s.renderGoals(w, r, u, site, http.StatusUnprocessableEntity, f, invalidMessage(err), false, false)
		return
	}
	if taken, err := s.nameTaken(schema.Goals, site.Id, f.Name); err != nil {
		s.internal(w, r, u, err)
		return
	} else if taken {
		s.renderGoals(w, r, u, site, http.StatusUnprocessableEntity, f, "This website already has a goal with that name.", false, false)
		return
	}
	col, err := s.app.FindCollectionByNameOrId(schema.Goals)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	rec := core.NewRecord(col)
	rec.Set("website", site.Id)
	rec.Set("name", spec.Name)
	rec.Set("type", spec.Type)
	rec.Set("match", spec.Match)
	rec.Set("propertyKey", spec.PropertyKey)
	rec.Set("propertyValue", spec.PropertyValue)
	if err := s.app.Save(rec); err != nil {
		if msg := saveError(err); msg != "" {
			s.renderGoals(w, r, u, site, http.StatusUnprocessableEntity, f, msg, false, false)
			return
		}
		s.internal(w, r, u, err)
		return
	}
	s.logChange(u, site, audit.GoalCreate, spec.Name, map[string]any{"type": spec.Type, "match": spec.Match})
	http.Redirect(w, r, sitePath(site.Id, "goals", with(s.navQuery(r, site, false), "created", "1")), http.StatusSeeOther)
}

// deleteRecord deletes the site's record of collection named by the
// path value param (a goal, a funnel, a shared link: 404 when it is
// another site's) and returns to the site's page sub, saying so with
// deleted=1.
func (s *server) deleteRecord(collection, param, sub string) func(http.ResponseWriter, *http.Request, *user, *core.Record) {
	return func(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
		rec := s.siteRecord(site, collection, r.PathValue(param))
		if rec == nil {
			s.notFound(w, r, u)
			return
		}
		if err := s.app.Delete(rec); err != nil {
			s.internal(w, r, u, err)
			return
		}
		s.logChange(u, site, deleteActions[collection], recordTarget(rec), map[string]any{"id": rec.Id})
		http.Redirect(w, r, sitePath(site.Id, sub, with(s.navQuery(r, site, false), "deleted", "1")), http.StatusSeeOther)
	}
}

// siteRecord loads a record of collection (a goal, funnel or shared
// link) that belongs to site; nil when it is unknown or another site's.
func (s *server) siteRecord(site *core.Record, collection, id string) *core.Record {
	rec, err := s.app.FindRecordById(collection, id)
	if err != nil || rec.GetString("website") != site.Id {
		return nil
	}
	return rec
}

// nameTaken reports whether the site has a goal (or funnel) named name;
// the collections' unique (website, name) index would refuse it.
func (s *server) nameTaken(collection, siteID, name string) (bool, error) {
	_, err := s.app.FindFirstRecordByFilter(collection, "website = {:w} && name = {:n}", dbx.Params{"w": siteID, "n": name})
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// invalidMessage is a goal or funnel definition error as a sentence.
func invalidMessage(err error) string {
	return inflector.Sentenize(strings.ReplaceAll(err.Error(), goal.ErrInvalid.Error()+": ", ""))
}

// saveError is the message of a save the record's rules or hooks refused
// ("" when err is not such a refusal).
func saveError(err error) string {
	if errs := fieldErrors(err); errs != nil {
		fields := make([]string, 0, len(errs))
		for f := range errs {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		var b strings.Builder
		for _, f := range fields {
			if b.Len() > 0 {
				b.WriteString(" ")
			}
			b.WriteString(f + ": " + errs[f])
		}
		return b.String()
	}
	if errors.Is(err, goal.ErrInvalid) {
		return invalidMessage(err)
	}
	if strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return "That name is taken: names are unique per website."
	}
	return ""
}

// readOnly takes the forms away from a viewer's page (the routes would
// answer 403).
func (d *goalsData) readOnly() {
	d.ActionURL = ""
	for i := range d.Goals {
		d.Goals[i].DeleteURL = ""
	}
}
