package dashboard_test

// The "+ Filter" form: its value suggestions (bounds, access, escaping),
// its plain-GET submission, and the sessions list under filters.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

type suggestAnswer struct {
	Dimension string `json:"dimension"`
	Metric    string `json:"metric"`
	Values    []struct {
		Value, Label string
		Count        int
	} `json:"values"`
	Error string `json:"error"`
}

func (c *client) suggest(t *testing.T, path string) (int, suggestAnswer, string) {
	t.Helper()
	r := c.get(path)
	var a suggestAnswer
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal([]byte(r.body), &a); err != nil {
			t.Fatalf("%s: %v\n%s", path, err, r.body)
		}
	}
	return r.StatusCode, a, r.body
}

// hostilePath is a stored page path that would run as markup.
const hostilePath = `/<script>alert(1)</script>`

func TestFilterSuggestions(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@suggest.example", "owner-password-1")
	viewer := addUser(t, e.app, "viewer@suggest.example", "viewer-password-1")
	stranger := addUser(t, e.app, "stranger@suggest.example", "stranger-password-1")
	site := addSite(t, e.app, "Suggest", "suggest.example", owner.Id)
	other := addSite(t, e.app, "Other", "other-suggest.example", stranger.Id)
	pbtest.Save(t, e.app, schema.Members, map[string]any{"website": site.Id, "user": viewer.Id, "role": "viewer"})
	e.traffic(t, site, 12)
	seedCountries(t, e.app, site, map[string]int{"DE": 3, "FR": 1})
	now := time.Now().UTC()
	sess := pbtest.Save(t, e.app, schema.Sessions, map[string]any{"website": site.Id, "entryPath": hostilePath, "exitPath": hostilePath,
		"isNewVisitor": true, "seq": 1, "startedAt": now, "lastActivity": now, "eventCount": 1})
	pbtest.Save(t, e.app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView", "path": hostilePath, "timestamp": now})
	pbtest.Save(t, e.app, schema.Goals, map[string]any{"website": site.Id, "name": "Signed up", "type": "event", "match": "signup"})
	pbtest.Save(t, e.app, schema.Goals, map[string]any{"website": site.Id, "name": "Saw pricing", "type": "page", "match": "/pricing"})

	oc := e.client(t)
	oc.base = e.srv.URL // the plugin-mounted dashboard: it holds the share guard
	oc.mustLogin("owner@suggest.example", "owner-password-1")
	base := "/dashboard/sites/" + site.Id
	sug := base + "/suggest?period=today&"

	t.Run("values", func(t *testing.T) {
		status, a, body := oc.suggest(t, sug+"dim=page&q=%2Fpri")
		if status != http.StatusOK || a.Metric != "pageviews" || len(a.Values) != 1 || a.Values[0].Value != "/pricing" || a.Values[0].Count == 0 {
			t.Fatalf("page /pri: %d %+v\n%s", status, a, body)
		}
		rep := report(t, e.app, site.Id, "today", stats.Filter{Dim: "page", Value: "/pricing"})
		if a.Values[0].Count != int(rep.PageViews.Value) {
			t.Errorf("/pricing: %d page views suggested, the report counts %v", a.Values[0].Count, rep.PageViews.Value)
		}
		// countries by name, the code as the value
		if _, a, _ := oc.suggest(t, sug+"dim=country&q=germ"); len(a.Values) != 1 || a.Values[0] != (struct {
			Value, Label string
			Count        int
		}{"DE", "Germany", 3}) {
			t.Errorf("country germ: %+v", a.Values)
		}
		if _, a, _ := oc.suggest(t, sug+"dim=goal&q=sign"); len(a.Values) != 1 || a.Values[0].Value != "Signed up" {
			t.Errorf("goal sign: %+v", a.Values)
		}
		if _, a, _ := oc.suggest(t, sug+"dim=event"); len(a.Values) != 1 || a.Values[0].Value != "signup" {
			t.Errorf("event: %+v", a.Values)
		}
		if _, a, _ := oc.suggest(t, sug+"dim=identified"); len(a.Values) != 2 {
			t.Errorf("identified: %+v", a.Values)
		}
		// under the page's filters, but not those of the same dimension
		_, all, _ := oc.suggest(t, sug+"dim=browser")
		_, same, _ := oc.suggest(t, sug+"dim=browser&filter=browser%3AFirefox")
		_, narrowed, _ := oc.suggest(t, sug+"dim=browser&filter=page%3A%2Fpricing")
		if len(all.Values) < 2 || len(same.Values) != len(all.Values) {
			t.Errorf("browsers %+v, under a browser filter %+v: want the same", all.Values, same.Values)
		}
		rep = report(t, e.app, site.Id, "today", stats.Filter{Dim: "page", Value: "/pricing"})
		sum := 0
		for _, v := range narrowed.Values {
			sum += v.Count
		}
		if sum != int(rep.Visitors.Value) {
			t.Errorf("browsers under page:/pricing add up to %d visitors, the report counts %v", sum, rep.Visitors.Value)
		}
	})

	t.Run("bounds", func(t *testing.T) {
		if _, a, _ := oc.suggest(t, sug+"dim=page&limit=2"); len(a.Values) != 2 {
			t.Errorf("limit 2: %d values", len(a.Values))
		}
		if _, a, _ := oc.suggest(t, sug+"dim=page&limit=20"); len(a.Values) != 6 {
			t.Errorf("limit 20: %d values, want the 6 pages", len(a.Values))
		}
		for _, tt := range []struct{ query, want string }{
			{"dim=nope", `unknown dimension \"nope\": use one of page,`},
			{"dim=meta.plan", "unknown dimension"},
			{"dim=page&limit=21", "limit must be 1..20"},
			{"dim=page&limit=0", "limit must be 1..20"},
			{"dim=page&q=" + strings.Repeat("a", stats.MaxFilterValue+1), "q is at most 2048 bytes"},
		} {
			status, _, body := oc.suggest(t, sug+tt.query)
			if status != http.StatusBadRequest || !strings.Contains(body, tt.want) {
				t.Errorf("%.40s: %d %s; want 400 %s", tt.query, status, body, tt.want)
			}
		}
		if status, a, _ := oc.suggest(t, sug+"dim=page&q="+strings.Repeat("a", stats.MaxBreakdownSearch+1)); status != http.StatusOK || len(a.Values) != 0 {
			t.Errorf("a search longer than a breakdown's: %d %+v", status, a.Values)
		}
	})

	t.Run("escaped", func(t *testing.T) {
		_, a, body := oc.suggest(t, sug+"dim=page&q=script")
		if len(a.Values) != 1 || a.Values[0].Value != hostilePath {
			t.Fatalf("hostile path: %+v", a.Values)
		}
		if strings.Contains(body, "<script>") || !strings.Contains(body, `\u003cscript\u003e`) {
			t.Errorf("stored markup not escaped: %s", body)
		}
	})

	t.Run("access", func(t *testing.T) {
		vc := e.client(t)
		vc.mustLogin("viewer@suggest.example", "viewer-password-1")
		if status, a, _ := vc.suggest(t, sug+"dim=page&q=%2Fpri"); status != http.StatusOK || len(a.Values) != 1 {
			t.Errorf("viewer: %d %+v", status, a)
		}
		if status, _, _ := vc.suggest(t, "/dashboard/sites/"+other.Id+"/suggest?dim=page"); status != http.StatusNotFound {
			t.Errorf("another site's: %d, want 404", status)
		}
		anon := e.client(t)
		anon.base = e.srv.URL
		if r := anon.get(sug + "dim=page"); r.StatusCode == http.StatusOK {
			t.Errorf("logged out: %d", r.StatusCode)
		}
		link := createShare(t, oc, site.Id, url.Values{"name": {"public"}})
		if status, a, body := anon.suggest(t, link+"/suggest?period=today&dim=page&q=%2Fpri"); status != http.StatusOK || len(a.Values) != 1 {
			t.Errorf("shared link: %d %+v\n%s", status, a, body)
		}
		// a link reaches its own website only: the id in a parameter is not read
		if _, a, _ := anon.suggest(t, link+"/suggest?period=today&dim=page&id="+other.Id+"&site="+other.Id); len(a.Values) != 6 {
			t.Errorf("shared link with another id: %+v", a.Values)
		}
		if r := anon.get("/share/nope/suggest?dim=page"); r.StatusCode != http.StatusNotFound {
			t.Errorf("unknown link: %d, want 404", r.StatusCode)
		}
	})

	t.Run("the form", func(t *testing.T) {
		r := oc.get(base + "?period=today&filter=browser%3AChrome")
		for _, want := range []string{
			`<details class="add-filter" id="add-filter">`,
			`<form method="get" action="` + base + `" id="filter-form" class="filter-form" data-suggest="` +
				attr(base+"/suggest?filter=browser%3AChrome&period=today") + `">`,
			`<input type="hidden" name="filter" value="browser:Chrome">`,
			`<option value="page">Page</option>`, `<option value="country">Country</option>`, `<option value="goal">Goal</option>`,
		} {
			if !strings.Contains(r.body, want) {
				t.Errorf("site page lacks %s", want)
			}
		}
		// submitted without script: the same page with the filter added
		// (a country by name keeps its code), back on page 1
		r = oc.get(base + "/sessions?period=today&filter=browser%3AChrome&page=2&fdim=country&fop=not&fval=Germany")
		if want := base + "/sessions?filter=browser%3AChrome&filter=country%3A%21DE&period=today"; r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("form: %d to %s, want 303 to %s", r.StatusCode, r.Header.Get("Location"), want)
		}
		// in place of the filter on the same dimension
		r = oc.get(base + "?period=today&filter=browser%3AChrome&fdim=browser&fop=is&fval=Firefox")
		if want := base + "?filter=browser%3AFirefox&period=today"; r.Header.Get("Location") != want {
			t.Errorf("form on the same dimension: to %s, want %s", r.Header.Get("Location"), want)
		}
		if r = oc.get(base + "?period=today&fdim=nope&fval=x"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "unknown dimension") {
			t.Errorf("bad dimension: %d", r.StatusCode)
		}
	})
}

