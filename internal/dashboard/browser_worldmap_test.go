package dashboard_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// TestBrowserWorldMap (issue 33): the Countries card shows the map with
// Germany (5 visitors) shaded darker than France (1); Germany is
// keyboard focusable, and clicking it filters the site page by
// country:DE, which the visitors figure follows.
func TestBrowserWorldMap(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Atlas", "atlas.example", "")
	seedCountries(t, e.app, site, map[string]int{"DE": 5, "FR": 1})

	ctx := tab(t)
	noDialogs(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"?period=today", "#map-DE")
	if w := eval[float64](t, ctx, `document.querySelector("#world-map svg").getBoundingClientRect().width`); w < 300 {
		t.Errorf("the map is %.0f px wide", w)
	}
	opacity := func(id string) float64 {
		return eval[float64](t, ctx, `parseFloat(getComputedStyle(document.querySelector("#`+id+` path")).fillOpacity)`)
	}
	if de, fr := opacity("map-DE"), opacity("map-FR"); !(de > fr && fr > 0) {
		t.Errorf("fill-opacity DE %v, FR %v: want DE darker", de, fr)
	}
	if fill := eval[string](t, ctx, `getComputedStyle(document.querySelector("#map-DE path")).fill`); fill == eval[string](t, ctx, `getComputedStyle(document.querySelector("#world-map path.l0")).fill`) {
		t.Errorf("Germany has the fill of a country without visitors (%s)", fill)
	}
	if !eval[bool](t, ctx, `(() => { const a = document.getElementById("map-DE"); a.focus(); return document.activeElement === a })()`) {
		t.Error("Germany on the map does not take the keyboard focus")
	}
	if got := text(t, ctx, "#kpi-visitors .kpi-value"); got != "6" {
		t.Fatalf("visitors %q before the filter, want 6", got)
	}
	run(t, ctx, "click Germany", chromedp.Click(css("#map-DE")),
		until(`document.readyState === "complete" && location.search.includes("filter=")`))
	loc := get(t, ctx, "location", chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Query().Get("filter") != "country:DE" || !strings.Contains(u.RawQuery, "period=today") {
		t.Errorf("the click opened %s, want the site page filtered by country:DE", loc)
	}
	if got := text(t, ctx, "#kpi-visitors .kpi-value"); got != "5" {
		t.Errorf("visitors %q under country:DE, want 5", got)
	}
	if chips := text(t, ctx, "#filters"); !strings.Contains(chips, "Germany") {
		t.Errorf("the filter chip reads %q, want the country's name", chips)
	}
}
