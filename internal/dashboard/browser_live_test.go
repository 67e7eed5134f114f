package dashboard_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// The live view, as the plugin mounts it (its hub is the plugin's): the
// page is loaded, then an event goes through the real endpoint and shows
// up without a reload; a hostile path is shown as text.
func TestBrowserLiveView(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Live shop", "live.example", "")

	ctx := tab(t)
	noDialogs(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.srv.URL, pbtest.Email, pbtest.Password)
	// the site page links to it
	visit(t, ctx, e.srv.URL+"/dashboard/sites/"+site.Id, "#realtime-link")
	run(t, ctx, "open the live view", chromedp.Click(css("#realtime-link")),
		until(`!!document.getElementById("realtime")`))
	// connected, and the snapshot (nobody yet) is shown
	run(t, ctx, "snapshot", until(`document.getElementById("live-status").textContent.startsWith("Connected") &&
		document.getElementById("live-active").textContent === "0"`))
	loaded := eval[float64](t, ctx, `performance.timeOrigin`)

	// the endpoint stores a page URL's path escaped as the browser sent
	// it; a custom event's name arrives as it is
	const hostile = `<img src=x onerror=alert(1)>`
	const hostilePath = `/%3Cimg%20src=x%20onerror=alert%281%29%3E`
	sent := time.Now()
	e.beacon(t, `{"type":"pageView","url":"https://live.example/`+hostile+`","referrer":"https://news.example/"}`,
		"198.51.100.21", browsertest.Chrome)
	run(t, ctx, "event shown", until(`document.querySelectorAll("#live-events tr").length === 1`))
	t.Logf("event shown in the live view %v after it was sent", time.Since(sent))
	if got := text(t, ctx, "#live-events tr td:nth-child(3)"); got != hostilePath {
		t.Errorf("path shown as %q, want %q", got, hostilePath)
	}
	if got := text(t, ctx, "#live-pages li .val"); got != hostilePath {
		t.Errorf("current page %q, want %q", got, hostilePath)
	}
	e.beacon(t, `{"type":"custom","name":"`+hostile+`","url":"https://live.example/"}`, "198.51.100.21", browsertest.Chrome)
	run(t, ctx, "custom event shown", until(`document.querySelectorAll("#live-events tr").length === 2`))
	if got := text(t, ctx, "#live-events tr:first-child td:nth-child(2)"); got != hostile {
		t.Errorf("event name shown as %q, want %q", got, hostile)
	}
	if got := text(t, ctx, "#live-active"); got != "1" {
		t.Errorf("active visitors %q, want 1", got)
	}
	if got := text(t, ctx, "#live-referrers li .val"); got == "" || got == "(direct)" {
		t.Errorf("referrer %q", got)
	}
	screenshot(t, ctx, "live-desktop")
	if n := eval[float64](t, ctx, `document.querySelectorAll("#realtime img").length`); n != 0 {
		t.Errorf("%v img elements in the live view: a path was parsed as HTML", n)
	}
	if again := eval[float64](t, ctx, `performance.timeOrigin`); again != loaded {
		t.Errorf("the page reloaded (%s → %s)", strconv.FormatFloat(loaded, 'f', -1, 64), strconv.FormatFloat(again, 'f', -1, 64))
	}

	// opened again, the live view starts with the latest events (newest
	// on top), their times 24-hour in the site's zone (UTC here)
	run(t, ctx, "reopen", chromedp.Reload(), until(`document.getElementById("live-status").textContent.startsWith("Connected") &&
		document.querySelectorAll("#live-events tr").length === 2`))
	if got := text(t, ctx, "#live-events tr:first-child td:nth-child(2)"); got != hostile {
		t.Errorf("reopened: the newest event is %q, want the custom event", got)
	}
	var first string
	if err := e.app.DB().NewQuery("SELECT MIN(timestamp) FROM events WHERE website = {:w}").Bind(dbx.Params{"w": site.Id}).Row(&first); err != nil {
		t.Fatal(err)
	}
	stored, err := time.Parse("2006-01-02 15:04:05.000Z", first)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := text(t, ctx, "#live-events tr:last-child td:first-child"), stored.UTC().Format("15:04:05"); got != want {
		t.Errorf("reopened: time shown as %q, want %q (24-hour, the site's zone)", got, want)
	}
}

// The "active now" counters, as the plugin mounts the dashboard (its
// hub gets the writer's events): on the site page and on the overview, a
// visit after the page loaded changes the number without a reload, as
// the stats report counts it. The overview opens one stream for all its
// cards.
func TestBrowserActiveNow(t *testing.T) {
	t.Parallel()
	e := start(t)
	shop := addSite(t, e.app, "Active shop", "active-shop.example", "")
	blog := addSite(t, e.app, "Active blog", "active-blog.example", "")

	ctx := tab(t)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.srv.URL, pbtest.Email, pbtest.Password)
	sameLoad := func(loaded float64) {
		t.Helper()
		if again := eval[float64](t, ctx, `performance.timeOrigin`); again != loaded {
			t.Errorf("the page reloaded (%s → %s)", strconv.FormatFloat(loaded, 'f', -1, 64), strconv.FormatFloat(again, 'f', -1, 64))
		}
	}

	// the site page: connected (the first counts arrived, so the server
	// has subscribed), then a visit
	visit(t, ctx, e.srv.URL+"/dashboard/sites/"+shop.Id, "#active-users")
	run(t, ctx, "site page connected", until(`document.getElementById("active-users").dataset.connected === "1" &&
		document.getElementById("active-users").textContent === "0"`))
	loaded := eval[float64](t, ctx, `performance.timeOrigin`)
	sent := time.Now()
	e.beacon(t, `{"type":"pageView","url":"https://active-shop.example/"}`, "198.51.100.31", browsertest.Chrome)
	run(t, ctx, "site page counter", until(`document.getElementById("active-users").textContent === "1"`))
	t.Logf("site page's counter changed %v after the visit was sent", time.Since(sent))
	sameLoad(loaded)
	if n := query(t, e.app, shop.Id, "today").ActiveUsers; n != 1 {
		t.Errorf("the report counts %d active, the counter 1", n)
	}

	// the overview: one stream for both cards
	visit(t, ctx, e.srv.URL+"/dashboard/", "#sites")
	shopDD := `document.querySelector('#sites dd[data-active="` + shop.Id + `"]').textContent`
	blogDD := `document.querySelector('#sites dd[data-active="` + blog.Id + `"]').textContent`
	run(t, ctx, "overview connected", until(`document.getElementById("sites").dataset.connected === "1" && `+
		shopDD+` === "1" && `+blogDD+` === "0"`))
	if n := eval[float64](t, ctx, `document.querySelectorAll("[data-stream]").length`); n != 1 {
		t.Errorf("%v streams on the overview, want 1", n)
	}
	loaded = eval[float64](t, ctx, `performance.timeOrigin`)
	sent = time.Now()
	e.beacon(t, `{"type":"pageView","url":"https://active-blog.example/"}`, "198.51.100.32", browsertest.Chrome)
	run(t, ctx, "overview counter", until(blogDD+` === "1"`))
	t.Logf("overview's counter changed %v after the visit was sent", time.Since(sent))
	if got := eval[string](t, ctx, shopDD); got != "1" {
		t.Errorf("the shop's counter %q, want 1", got)
	}
	sameLoad(loaded)
	screenshot(t, ctx, "overview-active")
}
