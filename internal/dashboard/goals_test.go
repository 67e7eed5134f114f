package dashboard_test

// The Goals and Funnels pages over HTTP: create, refuse bad input, view,
// delete, and 404 for another owner.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

func addGoal(t *testing.T, app core.App, siteID, name, typ, match string) *core.Record {
	t.Helper()
	return pbtest.Save(t, app, schema.Goals, map[string]any{"website": siteID, "name": name, "type": typ, "match": match})
}

func TestGoalsAndFunnelsPages(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@example.com", "ada-password-123")
	bob := addUser(t, e.app, "bob@example.com", "bob-password-123")
	site := addSite(t, e.app, "Ada's shop", "shop.example", ada.Id)
	bobs := addSite(t, e.app, "Bob's blog", "bob.example", bob.Id)
	bobsGoal := addGoal(t, e.app, bobs.Id, "Bob's goal", "page", "/")
	sent := e.traffic(t, site, 9)
	// one visitor surely through the funnel below (home, pricing, then
	// signup): the traffic's only one sends its signup right after its
	// pricing view, and events of the same millisecond are ordered by
	// their (random) ids
	for i, path := range []string{"/", "/pricing"} {
		e.beacon(t, `{"type":"pageView","url":"https://shop.example`+path+`"}`, "192.0.2.200", browsertest.Chrome)
		testwait.Until(t, "the funnel visitor's page view stored", func() bool {
			return count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id}) == sent+i+1
		})
	}
	var last string
	if err := e.app.DB().NewQuery("SELECT MAX(timestamp) FROM events WHERE website = {:w}").Bind(dbx.Params{"w": site.Id}).Row(&last); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "a later millisecond", func() bool { return time.Now().UTC().Format("2006-01-02 15:04:05.000Z") > last })
	e.beacon(t, `{"type":"custom","name":"signup","url":"https://shop.example/pricing"}`, "192.0.2.200", browsertest.Chrome)
	testwait.Until(t, "the funnel visitor's signup stored", func() bool {
		return count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id}) == sent+3
	})
	c := e.client(t)
	c.mustLogin("ada@example.com", "ada-password-123")
	base := "/dashboard/sites/" + site.Id
	bc := e.client(t) // bob, another owner
	bc.mustLogin("bob@example.com", "bob-password-123")
	nGoals := func() int { return count(t, e.app, schema.Goals, dbx.HashExp{"website": site.Id}) }
	nFunnels := func() int { return count(t, e.app, schema.Funnels, dbx.HashExp{"website": site.Id}) }

	t.Run("goals", func(t *testing.T) {
		if r := c.get(base + "/goals?period=30d"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "None yet.") {
			t.Fatalf("goals page: %d\n%s", r.StatusCode, r.body)
		}
		r := c.post(base+"/goals?period=30d", url.Values{"name": {" Signed up "}, "type": {"event"}, "match": {"signup"}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != base+"/goals?created=1&period=30d" {
			t.Fatalf("add: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		recs, _ := e.app.FindAllRecords(schema.Goals, dbx.HashExp{"website": site.Id})
		if len(recs) != 1 || recs[0].GetString("name") != "Signed up" || recs[0].GetString("type") != "event" || recs[0].GetString("match") != "signup" {
			t.Fatalf("stored %v", recs)
		}
		goalID := recs[0].Id
		r = c.get(r.Header.Get("Location"))
		if !strings.Contains(r.body, `id="created"`) || !strings.Contains(r.body, `href="`+attr(base+"?filter=goal%3ASigned+up&period=30d")+`"`) {
			t.Errorf("goals page after adding:\n%s", r.body)
		}
		// its conversions in the period, as the stats report counts them
		month := report(t, e.app, site.Id, "30d")
		if len(month.Goals) != 1 || month.Goals[0].Visitors == 0 {
			t.Fatalf("report goals %+v", month.Goals)
		}
		if want := num(float64(month.Goals[0].Visitors)) + " conversions"; !strings.Contains(r.body, want) {
			t.Errorf("goals page lacks %q", want)
		}
		r = c.post(base+"/goals", url.Values{"name": {"Pro plan"}, "type": {"event"}, "match": {"signup"},
			"propertyKey": {"plan"}, "propertyValue": {"pro"}})
		if r.StatusCode != http.StatusSeeOther || nGoals() != 2 {
			t.Fatalf("add with a property: %d\n%s", r.StatusCode, r.body)
		}

		bad := []struct {
			name string
			form url.Values
			want string
		}{
			{"no name", url.Values{"name": {" "}, "type": {"event"}, "match": {"signup"}}, "A name is required"},
			{"no match", url.Values{"name": {"X"}, "type": {"event"}}, "match is required"},
			{"page without slash", url.Values{"name": {"X"}, "type": {"page"}, "match": {"pricing"}}, "must start with /"},
			{"page with property", url.Values{"name": {"X"}, "type": {"page"}, "match": {"/p"}, "propertyKey": {"a"}, "propertyValue": {"b"}}, "no property"},
			{"key without value", url.Values{"name": {"X"}, "type": {"event"}, "match": {"signup"}, "propertyKey": {"plan"}}, "propertyValue"},
			{"unknown type", url.Values{"name": {"X"}, "type": {"click"}, "match": {"signup"}}, "type must be"},
			{"taken name", url.Values{"name": {"Signed up"}, "type": {"page"}, "match": {"/"}}, "already has a goal with that name"},
		}
		for _, tt := range bad {
			r := c.post(base+"/goals", tt.form)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="form-error"`) || !strings.Contains(r.body, attr(tt.want)) {
				t.Errorf("%s: %d, want 422 saying %q\n%s", tt.name, r.StatusCode, tt.want, r.body)
			}
			if n := nGoals(); n != 2 {
				t.Fatalf("%s: %d goals stored, want 2", tt.name, n)
			}
			// the form comes back as typed
			if v := tt.form.Get("match"); v != "" && !strings.Contains(r.body, `value="`+attr(v)+`"`) {
				t.Errorf("%s: the form lost the match %q", tt.name, v)
			}
		}

		// the site page's Goals card, and the goal's filter
		r = c.get(base + "?period=7d")
		rep := report(t, e.app, site.Id, "7d")
		if len(rep.Goals) != 2 || rep.Goals[1].Name != "Signed up" || rep.Goals[1].Visitors == 0 {
			t.Fatalf("goals %+v", rep.Goals)
		}
		g := rep.Goals[1]
		want := attr(base+"?filter=goal%3ASigned+up&period=7d") + `" title="Show only visitors who reached this goal">Signed up</a></span></td>
          <td class="n">` + num(float64(g.Visitors)) + `</td>
          <td class="n">` + fmt.Sprintf("%g%%", g.ConversionRate) + `</td>`
		if !strings.Contains(r.body, want) {
			t.Errorf("Goals card lacks %s\n%s", want, r.body)
		}
		r = c.get(base + "?period=7d&filter=" + url.QueryEscape("goal:Signed up"))
		if got := kpis(r.body)["visitors"]; r.StatusCode != http.StatusOK || got != num(float64(g.Visitors)) {
			t.Errorf("filtered by the goal: %d, visitors %q, want %d", r.StatusCode, got, g.Visitors)
		}

		// another owner's goals and site are not there
		for _, p := range []string{base + "/goals", base + "/goals/" + goalID + "/delete"} {
			if r := bc.get(p); r.StatusCode != http.StatusNotFound && r.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("bob GET %s: %d", p, r.StatusCode)
			}
			if r := bc.post(p, url.Values{"name": {"pwned"}, "type": {"page"}, "match": {"/"}}); r.StatusCode != http.StatusNotFound {
				t.Errorf("bob POST %s: %d, want 404", p, r.StatusCode)
			}
		}
		// a goal of another site through ada's site
		if r := c.post(base+"/goals/"+bobsGoal.Id+"/delete", url.Values{}); r.StatusCode != http.StatusNotFound {
			t.Errorf("ada deletes bob's goal through her site: %d, want 404", r.StatusCode)
		}
		if n := count(t, e.app, schema.Goals, nil); n != 3 {
			t.Fatalf("%d goals after refused requests, want 3", n)
		}

		r = c.post(base+"/goals/"+goalID+"/delete?period=30d", url.Values{})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != base+"/goals?deleted=1&period=30d" || nGoals() != 1 {
			t.Fatalf("delete: %d %s, %d goals", r.StatusCode, r.Header.Get("Location"), nGoals())
		}
	})

	t.Run("funnels", func(t *testing.T) {
		if r := c.get(base + "/funnels"); r.StatusCode != http.StatusOK || strings.Count(r.body, `name="stepMatch"`) != schema.MaxFunnelSteps {
			t.Fatalf("funnels page: %d, want %d step rows\n%s", r.StatusCode, schema.MaxFunnelSteps, r.body)
		}
		steps := func(rows ...[3]string) url.Values {
			v := url.Values{}
			for _, row := range rows {
				v.Add("stepName", row[0])
				v.Add("stepType", row[1])
				v.Add("stepMatch", row[2])
			}
			for range schema.MaxFunnelSteps - len(rows) {
				v.Add("stepName", "")
				v.Add("stepType", "page")
				v.Add("stepMatch", "")
			}
			return v
		}
		form := steps([3]string{"Home", "page", "/"}, [3]string{"", "page", ""}, [3]string{"Pricing", "page", "/pricing"},
			[3]string{"", "event", "signup"})
		form.Set("name", "Checkout")
		r := c.post(base+"/funnels?period=today", form)
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), base+"/funnels/") {
			t.Fatalf("add: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		recs, _ := e.app.FindAllRecords(schema.Funnels, dbx.HashExp{"website": site.Id})
		if len(recs) != 1 || recs[0].GetString("steps") !=
			`[{"name":"Home","type":"page","match":"/"},{"name":"Pricing","type":"page","match":"/pricing"},{"name":"signup","type":"event","match":"signup"}]` {
			t.Fatalf("stored %v", recs)
		}
		fid := recs[0].Id
		view := r.Header.Get("Location")
		if view != base+"/funnels/"+fid+"?period=today" {
			t.Errorf("redirect to %s", view)
		}

		// the view: one bar per step with stats.Funnel's figures
		r = c.get(base + "/funnels/" + fid + "?period=today&filter=browser:!Firefox")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("view: %d\n%s", r.StatusCode, r.body)
		}
		p, _ := stats.ParsePeriod("today", "", "", time.Now())
		rep, err := stats.Funnel(context.Background(), e.app, site.Id, fid,
			stats.Request{Period: p, Filters: []stats.Filter{{Dim: "browser", Value: "Firefox", Not: true}}})
		if err != nil || rep.Steps[0].Visitors == 0 || rep.Steps[2].Visitors == 0 {
			t.Fatalf("funnel %+v %v: the test data does not reach every step", rep, err)
		}
		if n := strings.Count(r.body, `<tr class="step">`); n != 3 {
			t.Errorf("%d steps shown, want 3", n)
		}
		for _, st := range rep.Steps {
			want := fmt.Sprintf(`<rect class="fill" width="%.1f" height="10"/></svg></td>
        <td class="n">%s</td>
        <td class="n">%g%%</td>`, st.ConversionRate, num(float64(st.Visitors)), st.ConversionRate)
			if !strings.Contains(r.body, want) {
				t.Errorf("step %s: no bar %s", st.Name, want)
			}
		}
		if !strings.Contains(r.body, `<input type="hidden" name="filter" value="browser:!Firefox">`) ||
			!strings.Contains(r.body, `<span class="chip-op">is not</span> <span class="chip-val">Firefox</span>`) {
			t.Error("the funnel view lacks the filter's hidden input or chip")
		}
		if r := c.get(base + "/funnels/" + fid + "?filter=nope:1"); r.StatusCode != http.StatusBadRequest {
			t.Errorf("bad filter: %d, want 400", r.StatusCode)
		}

		long := make([][3]string, 9)
		for i := range long {
			long[i] = [3]string{fmt.Sprint("s", i), "page", "/"}
		}
		nine := url.Values{"name": {"Nine"}}
		for _, row := range long {
			nine.Add("stepName", row[0])
			nine.Add("stepType", row[1])
			nine.Add("stepMatch", row[2])
		}
		bad := []struct {
			name string
			form url.Values
			want string
		}{
			{"no name", steps([3]string{"a", "page", "/"}, [3]string{"b", "page", "/x"}), "Enter a name"},
			{"one step", steps([3]string{"a", "page", "/"}), "2 to 8 steps, not 1"},
			{"nine steps", nine, "2 to 8 steps, not 9"},
			{"bad pattern", steps([3]string{"a", "page", "/"}, [3]string{"b", "page", "pricing"}), "must start with /"},
			{"bad type", steps([3]string{"a", "page", "/"}, [3]string{"b", "click", "x"}), "type must be"},
			{"taken name", steps([3]string{"a", "page", "/"}, [3]string{"b", "page", "/x"}), "already has a funnel with that name"},
		}
		for _, tt := range bad {
			if tt.form.Get("name") == "" && tt.name != "no name" {
				tt.form.Set("name", "Checkout 2")
			}
			if tt.name == "taken name" {
				tt.form.Set("name", "Checkout")
			}
			r := c.post(base+"/funnels", tt.form)
			if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="form-error"`) || !strings.Contains(r.body, attr(tt.want)) {
				t.Errorf("%s: %d, want 422 saying %q\n%s", tt.name, r.StatusCode, tt.want, r.body)
			}
			if n := nFunnels(); n != 1 {
				t.Fatalf("%s: %d funnels stored, want 1", tt.name, n)
			}
		}

		// another owner gets 404 everywhere
		for _, p := range []string{base + "/funnels", base + "/funnels/" + fid} {
			if r := bc.get(p); r.StatusCode != http.StatusNotFound {
				t.Errorf("bob GET %s: %d, want 404", p, r.StatusCode)
			}
		}
		for _, p := range []string{base + "/funnels", base + "/funnels/" + fid + "/delete"} {
			form := steps([3]string{"a", "page", "/"}, [3]string{"b", "page", "/x"})
			form.Set("name", "pwned")
			if r := bc.post(p, form); r.StatusCode != http.StatusNotFound {
				t.Errorf("bob POST %s: %d, want 404", p, r.StatusCode)
			}
		}
		// ada's funnel through bob's site: not bob's
		if r := bc.get("/dashboard/sites/" + bobs.Id + "/funnels/" + fid); r.StatusCode != http.StatusNotFound {
			t.Errorf("a funnel through another site: %d, want 404", r.StatusCode)
		}
		if n := nFunnels(); n != 1 {
			t.Fatalf("%d funnels after refused requests", n)
		}

		r = c.get(base + "/funnels")
		if !strings.Contains(r.body, `href="`+attr(base+"/funnels/"+fid+"?period=7d")+`">Checkout</a>`) {
			t.Errorf("funnels list lacks the view link:\n%s", r.body)
		}
		r = c.post(base+"/funnels/"+fid+"/delete", url.Values{})
		if r.StatusCode != http.StatusSeeOther || nFunnels() != 0 {
			t.Fatalf("delete: %d, %d funnels", r.StatusCode, nFunnels())
		}
		if r := c.get(base + "/funnels/" + fid); r.StatusCode != http.StatusNotFound {
			t.Errorf("deleted funnel: %d, want 404", r.StatusCode)
		}
	})

	// deleting the website deletes its goals and funnels
	c.post(base+"/funnels", func() url.Values {
		v := url.Values{"name": {"F"}, "stepName": {"a", "b"}, "stepType": {"page", "page"}, "stepMatch": {"/", "/x"}}
		return v
	}())
	if nFunnels() != 1 || nGoals() != 1 {
		t.Fatalf("before deleting the site: %d funnels, %d goals", nFunnels(), nGoals())
	}
	c.get("/dashboard/websites/" + site.Id + "/delete")
	if r := c.post("/dashboard/websites/"+site.Id+"/delete", url.Values{"confirm": {"shop.example"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete site: %d", r.StatusCode)
	}
	if nFunnels() != 0 || nGoals() != 0 {
		t.Errorf("after deleting the site: %d funnels, %d goals", nFunnels(), nGoals())
	}
}
