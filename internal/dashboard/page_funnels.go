package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// stepForm is one step row of the new-funnel form as typed.
type stepForm struct {
	N                 int
	Name, Type, Match string
}

type funnelForm struct {
	Name  string
	Steps []stepForm
}

func emptyFunnelForm() funnelForm {
	f := funnelForm{}
	for i := range schema.MaxFunnelSteps {
		f.Steps = append(f.Steps, stepForm{N: i + 1, Type: goal.Page})
	}
	return f
}

type funnelDef struct {
	Name      string
	Steps     []goal.Spec
	Broken    string // why the stored steps cannot be read
	ViewURL   string
	DeleteURL string
}

type funnelsData struct {
	Site      siteView
	Funnels   []funnelDef
	Form      funnelForm
	Error     string
	Created   bool
	Deleted   bool
	ActionURL string
	BackURL   string
	GoalsURL  string
	MinSteps  int
	MaxSteps  int
}

func (s *server) funnels(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	q := r.URL.Query()
	s.renderFunnels(w, r, u, site, http.StatusOK, emptyFunnelForm(), "", q.Get("created") == "1", q.Get("deleted") == "1")
}

func (s *server) renderFunnels(w http.ResponseWriter, r *http.Request, u *user, site *core.Record, status int,
	f funnelForm, msg string, created, deleted bool) {
	recs, err := s.app.FindAllRecords(schema.Funnels, dbx.HashExp{"website": site.Id})
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	sortByName(recs)
	pq, vq := s.navQuery(r, site, false), s.navQuery(r, site, true)
	d := funnelsData{Site: s.viewSite(site), Form: f, Error: msg, Created: created, Deleted: deleted,
		ActionURL: sitePath(site.Id, "funnels", pq), BackURL: siteURL(site.Id, vq), GoalsURL: sitePath(site.Id, "goals", pq),
		MinSteps: schema.MinFunnelSteps, MaxSteps: schema.MaxFunnelSteps}
	admin := access.Can(s.app, u.rec, site, access.Admin)
	if !admin {
		d.ActionURL = "" // a viewer's page has no forms (the routes would answer 403)
	}
	for _, rec := range recs {
		fd := funnelDef{Name: rec.GetString("name"), ViewURL: sitePath(site.Id, "funnels/"+url.PathEscape(rec.Id), vq)}
		if admin {
			fd.DeleteURL = sitePath(site.Id, "funnels/"+url.PathEscape(rec.Id)+"/delete", pq)
		}
		steps, err := goal.ParseSteps([]byte(rec.GetString("steps")))
		if err != nil {
			fd.Broken = invalidMessage(err)
		}
		fd.Steps = steps
		d.Funnels = append(d.Funnels, fd)
	}
	s.render(w, status, "funnels", pageFor(u, "Funnels · "+site.GetString("name"), "", d))
}

// maxStepRows bounds the step rows a posted form is read for.
const maxStepRows = 32

func (s *server) addFunnel(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, u, http.StatusBadRequest, "The form could not be read.")
		return
	}
	names, types, matches := r.PostForm["stepName"], r.PostForm["stepType"], r.PostForm["stepMatch"]
	at := func(vs []string, i int) string {
		if i < len(vs) {
			return strings.TrimSpace(vs[i])
		}
		return ""
	}
	f := funnelForm{Name: strings.TrimSpace(r.PostFormValue("name"))}
	var steps []goal.Spec
	rows := min(max(len(names), len(types), len(matches)), maxStepRows)
	for i := range rows {
		st := stepForm{N: i + 1, Name: at(names, i), Type: at(types, i), Match: at(matches, i)}
		f.Steps = append(f.Steps, st)
		if st.Name == "" && st.Match == "" {
			continue // an unused row
		}
		if st.Name == "" {
			st.Name = st.Match
		}
		steps = append(steps, goal.Spec{Name: st.Name, Type: st.Type, Match: st.Match})
	}
	for len(f.Steps) < schema.MaxFunnelSteps {
		f.Steps = append(f.Steps, stepForm{N: len(f.Steps) + 1, Type: goal.Page})
	}
	fail := func(msg string) {
		s.renderFunnels(w, r, u, site, http.StatusUnprocessableEntity, f, msg, false, false)
	}
	switch {
	case f.Name == "":
		fail("Enter a name for the funnel.")
		return
	case len([]rune(f.Name)) > 255:
		fail("The name is longer than 255 characters.")
		return
	}
	raw, err := json.Marshal(steps)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	if _, err := goal.ParseSteps(raw); err != nil {
		fail(invalidMessage(err))
		return
	}
	if taken, err := s.nameTaken(schema.Funnels, site.Id, f.Name); err != nil {
		s.internal(w, r, u, err)
		return
	} else if taken {
		fail("This website already has a funnel with that name.")
		return
	}
	col, err := s.app.FindCollectionByNameOrId(schema.Funnels)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	rec := core.NewRecord(col)
	rec.Set("website", site.Id)
	rec.Set("name", f.Name)
	rec.Set("steps", string(raw))
	if err := s.app.Save(rec); err != nil {
		if msg := saveError(err); msg != "" {
			fail(msg)
			return
		}
		s.internal(w, r, u, err)
		return
	}
	s.logChange(u, site, audit.FunnelCreate, f.Name, map[string]any{"steps": len(steps)})
	http.Redirect(w, r, sitePath(site.Id, "funnels/"+url.PathEscape(rec.Id), s.navQuery(r, site, false)), http.StatusSeeOther)
}

