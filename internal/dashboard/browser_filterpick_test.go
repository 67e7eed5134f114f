package dashboard_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// TestBrowserAddFilter (issue 33): "+ Filter" opens a form whose value
// field suggests the dimension's values as one types; a stored path
// with markup is shown as text; "/pri" suggests "/pricing", picked with
// the keyboard and submitted, the page shows its chip and the filtered
// visitors.
func TestBrowserAddFilter(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Picker", "picker.example", "")
	e.traffic(t, site, 12)
	now := time.Now().UTC()
	sess := pbtest.Save(t, e.app, schema.Sessions, map[string]any{"website": site.Id, "entryPath": hostilePath, "exitPath": hostilePath,
		"isNewVisitor": true, "seq": 1, "startedAt": now, "lastActivity": now, "eventCount": 1})
	pbtest.Save(t, e.app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView", "path": hostilePath, "timestamp": now})

	ctx := tab(t)
	noDialogs(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"?period=today", "#add-filter")
	listed := `[...document.querySelectorAll("#fval-list [role=option] .sugg-label")].map(li => li.textContent)`
	run(t, ctx, "open + Filter and type", chromedp.Click(css("#add-filter > summary")), until(`document.getElementById("add-filter").open`),
		chromedp.SendKeys(css("#fval"), "script"), until(`!document.getElementById("fval-list").hidden`))
	if got := eval[[]string](t, ctx, listed); len(got) != 1 || got[0] != hostilePath {
		t.Errorf("suggestions for script: %q, want the stored path as text", got)
	}
	if n := eval[float64](t, ctx, `document.querySelectorAll("#fval-list script, #fval-list *[onerror]").length`); n != 0 {
		t.Errorf("%v elements from the stored path in the list", n)
	}

	eval[bool](t, ctx, `(document.getElementById("fval").value = "") === ""`)
	run(t, ctx, "type /pri", chromedp.SendKeys(css("#fval"), "/pri"),
		until(`JSON.stringify(`+listed+`) === '["/pricing"]'`))
	screenshot(t, ctx, "add-filter-suggestions")
	run(t, ctx, "pick with the keyboard", chromedp.SendKeys(css("#fval"), kb.ArrowDown),
		until(`document.getElementById("fval").getAttribute("aria-activedescendant") === "fval-opt-0"`),
		chromedp.SendKeys(css("#fval"), kb.Enter), until(`document.getElementById("fval-list").hidden`))
	if v := eval[string](t, ctx, `document.getElementById("fval").value`); v != "/pricing" {
		t.Fatalf("picked %q, want /pricing", v)
	}
	run(t, ctx, "submit", chromedp.Click(css("#filter-add")),
		until(`document.readyState === "complete" && !!document.querySelector("#filters .chip")`))
	loc := get(t, ctx, "location", chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Query().Get("filter") != "page:/pricing" || u.Query().Get("period") != "today" {
		t.Errorf("submitted to %s, want the page with filter=page:/pricing and the period", loc)
	}
	if got := text(t, ctx, "#filters .chip-text"); got != "Page is /pricing" {
		t.Errorf("chip %q", got)
	}
	rep := report(t, e.app, site.Id, "today", stats.Filter{Dim: "page", Value: "/pricing"})
	all := report(t, e.app, site.Id, "today")
	if got := text(t, ctx, "#kpi-visitors .kpi-value"); got != num(rep.Visitors.Value) || rep.Visitors.Value == all.Visitors.Value {
		t.Errorf("Visitors KPI %q, want the filtered %v (of %v)", got, rep.Visitors.Value, all.Visitors.Value)
	}
	screenshot(t, ctx, "add-filter")
}
