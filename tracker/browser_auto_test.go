package tracker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// eventsData reads the customData of every event named name, in order.
func (s *site) eventsData(t *testing.T, name string) []string {
	t.Helper()
	var rows []struct {
		Path string `db:"path"`
		Data string `db:"eventData"`
	}
	if err := s.srv.App().DB().Select("path", "COALESCE(eventData, '') AS eventData").From(schema.Events).
		Where(custom(name)).OrderBy("timestamp").All(&rows); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Path + " " + r.Data
	}
	return out
}

func TestScriptAutomaticEvents(t *testing.T) {
	t.Parallel()
	// a link to another host that really navigates away: the same server
	// under its IP, a host the page's is not
	var away string
	s := startSite(t, map[string]string{
		"auto": html(`<script defer src="/skopos.js" data-auto="outbound downloads 404 forms"></script>`, `
			<a id="out" href="https://other.example/docs/page?token=secret#top">out</a>
			<a id="mid" href="https://mid.example/x">mid</a>
			<a id="dl" href="/files/Report.PDF?user=ada">dl</a>
			<a id="dlout" href="https://cdn.example/a.zip"><span id="inner">zip</span></a>
			<a id="in" href="/t/auto/next">in</a>
			<form id="signup"><input name="email" value="ada@example.com"><input type="password" name="pw" value="secret"></form>
			<form name="newsletter"><input name="q" value="query"></form>
			<form><input name="x" value="y"></form>
			<meta name="skopos:404">
			<script>
				// the test page stays: links and forms go nowhere
				document.addEventListener("click", function (e) { e.preventDefault(); });
				document.addEventListener("submit", function (e) { e.preventDefault(); });
			</script>`),
		"exts": html(`<script defer src="/skopos.js" data-auto="downloads" data-download-extensions="csv gz"></script>`, `
			<a id="pdf" href="/a.pdf">pdf</a><a id="csv" href="/b.csv">csv</a><a id="out" href="https://other.example/">out</a>
			<script>document.addEventListener("click", function (e) { e.preventDefault(); });</script>`),
		"off": html(script, `<body data-404><a id="out" href="https://other.example/">out</a><a id="dl" href="/a.zip">dl</a>
			<form id="f"></form>
			<script>
				document.addEventListener("click", function (e) { e.preventDefault(); });
				document.addEventListener("submit", function (e) { e.preventDefault(); });
			</script>`),
		"leave": html(`<script defer src="/skopos.js" data-auto="outbound"></script>`, `<a id="away" href="">away</a>
			<script>document.getElementById("away").href = location.href.replace("//localhost:", "//127.0.0.1:").replace("/t/leave", "/t/landing");</script>`),
		"landing": html("", "<p>elsewhere</p>"),
	})
	_, port, _ := strings.Cut(s.srv.Addr, ":")
	away = "http://127.0.0.1:" + port
	ctx := tab(t)

	do(t, ctx, chromedp.Navigate(s.base+"/t/auto"), loaded(), eval(`
		document.getElementById("out").click();
		document.getElementById("mid").dispatchEvent(new MouseEvent("auxclick", {button: 1, bubbles: true}));
		document.getElementById("mid").dispatchEvent(new MouseEvent("auxclick", {button: 2, bubbles: true})); // right click: none
		document.getElementById("dl").click();
		document.getElementById("inner").click();
		document.getElementById("in").click();
		document.querySelectorAll("form").forEach(function (f) { f.requestSubmit(); });
		history.pushState({}, "", "/t/auto/two"); // the marker is still there: a 404 again
	`))
	s.waitCount(t, schema.Events, custom("404"), 2)
	s.waitCount(t, schema.Events, custom("Form: Submit"), 3)
	s.settled(t, ctx)
	check := func(name string, want ...string) {
		t.Helper()
		// events of the same millisecond have no order
		got := s.eventsData(t, name)
		slices.Sort(got)
		slices.Sort(want)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s events:\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	check("Outbound Link: Click",
		`/t/auto {"host":"other.example","url":"https://other.example/docs/page"}`,
		`/t/auto {"host":"mid.example","url":"https://mid.example/x"}`)
	check("File Download",
		`/t/auto {"url":"`+s.base+`/files/Report.PDF"}`,
		`/t/auto {"url":"https://cdn.example/a.zip"}`)
	// never a field value: the form's id, name, or "(unnamed)"
	check("Form: Submit", `/t/auto {"form":"signup"}`, `/t/auto {"form":"newsletter"}`, `/t/auto {"form":"(unnamed)"}`)
	check("404", "/t/auto ", "/t/auto/two ")

	// the extension list is the site's; nothing is automatic unless asked
	do(t, ctx, chromedp.Navigate(s.base+"/t/exts"), loaded(), eval(`["pdf", "csv", "out"].forEach(function (id) { document.getElementById(id).click(); })`))
	do(t, ctx, chromedp.Navigate(s.base+"/t/off"), loaded(), eval(`
		document.getElementById("out").click(); document.getElementById("dl").click(); document.getElementById("f").requestSubmit();
	`))
	s.settled(t, ctx)
	check("File Download", `/t/auto {"url":"`+s.base+`/files/Report.PDF"}`, `/t/auto {"url":"https://cdn.example/a.zip"}`, `/t/exts {"url":"`+s.base+`/b.csv"}`)
	if n := s.count(t, schema.Events, dbx.HashExp{"type": "custom"}); n != 10 {
		t.Errorf("%d custom events, want 10:\n%s", n, s.dump(t))
	}

	// a real click that leaves the page: its beacon still arrives
	do(t, ctx, chromedp.Navigate(s.base+"/t/leave"), loaded(), chromedp.Click(chromedp.ID("away")))
	testwait.Until(t, "the tab left for the landing page", func() bool {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		return err == nil && strings.HasSuffix(loc, "/t/landing")
	})
	host := strings.TrimPrefix(away, "http://")
	s.waitCount(t, schema.Events, dbx.And(custom("Outbound Link: Click"), dbx.HashExp{"path": "/t/leave"}), 1)
	if got := s.eventsData(t, "Outbound Link: Click"); got[len(got)-1] != fmt.Sprintf(`/t/leave {"host":%q,"url":"%s/t/landing"}`, host, away) {
		t.Errorf("outbound click that left the page: %s", got[len(got)-1])
	}
}

type engagementRow struct {
	Path   string `db:"path"`
	Ms     int    `db:"engagedMs"`
	Scroll int    `db:"scrollDepth"`
}

func (s *site) engagement(t *testing.T) []engagementRow {
	t.Helper()
	var rows []engagementRow
	if err := s.srv.App().DB().Select("path", "engagedMs", "scrollDepth").From(schema.Events).
		Where(dbx.HashExp{"type": "pageView"}).OrderBy("timestamp").All(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// waitEngagement waits until the page views' engagement is want.
func (s *site) waitEngagement(t *testing.T, want ...engagementRow) {
	t.Helper()
	var got []engagementRow
	done := false
	t.Cleanup(func() {
		if !done {
			t.Logf("page views' engagement last read: %v", got)
		}
	})
	testwait.Until(t, fmt.Sprintf("page views' engagement %v", want), func() bool {
		got = s.engagement(t)
		return fmt.Sprint(got) == fmt.Sprint(want)
	})
	done = true
}

func TestScriptMeasuresEngagedTimeAndScrollDepth(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{
		"long":  html(recorder+script, `<div style="height:5000px">long</div>`),
		"short": html(recorder+`<script defer src="/skopos.js" data-engagement="false"></script>`, `<p>short</p>`),
	})
	ctx := tab(t)
	if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: browsertest.ControlledClock}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(s.base+"/t/long"), loaded())
	s.waitCount(t, schema.Events, pageViews("/t/long"), 1)

	// 12 s on the page, 5 of them hidden: 7 s engaged; no scroll yet
	// (the first screen of 5000 px)
	do(t, ctx, eval(`advance(5000); setVisible(false); advance(5000); setVisible(true); advance(2000); setVisible(false)`))
	first, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Math.round(innerHeight / document.documentElement.scrollHeight * 100)`))
	if err != nil {
		t.Fatal(err)
	}
	s.waitEngagement(t, engagementRow{"/t/long", 7000, first})

	// idle: 100 s without input count 30; a scroll is input and deepens
	// (scroll events fire at the next frame: the clock moves after it)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(async function () {
		setVisible(true); advance(100000);
		var scrolled = new Promise(function (r) { addEventListener("scroll", r, {once: true}); });
		scrollTo(0, 2000); await scrolled;
		advance(1000); setVisible(false);
	})()`, chromedp.EvalAwaitPromise))
	deep, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Math.round((2000 + innerHeight) / document.documentElement.scrollHeight * 100)`))
	if err != nil {
		t.Fatal(err)
	}
	s.waitEngagement(t, engagementRow{"/t/long", 7000 + 30000 + 1000, deep})

	// an SPA navigation sends the page left behind first; scrolling back
	// up keeps the deepest point
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(async function () {
		setVisible(true);
		var scrolled = new Promise(function (r) { addEventListener("scroll", r, {once: true}); });
		scrollTo(0, 0); await scrolled;
		advance(3000); history.pushState({}, "", "/t/long/two");
	})()`, chromedp.EvalAwaitPromise))
	// the new page view stored before its page is hidden: two beacons a
	// moment apart may otherwise be accepted in either order, and one
	// that comes in a flush before its page view's is an orphan
	s.waitCount(t, schema.Events, pageViews("/t/long/two"), 1)
	do(t, ctx, eval(`advance(4000); setVisible(false)`))
	s.waitEngagement(t, engagementRow{"/t/long", 41000, deep}, engagementRow{"/t/long/two", 4000, first})
	var sessionMs int
	if err := s.srv.App().DB().Select("engagedMs").From(schema.Sessions).Row(&sessionMs); err != nil {
		t.Fatal(err)
	}
	if sessionMs != 45000 {
		t.Errorf("session engagedMs %d, want 45000", sessionMs)
	}

	// turned off: page views without pid, no beacons
	do(t, ctx, chromedp.Navigate(s.base+"/t/short"), loaded(), eval(`advance(5000); setVisible(false)`))
	s.settled(t, ctx)
	types, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`sentBodies.map(function (b) { return b.body.type + (b.body.pid ? "+pid" : ""); })`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(types, " ") != "pageView custom" {
		t.Errorf("sent with data-engagement=false: %v", types)
	}
}
