package dashboard_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// hostileCountry is a country key no geo database gives, stored anyway.
const hostileCountry = `"><svg onload=alert(1)>`

// seedCountries stores, per country, that many sessions started now,
// each with one page view.
func seedCountries(t *testing.T, app core.App, site *core.Record, visitors map[string]int) {
	t.Helper()
	places := map[[2]string]int{}
	for country, n := range visitors {
		places[[2]string{country, ""}] = n
	}
	seedPlaces(t, app, site, places)
}

// seedPlaces is seedCountries by country and region (state) code.
func seedPlaces(t *testing.T, app core.App, site *core.Record, visitors map[[2]string]int) {
	t.Helper()
	now := time.Now().UTC()
	i := 0
	for place, n := range visitors {
		for range n {
			i++
			vis := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": fmt.Sprintf("v-%d", i)})
			sess := pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site.Id, "visitor": vis.Id, "country": place[0], "state": place[1],
				"entryPath": "/", "exitPath": "/", "isNewVisitor": true, "seq": 1, "startedAt": now, "lastActivity": now, "eventCount": 1})
			pbtest.Save(t, app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView", "path": "/", "timestamp": now})
		}
	}
}

// svgOf is the world map's markup in a page.
func svgOf(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<figure class="world-map" id="world-map">.*?</svg>`).FindString(body)
	if m == "" {
		t.Fatal("no world map on the page")
	}
	return m
}

// TestWorldMap: the Countries card draws the map with the countries
// shaded by visitors (the busiest darkest), each country with visitors a
// link that filters by its code; names replace codes in the card, the
// filter chip and "Show all", while URLs keep the codes; a hostile
// country key reaches no markup (the map draws the embedded shapes only)
// and is text in the card. A shared link shows the map with its links
// within the link.
func TestWorldMap(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Atlas", "atlas.example", "")
	seedCountries(t, e.app, site, map[string]int{"DE": 5, "FR": 1, "US": 3, hostileCountry: 2, "": 1})
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	base := "/dashboard/sites/" + site.Id

	r := c.get(base + "?period=today")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%d\n%s", r.StatusCode, r.body)
	}
	svg := svgOf(t, r.body)
	deHref := attr(base + "?filter=" + url.QueryEscape("country:DE") + "&period=today")
	for _, want := range []string{
		`<a href="` + deHref + `" id="map-DE" class="country l5" aria-label="Germany: 5 visitors">`,
		`id="map-US" class="country l3" aria-label="United States: 3 visitors"`,
		`id="map-FR" class="country l1" aria-label="France: 1 visitor"`,
		`<path class="country l0" d="M`, `<title>Brazil</title>`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("the map lacks %s", want)
		}
	}
	if n := strings.Count(svg, "<a "); n != 3 {
		t.Errorf("the map has %d links, want 3 (DE, US, FR)", n)
	}
	if strings.Contains(svg, "onload") || strings.Contains(svg, "style=") || strings.Contains(svg, "Unknown") {
		t.Error("the map shows a stored key or an inline style")
	}
	for _, want := range []string{`">Germany</a>`, `">United States</a>`, `>` + template.HTMLEscapeString(hostileCountry) + `</a>`, `>Unknown</a>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the Countries card lacks %s", want)
		}
	}
	if strings.Contains(r.body, hostileCountry) {
		t.Error("the hostile country key is markup")
	}

	r = c.get(base + "?period=today&filter=" + url.QueryEscape("country:DE"))
	if !strings.Contains(r.body, "Germany") || !strings.Contains(r.body, `value="country:DE"`) {
		t.Errorf("the filter chip names the country or the form lost the code")
	}
	if svg := svgOf(t, r.body); !strings.Contains(svg, `id="map-DE" class="country l5"`) || strings.Contains(svg, `id="map-US"`) {
		t.Error("the filtered map does not shade DE alone")
	}

	r = c.get(base + "/breakdown/country?period=today")
	if !strings.Contains(r.body, ">Germany</a>") || !strings.Contains(r.body, url.QueryEscape("country:DE")) {
		t.Error("Show all lacks the country's name or its code's filter")
	}
	// its search finds a country by name or by code
	for q, want := range map[string]string{"germ": "Germany", "de": "Germany", "united": "United States"} {
		r = c.get(base + "/breakdown/country?period=today&q=" + q)
		if !strings.Contains(r.body, ">"+want+"</a>") || strings.Contains(r.body, ">France</a>") {
			t.Errorf("Show all searching %q does not list %s alone", q, want)
		}
	}

	oc := e.client(t)
	oc.base = e.srv.URL // the plugin-mounted dashboard serves shared links
	oc.mustLogin(pbtest.Email, pbtest.Password)
	link := createShare(t, oc, site.Id, url.Values{})
	anon := e.client(t)
	anon.base = e.srv.URL
	r = anon.get(link + "?period=today")
	if svg := svgOf(t, r.body); !strings.Contains(svg, `<a href="`+attr(link+"?filter="+url.QueryEscape("country:DE")+"&period=today")+`" id="map-DE"`) {
		t.Errorf("the shared link's map does not link within the link:\n%.600s", svg)
	}
}

// TestRegions: with regions stored (a City database), the Countries box
// gets a Regions tab listing region names with their country, each row a
// filter by the code whose chip names the region; drilling into a
// country lists its regions only. Without any region the box is the
// Countries card alone. A hostile region key is text.
func TestRegions(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Regions", "regions.example", "")
	plain := addSite(t, e.app, "Plain", "plain.example", "")
	seedPlaces(t, e.app, site, map[[2]string]int{{"DE", "DE-BY"}: 3, {"DE", "DE-BE"}: 1, {"US", "US-CA"}: 2, {"US", hostileCountry}: 1, {"FR", ""}: 1})
	seedCountries(t, e.app, plain, map[string]int{"DE": 2})
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)

	r := c.get("/dashboard/sites/" + plain.Id + "?period=today")
	if strings.Contains(r.body, `id="tab-region"`) || strings.Contains(r.body, `id="card-region"`) || !strings.Contains(r.body, `id="box-country"`) {
		t.Error("a site without regions shows a Regions tab, or lost its Countries card")
	}

	base := "/dashboard/sites/" + site.Id
	r = c.get(base + "?period=today&tab.places=region")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%d\n%s", r.StatusCode, r.body)
	}
	for _, want := range []string{
		`id="tab-country"`, `id="tab-region" href="` + attr(base+"?period=today&tab.places=region") + `#box-places" aria-controls="card-region" aria-selected="true"`,
		`<a class="row-link" href="` + attr(base+"?filter="+url.QueryEscape("region:DE-BY")+"&period=today") + `">Bayern, Germany</a>`,
		`>California, United States</a>`, `>Berlin, Germany</a>`, `>` + template.HTMLEscapeString(hostileCountry) + `</a>`, `>Unknown</a>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the Regions tab lacks %s\n%s", want, regexp.MustCompile(`(?s)id="card-region".*?</table>`).FindString(r.body))
		}
	}
	if strings.Contains(r.body, hostileCountry) {
		t.Error("the hostile region key is markup")
	}

	r = c.get(base + "?period=today&tab.places=region&filter=" + url.QueryEscape("country:DE"))
	if !strings.Contains(r.body, ">Bayern, Germany</a>") || strings.Contains(r.body, "California") {
		t.Error("the regions of Germany are not listed alone under a country filter")
	}
	r = c.get(base + "?period=today&filter=" + url.QueryEscape("region:DE-BY"))
	if !strings.Contains(r.body, `<span class="chip-dim">Region</span> <span class="chip-op">is</span> <span class="chip-val">Bayern, Germany</span>`) ||
		!strings.Contains(r.body, `value="region:DE-BY"`) {
		t.Error("the region filter's chip does not name the region, or the form lost its code")
	}
	if v := kpis(r.body)["visitors"]; v != "3" {
		t.Errorf("region:DE-BY visitors = %s, want 3", v)
	}
	// + Filter suggests regions by name and reads the name back as the code
	r = c.get(base + "/suggest?period=today&dim=region&q=bay")
	if !strings.Contains(r.body, `"value":"DE-BY","label":"Bayern, Germany"`) || strings.Contains(r.body, "US-CA") {
		t.Errorf("region suggestions for bay: %s", r.body)
	}
	r = c.get(base + "?period=today&fdim=region&fop=is&fval=" + url.QueryEscape("Bayern, Germany"))
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || !strings.Contains(loc, url.QueryEscape("region:DE-BY")) {
		t.Errorf("+ Filter with Bayern, Germany: %d %s", r.StatusCode, loc)
	}
	r = c.get(base + "/breakdown/region?period=today")
	if !strings.Contains(r.body, ">Bayern, Germany</a>") || !strings.Contains(r.body, url.QueryEscape("region:DE-BY")) {
		t.Error("Show all lacks the region's name or its code's filter")
	}
}
