package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// seedPages stores one session with a page view of each of 60 paths
// (/p000 gets 61, /p001 60, …: a strict order) and of a hostile path.
func seedPages(t *testing.T, app core.App, site *core.Record, hostilePath string) {
	t.Helper()
	now := time.Now().UTC()
	vis := pbtest.Save(t, app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v-pages"})
	sess := pbtest.Save(t, app, schema.Sessions, map[string]any{"website": site.Id, "visitor": vis.Id, "browser": "Chrome",
		"entryPath": "/p000", "exitPath": "/p000", "isNewVisitor": true, "seq": 1, "startedAt": now, "lastActivity": now, "eventCount": 2})
	err := app.RunInTransaction(func(tx core.App) error {
		col, err := tx.FindCollectionByNameOrId(schema.Events)
		if err != nil {
			return err
		}
		for i := range 60 {
			for range 61 - i {
				ev := core.NewRecord(col)
				ev.Load(map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView", "path": fmt.Sprintf("/p%03d", i), "timestamp": now})
				if err := tx.Save(ev); err != nil {
					return err
				}
			}
		}
		ev := core.NewRecord(col)
		ev.Load(map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView", "path": hostilePath, "timestamp": now})
		return tx.Save(ev)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The "Show all" page of Pages: paged by 50, searched, sorted by either
// column, each row a link that filters the site page with the page's
// period and filters; a hostile path is text in the list, the search box
// and the links.
func TestBreakdownPage(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Shop", "shop.example", "")
	const hostilePath = `/"><script>alert(1)</script>`
	seedPages(t, e.app, site, hostilePath)
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	base := "/dashboard/sites/" + site.Id + "/breakdown/page?period=today"

	r := c.get(base)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("%d\n%s", r.StatusCode, r.body)
	}
	for _, want := range []string{"61 keys · page 1 of 2", `id="page-next"`, ">/p000</a>", ">61<", ">/p049</a>", `aria-sort="descending"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page 1 lacks %q", want)
		}
	}
	if strings.Contains(r.body, ">/p050</a>") || strings.Contains(r.body, `id="page-prev"`) {
		t.Error("page 1 lists the 51st key or links to a previous page")
	}
	filterLink := `href="/dashboard/sites/` + site.Id + `?filter=` + url.QueryEscape("page:/p000") + `&amp;period=today"`
	if !strings.Contains(r.body, filterLink) {
		t.Errorf("no row link %s", filterLink)
	}

	r = c.get(base + "&page=2")
	for _, want := range []string{"page 2 of 2", `id="page-prev"`, ">/p050</a>", ">/p059</a>", attr(hostilePath)} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page 2 lacks %q", want)
		}
	}
	if strings.Contains(r.body, hostilePath) || strings.Contains(r.body, `id="page-next"`) {
		t.Error("page 2: the hostile path is unescaped, or a next page is linked")
	}

	// search, under a filter: the filter stays in the form and the links
	r = c.get(base + "&q=P01&filter=" + url.QueryEscape("browser:Chrome"))
	if !strings.Contains(r.body, "10 matching keys") || !strings.Contains(r.body, ">/p019</a>") || strings.Contains(r.body, ">/p020</a>") {
		t.Errorf("search p01: %s", r.body)
	}
	if !strings.Contains(r.body, `name="filter" value="browser:Chrome"`) || !strings.Contains(r.body, `value="P01"`) {
		t.Error("the search form drops the filter or the search")
	}
	both := `?filter=` + url.QueryEscape("browser:Chrome") + `&amp;filter=` + url.QueryEscape("page:/p010") + `&amp;period=today"`
	if !strings.Contains(r.body, both) {
		t.Errorf("no row link with both filters %s", both)
	}

	// sort by key, ascending; then the header sorts descending
	r = c.get(base + "&sort=key&order=asc")
	if i, j := strings.Index(r.body, ">/p000</a>"), strings.Index(r.body, ">/p001</a>"); i < 0 || j < i {
		t.Error("by key: /p000 is not before /p001")
	}
	if !strings.Contains(r.body, `aria-sort="ascending"`) || !strings.Contains(r.body, "sort=key") {
		t.Error("by key: the header does not say ascending")
	}

	// a hostile search comes back as text
	r = c.get(base + "&q=" + url.QueryEscape(hostilePath))
	if r.StatusCode != http.StatusOK || strings.Contains(r.body, hostilePath) || !strings.Contains(r.body, "1 matching keys") {
		t.Errorf("hostile search: %d, unescaped or not found", r.StatusCode)
	}
	// the site page: Pages | Entry | Exit as tabs (links), Pageviews
	// named, a share per row, Show all under the card
	site1 := "/dashboard/sites/" + site.Id + "?period=today"
	r = c.get(site1)
	for _, want := range []string{`role="tablist"`, `id="tab-entryPage" href="/dashboard/sites/` + site.Id + `?period=today&amp;tab.pages=entryPage#box-pages"`,
		`aria-selected="true">Pages</a>`, `id="card-entryPage" role="tabpanel" aria-labelledby="tab-entryPage" hidden`,
		`class="n">Pageviews</th>`, `class="n">Visitors</th>`, `href="/dashboard/sites/` + site.Id + `/breakdown/page?period=today" id="show-all-page"`,
		`<td class="n">100%</td>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("site page lacks %q", want)
		}
	}
	if r = c.get(site1 + "&tab.pages=entryPage"); !strings.Contains(r.body, `id="card-page" role="tabpanel" aria-labelledby="tab-page" hidden`) ||
		strings.Contains(r.body, `id="card-entryPage" role="tabpanel" aria-labelledby="tab-entryPage" hidden`) {
		t.Error("tab.pages=entryPage does not select the Entry tab")
	}

	for path, want := range map[string]int{
		"/dashboard/sites/" + site.Id + "/breakdown/nope":                                                http.StatusNotFound,
		"/dashboard/sites/" + site.Id + "/breakdown/page?q=" + strings.Repeat("x", 201):                  http.StatusBadRequest,
		"/dashboard/sites/" + site.Id + "/breakdown/jsError?filter=" + url.QueryEscape("browser:Chrome"): http.StatusBadRequest,
		"/dashboard/sites/" + site.Id + "/breakdown/page?page=99999999999":                               http.StatusOK,
	} {
		if r := c.get(path); r.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, r.StatusCode, want)
		}
	}
}
