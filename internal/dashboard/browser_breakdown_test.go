package dashboard_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// TestBrowserShowAll (issue 33): the Pages card's "Show all" lists every
// page: searched, paged by 50, and a row filters the site page by it.
func TestBrowserShowAll(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Many pages", "pages.example", "")
	seedPages(t, e.app, site, "/plain")

	ctx := tab(t)
	noDialogs(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"?period=today", "#show-all-page")
	loaded := func(extra string) chromedp.Action[chromedp.Void] {
		return until(`document.readyState === "complete" && ` + extra)
	}
	run(t, ctx, "show all pages", chromedp.Click(css("#show-all-page")), loaded(`!!document.getElementById("breakdown-table")`))
	if got := text(t, ctx, "#breakdown-count"); got != "61 keys · page 1 of 2" {
		t.Errorf("count %q, want 61 keys on 2 pages", got)
	}
	rows := func() int {
		return int(eval[float64](t, ctx, `document.querySelectorAll("#breakdown-table tbody tr").length`))
	}
	if n := rows(); n != 50 {
		t.Errorf("first page: %d rows, want 50", n)
	}
	run(t, ctx, "search", chromedp.SendKeys(css("#breakdown-q"), "p05"), chromedp.Submit(css("#breakdown-q")),
		loaded(`location.search.includes("q=p05")`))
	if got, n := text(t, ctx, "#breakdown-count"), rows(); got != "10 matching keys · page 1 of 1" || n != 10 {
		t.Errorf("search p05: %q, %d rows", got, n)
	}
	run(t, ctx, "clear the search and go to page 2", chromedp.Navigate(e.dash.URL+"/dashboard/sites/"+site.Id+"/breakdown/page?period=today"),
		loaded(`!!document.getElementById("page-next")`), chromedp.Click(css("#page-next")), loaded(`(location.search.includes("offset=") || location.search.includes("page=2")) && !!document.querySelector("#page-prev")`)) // the pager comes after the table
	if n := rows(); n != 11 {
		t.Errorf("second page: %d rows, want 11", n)
	}
	key := text(t, ctx, "#breakdown-table tbody tr:first-child .row-link")
	run(t, ctx, "filter from a row", chromedp.Click(css("#breakdown-table tbody tr:first-child .row-link")),
		loaded(`location.pathname.endsWith("/sites/`+site.Id+`")`))
	loc := get(t, ctx, "location", chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Query().Get("filter") != "page:"+key || !strings.Contains(u.RawQuery, "period=today") {
		t.Errorf("the row opened %s, want the site page filtered by page:%s", loc, key)
	}
}
