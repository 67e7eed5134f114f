package dashboard_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// TestBrowserGettingStarted (issue 33): a website without events opens
// on the snippet and "waiting for the first event", not on empty cards;
// the line turns green when the first visitor arrives, without a reload.
func TestBrowserGettingStarted(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "New site", "new.example", "")

	ctx := tab(t)
	noDialogs(t, ctx)
	browserLogin(t, ctx, e.srv.URL, pbtest.Email, pbtest.Password)
	visit(t, ctx, e.srv.URL+"/dashboard/sites/"+site.Id, "#getting-started")
	// the SEO card stays (it needs no events); the report cards do not
	if n := eval[float64](t, ctx, `document.querySelectorAll(".cards .card:not(.seo-card)").length`); n != 0 {
		t.Errorf("%v report cards on a website without events", n)
	}
	if got := eval[string](t, ctx, `document.getElementById("gs-snippet").value`); got == "" {
		t.Error("no snippet")
	}
	// the counters' stream is connected before the first event is sent
	run(t, ctx, "stream", until(`document.getElementById("active-users").dataset.connected === "1"`))
	e.beacon(t, `{"type":"pageView","url":"https://new.example/"}`, "198.51.100.7", browsertest.Chrome)
	run(t, ctx, "first event", until(`document.getElementById("first-event").classList.contains("arrived")`))
	screenshot(t, ctx, "getting-started")
	run(t, ctx, "reload", chromedp.Reload(), until(`document.readyState === "complete" && !!document.querySelector("#card-goals")`))
	if n := eval[float64](t, ctx, `document.querySelectorAll("#getting-started").length`); n != 0 {
		t.Error("the panel is still shown after the first event")
	}
}