var sessionRowRE = regexp.MustCompile(`<td data-label="Started"><a href="[^"]*/sessions/`)

// TestSessionsFollowFilters: the sessions list under filters lists the
// sessions the site page's visitors figure counts, shows the chips, and
// the site page's link carries the filters.
func TestSessionsFollowFilters(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Sessions", "sessions-filter.example", "")
	e.traffic(t, site, 12)
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	base := "/dashboard/sites/" + site.Id
	all := report(t, e.app, site.Id, "today")
	for _, filters := range [][]string{
		{"page:/pricing"},
		{"browser:!Safari"},
		{"page:!/about", "referrer:google.com"},
		{"event:signup"},
	} {
		t.Run(strings.Join(filters, " "), func(t *testing.T) {
			var fs []stats.Filter
			for _, raw := range filters {
				f, err := stats.ParseFilter(raw)
				if err != nil {
					t.Fatal(err)
				}
				fs = append(fs, f)
			}
			rep := report(t, e.app, site.Id, "today", fs...)
			if rep.Visitors.Value == all.Visitors.Value || rep.Visitors.Value == 0 {
				t.Fatalf("%v: %v of %v visitors: the data does not exercise the filter", filters, rep.Visitors.Value, all.Visitors.Value)
			}
			q := url.Values{"period": {"today"}, "filter": filters}
			page := c.get(base + "?" + q.Encode())
			if !strings.Contains(page.body, `href="`+attr(base+"/sessions?"+q.Encode())+`" id="sessions-link"`) {
				t.Error("the site page's sessions link does not keep the filters")
			}
			r := c.get(base + "/sessions?" + q.Encode())
			if r.StatusCode != http.StatusOK {
				t.Fatalf("%d\n%s", r.StatusCode, r.body)
			}
			if n := len(sessionRowRE.FindAllString(r.body, -1)); n != int(rep.Visitors.Value) {
				t.Errorf("%d sessions listed, the report counts %v visitors", n, rep.Visitors.Value)
			}
			if !strings.Contains(r.body, `id="filters"`) || !strings.Contains(r.body, `id="add-filter"`) {
				t.Error("no chips or + Filter on the sessions list")
			}
		})
	}
	if n := len(sessionRowRE.FindAllString(c.get(base+"/sessions?period=today").body, -1)); n != int(all.Visitors.Value) {
		t.Errorf("unfiltered: %d sessions listed, want %v", n, all.Visitors.Value)
	}
}
