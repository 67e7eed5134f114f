package dashboard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// TestBrowserUptimeAndNotifications drives, in Chromium, what issue 28
// added to the dashboard: the overview's status dot leads to the uptime
// page (chart, incidents, hostile texts inert); a rule is created through
// the Notifications form, whose custom event field shows only for a
// custom event; the test button calls the notifier. No page logs an error
// (a CSP violation included) or is wider than a phone.
func TestBrowserUptimeAndNotifications(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, evil[0], "shop.browser-uptime.example", "")
	monitored(t, e.app, site, time.Now())
	tests := make(chan string, 4)
	e.use(dashboard.Options{NotifyTest: func(_ context.Context, rule *core.Record) error {
		tests <- rule.GetString("name")
		return nil
	}})

	ctx := tab(t)
	noDialogs(t, ctx)
	noConsoleErrors(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)

	visit(t, ctx, e.dash.URL+"/dashboard/", ".status-link")
	if got := text(t, ctx, ".status-link"); got != "Uptime: Down" {
		t.Errorf("status dot text %q", got)
	}
	run(t, ctx, "open uptime", chromedp.Click(css(".status-link")),
		until(`location.pathname.endsWith("/uptime") && document.readyState === "complete" && !!document.getElementById("incidents")`))
	if got := text(t, ctx, "#uptime-24h"); got != "80.00%" {
		t.Errorf("24h uptime %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#uptime-chart rect.down").length`); n != 2 {
		t.Errorf("%d down marks", n)
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector("#uptime-chart rect.down")).fill`); got == "" || got == "rgb(0, 0, 0)" {
		t.Errorf("down mark fill %q", got)
	}
	screenshot(t, ctx, "uptime-desktop")

	visit(t, ctx, e.dash.URL+"/dashboard/notifications", "#rule-form")
	if eval[bool](t, ctx, `!document.getElementById("customEventName").closest("[data-for]").hidden`) {
		t.Error("the custom event field shows for a new visitor rule")
	}
	run(t, ctx, "fill the rule form",
		chromedp.SendKeys(css("#rule-name"), "Signups"),
		chromedp.SetValue(css("#eventType"), "custom_event"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("eventType").dispatchEvent(new Event("change"))`),
		until(`!document.getElementById("customEventName").closest("[data-for]").hidden`),
		chromedp.SendKeys(css("#customEventName"), "signup"),
		chromedp.SendKeys(css("#webhookSecret"), "browser-secret"),
		chromedp.Click(css(`#rule-form button[type="submit"]`)),
		until(`location.search.includes("done=created") && document.readyState === "complete" && !!document.getElementById("rules")`))
	if got := text(t, ctx, "#rules tbody tr td:nth-child(2)"); got != "Custom event: signup" {
		t.Errorf("listed event %q", got)
	}
	rule, err := e.app.FindFirstRecordByData(schema.NotifyRules, "name", "Signups")
	if err != nil || rule.GetString("webhookSecret") != "browser-secret" || rule.GetString("recipientEmail") != pbtest.Email {
		t.Fatalf("rule: %v", err)
	}
	screenshot(t, ctx, "notifications-desktop")
	run(t, ctx, "open the rule", chromedp.Click(css("#rules tbody tr td a")),
		until(`!!document.getElementById("test-form") && document.readyState === "complete"`),
		chromedp.Click(css(`#test-form button[type="submit"]`)),
		until(`!!document.getElementById("tested") && document.readyState === "complete"`))
	if got := <-tests; got != "Signups" {
		t.Errorf("tested %q", got)
	}
	if strings.Contains(eval[string](t, ctx, `document.documentElement.outerHTML`), "browser-secret") {
		t.Error("the secret is in the page")
	}

	run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, p := range []struct{ name, path string }{
		{"uptime-phone", "/dashboard/sites/" + site.Id + "/uptime"}, {"notifications-phone", "/dashboard/notifications"},
		{"rule-phone", "/dashboard/notifications/" + rule.Id}, {"overview-dot-phone", "/dashboard/"},
	} {
		visit(t, ctx, e.dash.URL+p.path, "main")
		if eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
			t.Errorf("%s: the page is wider than the phone", p.name)
		}
		screenshot(t, ctx, p.name)
	}
}
