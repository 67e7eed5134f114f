package dashboard_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// A shared link in a browser with no account: the password form, then
// the read-only report; a breakdown key filters and the period picker
// keeps the filter, both without leaving the link; a hostile website
// name runs nothing.
func TestBrowserSharedLink(t *testing.T) {
	t.Parallel()
	e := start(t)
	const hostileName = `<img src=x onerror=alert(1)>`
	site := addSite(t, e.app, hostileName, "shared-browser.example", "")
	e.traffic(t, site, 12)
	oc := e.client(t)
	oc.base = e.srv.URL
	oc.mustLogin(pbtest.Email, pbtest.Password)
	link := createShare(t, oc, site.Id, url.Values{"password": {"open sesame"}})

	ctx := tab(t)
	noDialogs(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	loaded := func(extra string) chromedp.Action[chromedp.Void] {
		return until(`document.readyState === "complete" && ` + extra)
	}
	run(t, ctx, "password",
		chromedp.Navigate(e.srv.URL+link+"?period=today"),
		chromedp.WaitVisible(css("#password")),
		chromedp.SendKeys(css("#password"), "open sesame"),
		chromedp.Click(css(`#share-password-form button[type="submit"]`)),
		loaded(`!!document.querySelector(".kpis")`))
	sessions := func(where dbx.Expression) string {
		return num(float64(count(t, e.app, schema.Sessions, dbx.And(dbx.HashExp{"website": site.Id}, where))))
	}
	visitors := func() string { return text(t, ctx, "#kpi-visitors .kpi-value") }
	if got, want := visitors(), sessions(nil); got != want {
		t.Errorf("visitors %s, want %s", got, want)
	}
	if got := text(t, ctx, "h1"); got != hostileName {
		t.Errorf("site name shown as %q", got)
	}
	screenshot(t, ctx, "shared-desktop")
	run(t, ctx, "click Firefox",
		chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#card-browser a")].find(a => a.textContent === "Firefox").click()`),
		loaded(`location.search.includes("filter=browser%3AFirefox")`))
	if got, want := visitors(), sessions(dbx.HashExp{"browser": "Firefox"}); got != want {
		t.Errorf("filtered by Firefox: visitors %s, want %s", got, want)
	}
	run(t, ctx, "pick 30d",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("period"); s.value = "30d"; s.dispatchEvent(new Event("change")); })()`),
		loaded(`location.search.includes("period=30d")`))
	loc := get(t, ctx, "location", chromedp.Location())
	if !strings.Contains(loc, link+"?") || !strings.Contains(loc, "filter=browser%3AFirefox") {
		t.Errorf("after picking 30d: %s, want the link with the filter", loc)
	}
	// "active now" is pushed through the link too
	run(t, ctx, "counter connected", until(`document.getElementById("active-users").dataset.connected === "1"`))
	before := text(t, ctx, "#active-users")
	e.beacon(t, `{"type":"pageView","url":"https://shared-browser.example/new"}`, "198.51.100.77", browsertest.Chrome)
	run(t, ctx, "counter pushed", until(`document.getElementById("active-users").textContent !== `+strconv.Quote(before)))
	if got, want := text(t, ctx, "#active-users"), num(float64(report(t, e.app, site.Id, "today").ActiveUsers)); got != want {
		t.Errorf("active now %s through the link, report says %s", got, want)
	}
	if n := eval[float64](t, ctx, `document.querySelectorAll("img").length`); n != 0 {
		t.Errorf("%v img elements: the website name was parsed as HTML", n)
	}
}