type funnelStepView struct {
	N           int
	Name        string
	Type, Match string
	Visitors    int
	Rate        string
	DropOff     int
	DropRate    string
	Width       string // bar width 0–100: the conversion rate
}

type funnelData struct {
	Site       siteView
	Period     periodView
	Filters    filterView
	FormAction string
	Name       string
	Sessions   int
	Steps      []funnelStepView
	Overall    string // last step's conversion rate
	BackURL    string
	ListURL    string
	DeleteURL  string
}

// funnelView is a funnel's chart, for a user or through a shared link
// (then without the list and delete links).
func (s *server) funnelView(w http.ResponseWriter, r *http.Request, rd *reader) {
	site, u := rd.site, rd.u
	req, leave, ok := s.readView(w, r, rd)
	if !ok {
		return
	}
	defer leave()
	p, fs := req.Period, rd.own
	rec := s.siteRecord(site, schema.Funnels, r.PathValue("fid"))
	if rec == nil {
		s.notFound(w, r, u)
		return
	}
	defs, err := goal.ParseSteps([]byte(rec.GetString("steps")))
	if err != nil {
		s.fail(w, r, u, http.StatusUnprocessableEntity, "This funnel's steps cannot be read: "+invalidMessage(err)+" Delete it and add it again.")
		return
	}
	rep, err := stats.Funnel(r.Context(), s.app, site.Id, rec.Id, req)
	if err != nil {
		s.queryFailed(w, r, u, err)
		return
	}
	pq := periodQuery(p)
	sub := "funnels/" + url.PathEscape(rec.Id)
	d := funnelData{Site: s.readerSite(rd), Period: viewPeriod(p), FormAction: rd.url(sub, nil),
		Filters: rd.filters(p, func(q url.Values) string { return rd.url(sub, q) }),
		Name:    rep.Name, Sessions: rep.Sessions, BackURL: rd.url("", viewQuery(p, fs))}
	if !rd.shared() {
		d.ListURL = sitePath(site.Id, "funnels", rd.viewQuery(p))
		if access.Can(s.app, rd.u.rec, site, access.Admin) {
			d.DeleteURL = sitePath(site.Id, "funnels/"+url.PathEscape(rec.Id)+"/delete", pq)
		}
	}
	for i, st := range rep.Steps {
		v := funnelStepView{N: i + 1, Name: st.Name, Visitors: st.Visitors, Rate: percent(st.ConversionRate),
			DropOff: st.DropOff, DropRate: percent(st.DropOffRate), Width: strconv.FormatFloat(st.ConversionRate, 'f', 1, 64)}
		if i < len(defs) {
			v.Type, v.Match = defs[i].Type, defs[i].Match
		}
		d.Steps = append(d.Steps, v)
	}
	if n := len(rep.Steps); n > 0 {
		d.Overall = percent(rep.Steps[n-1].ConversionRate)
	}
	s.render(w, http.StatusOK, "funnel", rd.page(rep.Name+" · "+site.GetString("name"), d))
}
