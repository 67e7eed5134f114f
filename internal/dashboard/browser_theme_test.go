package dashboard_test

import (
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// TestBrowserDarkTheme: a browser that prefers dark gets the dark palette
// (login page and site page, its chart included) without any choice
// made; the header's toggle cycles system → dark → light, and light is
// kept across a reload (localStorage) although the browser still prefers
// dark. Colors come from app.css's palette: --bg is #0f1320 (dark) and
// #f6f7fb (light). No page logs an error (a CSP violation included).
func TestBrowserDarkTheme(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Night shop", "night.example", "")
	e.traffic(t, site, 3)

	ctx := tab(t)
	noConsoleErrors(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatal(err)
	}
	const (
		darkBg  = "rgb(15, 19, 32)"
		lightBg = "rgb(246, 247, 251)"
		bodyBg  = `getComputedStyle(document.body).backgroundColor`
		toggle  = "#theme-toggle:not([hidden])"
		stroke  = `getComputedStyle(document.querySelector(".plot .line")).stroke`
	)
	theme := func() (bg, label, attr string) {
		t.Helper()
		return eval[string](t, ctx, bodyBg), text(t, ctx, "#theme-toggle"),
			eval[string](t, ctx, `document.documentElement.getAttribute("data-theme") || ""`)
	}
	check := func(when, wantBg, wantLabel, wantAttr string) {
		t.Helper()
		if bg, label, attr := theme(); bg != wantBg || label != wantLabel || attr != wantAttr {
			t.Errorf("%s: background %s, toggle %q, data-theme %q; want %s, %q, %q", when, bg, label, attr, wantBg, wantLabel, wantAttr)
		}
	}

	visit(t, ctx, e.dash.URL+"/dashboard/login", toggle)
	check("login page, system prefers dark", darkBg, "Theme: system", "")
	screenshot(t, ctx, "login-dark")
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id, ".plot .line")
	check("site page, system prefers dark", darkBg, "Theme: system", "")
	darkStroke := eval[string](t, ctx, stroke)
	screenshot(t, ctx, "site-dark")

	run(t, ctx, "toggle to dark", chromedp.Click(css("#theme-toggle")))
	check("chosen dark", darkBg, "Theme: dark", "dark")
	run(t, ctx, "toggle to light", chromedp.Click(css("#theme-toggle")))
	check("chosen light", lightBg, "Theme: light", "light")

	run(t, ctx, "reload", chromedp.Reload(), until(`document.documentElement.getAttribute("data-theme") === "light" &&
		!!document.querySelector("`+toggle+`")`))
	check("light, reloaded", lightBg, "Theme: light", "light")
	if lightStroke := eval[string](t, ctx, stroke); lightStroke == darkStroke {
		t.Errorf("the chart's line is %s in both themes", lightStroke)
	}

	run(t, ctx, "toggle back to system", chromedp.Click(css("#theme-toggle")))
	check("system again", darkBg, "Theme: system", "")
	if v := eval[bool](t, ctx, `localStorage.getItem("skopos-theme") === null`); !v {
		t.Error("the system choice left a stored theme")
	}
}
