package dashboard_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/seo"
	"github.com/skopos-go/skopos/internal/seorun"
	"github.com/skopos-go/skopos/internal/servicekeys"
	"github.com/skopos-go/skopos/schema"
)

// noConsoleErrors fails the test, at its end, if a page logged an error:
// a CSP violation (Chromium logs each one), a failed load or an uncaught
// exception.
func noConsoleErrors(t *testing.T, ctx context.Context) {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch ev := ev.(type) {
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				msg = string(ev.Entry.Source) + ": " + ev.Entry.Text + " " + ev.Entry.URL
			}
		case *runtime.EventExceptionThrown:
			msg = "exception: " + ev.ExceptionDetails.Text
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				msg = "console.error"
			}
		}
		if msg != "" {
			mu.Lock()
			errs = append(errs, msg)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 {
			t.Errorf("console errors: %q", errs)
		}
	})
}

// TestBrowserSEOAndServiceKeys drives, in Chromium, what issue 27 added
// to the dashboard: the site page's SEO card leads to the SEO page, whose
// hostile texts (a second site's analysis) stay inert; "Run analysis"
// queues a job; a key added on the Service keys page is listed by its
// hint only. No page logs an error (a CSP violation included).
func TestBrowserSEOAndServiceKeys(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Shop", "shop.seo.example", "")
	evil := addSite(t, e.app, seoHostile[0], "evil.seo.example", "")
	saveAnalysis(t, e.app, site, goodResult(), seorun.Done, "")
	saveAnalysis(t, e.app, evil, hostileResult(), seorun.Failed, seoHostile[1])
	var mu sync.Mutex
	var asked []string
	e.use(dashboard.Options{Vault: testVault(t), SEO: func(s *core.Record, strategy string) (time.Duration, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, s.Id+" "+strategy)
		return 0, nil
	}})

	ctx := tab(t)
	noDialogs(t, ctx)
	noConsoleErrors(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)

	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id, "#card-seo")
	if got := text(t, ctx, "#seo-label"); got != seo.LabelExcellent {
		t.Errorf("card label %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#card-seo .gauge-arc").getAttribute("stroke-dasharray")`); got != "91 100" {
		t.Errorf("gauge arc %q", got)
	}
	// the arc is drawn: its stroke is the band's colour, not none
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector("#card-seo .gauge-arc")).stroke`); got == "" || got == "none" {
		t.Errorf("gauge arc stroke %q", got)
	}
	screenshot(t, ctx, "site-seo-card-desktop")

	run(t, ctx, "SEO details", chromedp.Click(css("#seo-link")),
		until(`location.pathname.endsWith("/seo") && document.readyState === "complete" && !!document.getElementById("recommendations")`))
	if got := text(t, ctx, "#prio-critical"); !strings.HasPrefix(got, "Critical") {
		t.Errorf("first group %q", got)
	}
	screenshot(t, ctx, "seo-desktop")
	run(t, ctx, "run analysis",
		chromedp.SetValue(css("#strategy"), "desktop"),
		chromedp.Click(css(`#run-form button[type="submit"]`)),
		until(`location.search.includes("queued=1") && document.readyState === "complete" && !!document.getElementById("queued")`))
	mu.Lock()
	if len(asked) != 1 || asked[0] != site.Id+" desktop" {
		t.Errorf("Options.SEO asked %q", asked)
	}
	mu.Unlock()

	// the hostile analysis: shown as text, nothing runs, no foreign link
	for _, p := range []string{"/dashboard/sites/" + evil.Id, "/dashboard/sites/" + evil.Id + "/seo"} {
		visit(t, ctx, e.dash.URL+p, "main")
		type result struct {
			XSS     bool   `json:"xss"`
			Foreign int    `json:"foreign"`
			Text    string `json:"text"`
		}
		res := eval[result](t, ctx, `({
				xss: typeof window.__xss !== "undefined",
				foreign: document.querySelectorAll('img[src="x"], [onerror], [onload], script:not([src="/dashboard/static/app.js"]), a[href]:not([href^="/dashboard"]):not([href="#main"])').length,
				text: document.body.innerText,
			})`)
		if res.XSS || res.Foreign != 0 {
			t.Errorf("%s: window.__xss set %v, %d injected elements or foreign links", p, res.XSS, res.Foreign)
		}
		if strings.HasSuffix(p, "/seo") {
			for _, h := range seoHostile {
				if !strings.Contains(res.Text, h) {
					t.Errorf("the SEO page does not show %q as text", h)
				}
			}
		}
	}
	screenshot(t, ctx, "seo-hostile-desktop")

	// Service keys: add one with the form, see its hint only
	const key = "AIzaBrowserKey-1234567890-hjkl"
	visit(t, ctx, e.dash.URL+"/dashboard/service-keys", "#service-key-form")
	run(t, ctx, "add a key",
		chromedp.SendKeys(css("#label"), "PageSpeed"),
		chromedp.SendKeys(css("#key"), key),
		chromedp.Click(css(`#service-key-form button[type="submit"]`)),
		until(`location.search.includes("done=added") && document.readyState === "complete" && !!document.getElementById("service-keys")`))
	if got := text(t, ctx, "#service-keys tbody tr"); !strings.Contains(got, "…hjkl") || !strings.Contains(got, "Active") || strings.Contains(got, key) {
		t.Errorf("listed key %q", got)
	}
	if html := eval[string](t, ctx, `document.documentElement.outerHTML`); strings.Contains(html, key) {
		t.Error("the page holds the key")
	}
	if n := count(t, e.app, schema.ServiceKeys, nil); n != 1 {
		t.Errorf("%d keys stored", n)
	}
	su, err := e.app.FindAuthRecordByEmail(core.CollectionNameSuperusers, pbtest.Email)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok, err := servicekeys.Use(e.app, testVault(t), su.Id, true, servicekeys.PageSpeed, time.Now()); err != nil || !ok || k != key {
		t.Errorf("the key typed does not open as typed: %v %v", ok, err)
	}
	screenshot(t, ctx, "service-keys-desktop")

	// phone width: nothing wider than the screen
	run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, p := range []struct{ name, path string }{
		{"seo-phone", "/dashboard/sites/" + site.Id + "/seo"}, {"service-keys-phone", "/dashboard/service-keys"},
	} {
		visit(t, ctx, e.dash.URL+p.path, "main")
		if eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
			t.Errorf("%s: the page is wider than the phone", p.name)
		}
		screenshot(t, ctx, p.name)
	}
}
