package tracker_test

// Real-browser tests: Chromium (Debian's package; .ci/run installs it) runs
// skopos.js against a real in-process PocketBase with the Skopos plugin, and
// every assertion reads what PocketBase stored.

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// One Chromium for the whole test binary; every test opens its own tab.
var chrome browsertest.Browser

func TestMain(m *testing.M) {
	code := m.Run()
	chrome.Close()
	os.Exit(code)
}

// tab opens a new tab; it closes when the test ends.
func tab(t *testing.T) context.Context {
	t.Helper()
	return chrome.Tab(t, 3*time.Minute)
}

// site is an embedded Skopos server (the plugin with the demo website,
// domain localhost) plus test pages under /t/NAME.
type site struct {
	srv  *pbtest.Server
	base string // http://localhost:PORT: the page host must be the demo site's domain
}

func startSite(t *testing.T, pages map[string]string) *site {
	t.Helper()
	srv := pbtest.Start(t, pbtest.Options{Plain: true, Setup: func(app core.App) error {
		app.OnServe().BindFunc(func(e *core.ServeEvent) error {
			e.Router.GET("/t/{name...}", func(re *core.RequestEvent) error {
				name := re.Request.PathValue("name")
				body, ok := pages[name]
				if !ok {
					// SPA paths (/t/spa/two) reload their page
					body, ok = pages[strings.Split(name, "/")[0]]
				}
				if !ok {
					return re.NotFoundError("", nil)
				}
				ctype := "text/html; charset=utf-8"
				if strings.HasSuffix(name, ".js") {
					ctype = "text/javascript"
				}
				re.Response.Header().Set("Content-Type", ctype)
				return re.String(http.StatusOK, body)
			})
			return e.Next()
		})
		return plugin.Register(app, nil, plugin.Config{Demo: true, Out: &bytes.Buffer{}})
	}})
	_, port, _ := strings.Cut(srv.Addr, ":")
	return &site{srv: srv, base: "http://localhost:" + port}
}

// html is a test page: the script tag's attributes, then the body.
func html(head, body string) string {
	return "<!doctype html><html><head><meta charset=utf-8><title>t</title>" + head +
		"</head><body>" + body + "</body></html>"
}

const script = `<script defer src="/skopos.js"></script>`

// count counts table's rows matching where (events: without settled's
// markers).
func (s *site) count(t *testing.T, table string, where dbx.Expression) int {
	t.Helper()
	var n int
	q := s.srv.App().DB().Select("count(*)").From(table).Where(where)
	if table == schema.Events {
		q.AndWhere(dbx.Not(dbx.HashExp{"eventName": settledMarker}))
	}
	if err := q.Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const settledMarker = "zz_settled"

// settled makes the page send one more event and waits until it is
// stored: what the page sent before it reached the server first (one page,
// one keep-alive connection) and is stored with it or earlier, so a count
// taken now includes anything the page should not have sent. Used instead
// of waiting a fixed time for "nothing more arrived".
func (s *site) settled(t *testing.T, ctx context.Context) {
	t.Helper()
	where := custom(settledMarker)
	var n int
	if err := s.srv.App().DB().Select("count(*)").From(schema.Events).Where(where).Row(&n); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, eval(`skopos("event", "`+settledMarker+`")`))
	testwait.Until(t, "the page's marker event stored", func() bool {
		var m int
		_ = s.srv.App().DB().Select("count(*)").From(schema.Events).Where(where).Row(&m)
		return m > n
	})
}

// waitCount polls until table holds want rows matching where (embedded
// events are written within about a second; 15 s for a busy machine).
func (s *site) waitCount(t *testing.T, table string, where dbx.Expression, want int) {
	t.Helper()
	deadline := time.Now().Add(testwait.Timeout())
	for {
		n := s.count(t, table, where)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s where %v: %d rows, want %d; stored events:\n%s", table, where, n, want, s.dump(t))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (s *site) dump(t *testing.T) string {
	t.Helper()
	var rows []struct {
		Type      string `db:"type"`
		Path      string `db:"path"`
		EventName string `db:"eventName"`
		EventData string `db:"eventData"`
	}
	_ = s.srv.App().DB().Select("type", "path", "eventName", "eventData").From(schema.Events).OrderBy("timestamp").All(&rows)
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %s %s %s %s\n", r.Type, r.Path, r.EventName, r.EventData)
	}
	return b.String()
}

func pageViews(path string) dbx.Expression {
	return dbx.HashExp{"type": "pageView", "path": path}
}

func custom(name string) dbx.Expression {
	return dbx.HashExp{"type": "custom", "eventName": name}
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](js)
}

// loaded waits until skopos.js has started (the real function replaced
// the queue stub).
func loaded() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`!!(window.skopos && window.skopos.v === 1 && document.readyState !== "loading")`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(testwait.Timeout()))(ctx, t)
		return err
	})
}

func TestScriptSendsInitialPageViewAndSPANavigations(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{"spa": html(script, "<p>app</p>")})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/spa"), loaded())
	s.waitCount(t, schema.Events, pageViews("/t/spa"), 1)

	do(t, ctx, eval(`
		history.pushState({}, "", "/t/spa/two");
		history.replaceState({}, "", "/t/spa/three");
		history.pushState({}, "", "/t/spa/three?tab=1"); // same path: no page view
		history.pushState({}, "", "/t/spa/three#x");     // hash change without hash mode: none
	`))
	s.waitCount(t, schema.Events, pageViews("/t/spa/two"), 1)
	s.waitCount(t, schema.Events, pageViews("/t/spa/three"), 1)

	// back to /t/spa/three?tab=1 then /t/spa/three (same path, nothing),
	// then to /t/spa: popstate with a new path
	do(t, ctx, eval(`history.go(-3)`))
	s.waitCount(t, schema.Events, pageViews("/t/spa"), 2)
	s.settled(t, ctx)
	if n := s.count(t, schema.Events, dbx.HashExp{"type": "pageView"}); n != 4 {
		t.Fatalf("%d page views, want 4:\n%s", n, s.dump(t))
	}
	if n := s.count(t, schema.Sessions, nil); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
}

func TestScriptHashModeCountsFragmentNavigations(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{
		"hash":   html(`<script defer src="/skopos.js" data-hash-mode="true"></script>`, ""),
		"nohash": html(script, ""),
	})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/hash#/a"), loaded())
	// each step waits for its hashchange; back fires popstate and
	// hashchange for one navigation: one page view
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(async function () {
		var changed = function () { return new Promise(function (r) { addEventListener("hashchange", r, {once: true}); }); };
		var c = changed(); location.hash = "#/b"; await c;
		c = changed(); location.hash = "#/c"; await c;
		c = changed(); history.back(); await c;
	})()`, chromedp.EvalAwaitPromise))
	s.waitCount(t, schema.Events, pageViews("/t/hash"), 4)

	// without hash mode a fragment change is no page view
	do(t, ctx, chromedp.Navigate(s.base+"/t/nohash#/a"), loaded(), eval(`location.hash = "#/b"`))
	s.waitCount(t, schema.Events, pageViews("/t/nohash"), 1)
	s.settled(t, ctx)
	if n := s.count(t, schema.Events, pageViews("/t/hash")) + s.count(t, schema.Events, pageViews("/t/nohash")); n != 5 {
		t.Fatalf("%d page views, want 5:\n%s", n, s.dump(t))
	}
}

func TestScriptManualPageViewsWhenAutoTrackingIsOff(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{
		"manual": html(`<script defer src="/skopos.js" data-auto-track-pageviews="false"></script>`, ""),
	})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/manual"), loaded(),
		eval(`history.pushState({}, "", "/t/manual/auto")`), // not tracked
		eval(`skopos("event", "marker")`))
	s.waitCount(t, schema.Events, custom("marker"), 1)
	if n := s.count(t, schema.Events, dbx.HashExp{"type": "pageView"}); n != 0 {
		t.Fatalf("%d automatic page views with auto-track off", n)
	}
	// a manual page view always sends, also twice for the same path
	do(t, ctx, eval(`skopos("pageview"); skopos("pageview")`))
	s.waitCount(t, schema.Events, pageViews("/t/manual/auto"), 2)
}

// eventData reads the customData stored with the only event named name.
func (s *site) eventData(t *testing.T, name string) map[string]any {
	t.Helper()
	recs, err := s.srv.App().FindAllRecords(schema.Events, custom(name))
	if err != nil || len(recs) != 1 {
		t.Fatalf("events named %s: %d (%v)", name, len(recs), err)
	}
	var data map[string]any
	if err := recs[0].UnmarshalJSONField("eventData", &data); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestScriptDeclarativeEventsReadDataFromSelectors(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{"decl": html(script, `
		<input id="email" value="ada@example.com">
		<input id="pw" type="password" value="secret">
		<ul><li class="item">first</li><li class="item">  second  </li></ul>
		<select id="size" skopos-event="size_changed" skopos-event-on="change" skopos-data-from="size:#size">
			<option>S</option><option>M</option>
		</select>
		<button id="buy" skopos-event="buy" skopos-data='{"sku":"A1","qty":2}'
			skopos-data-from="pick:li.item:nth-child(2); email:#email; pw:#pw; missing:#nope; bad:[[[">Buy</button>
		<button id="bad-json" skopos-event="bad_json" skopos-data="{not json" skopos-data-from="a:#email, b:li.item:first-child">x</button>
		<div id="box"></div>`)})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/decl"), loaded(),
		chromedp.Click(chromedp.ID("buy")),
		eval(`document.getElementById("bad-json").click()`),
		eval(`var sel = document.getElementById("size"); sel.value = "M"; sel.dispatchEvent(new Event("change"))`),
		eval(`document.getElementById("size").click()`), // listens to change only
	)
	s.waitCount(t, schema.Events, custom("buy"), 1)
	got := s.eventData(t, "buy")
	want := map[string]any{"sku": "A1", "qty": float64(2), "pick": "second", "email": "ada@example.com"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("buy eventData = %v, want %v (password and unmatched selectors left out)", got, want)
	}
	s.waitCount(t, schema.Events, custom("bad_json"), 1)
	if got := s.eventData(t, "bad_json"); fmt.Sprint(got) != fmt.Sprint(map[string]any{"a": "ada@example.com", "b": "first"}) {
		t.Errorf("bad_json eventData = %v", got)
	}
	s.waitCount(t, schema.Events, custom("size_changed"), 1)
	if got := s.eventData(t, "size_changed"); got["size"] != "M" {
		t.Errorf("size_changed eventData = %v", got)
	}

	// Elements added later: an added element that carries the attribute
	// itself, a nested one, and an attribute set on an existing element.
	do(t, ctx, eval(`
		var late = document.createElement("button");
		late.id = "late"; late.setAttribute("skopos-event", "late_click");
		document.body.append(late);
		document.getElementById("box").innerHTML = '<span><a id="deep" skopos-event="deep_click">x</a></span>';
		document.getElementById("email").setAttribute("skopos-event", "email_click");
	`))
	// moved elements are seen again by the observer: still bound once
	do(t, ctx, eval(`document.getElementById("box").append(document.getElementById("late"))`))
	do(t, ctx, eval(`
		document.getElementById("late").click();
		document.getElementById("deep").click();
		document.getElementById("email").click();
	`))
	for _, name := range []string{"late_click", "deep_click", "email_click"} {
		s.waitCount(t, schema.Events, custom(name), 1)
	}
	s.settled(t, ctx)
	if n := s.count(t, schema.Events, dbx.HashExp{"type": "custom"}); n != 6 {
		t.Fatalf("%d custom events, want 6:\n%s", n, s.dump(t))
	}
}

func TestScriptDoesNotObserveTheDOMWhenTurnedOff(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{"static": html(`<script defer src="/skopos.js" data-observe-dom="false"></script>`,
		`<button id="there" skopos-event="there_click">x</button>`)})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/static"), loaded(), eval(`
		var b = document.createElement("button");
		b.id = "later"; b.setAttribute("skopos-event", "later_click");
		document.body.append(b);
	`))
	do(t, ctx, eval(`document.getElementById("later").click(); setTimeout(function () { document.getElementById("there").click() }, 50)`))
	s.waitCount(t, schema.Events, custom("there_click"), 1)
	s.settled(t, ctx)
	if n := s.count(t, schema.Events, custom("later_click")); n != 0 {
		t.Fatalf("an element added later was bound with data-observe-dom=false")
	}
}

// recorder makes the page keep every body it sends, in order, while still
// sending it.
const recorder = `<script>
	window.sentBodies = [];
	var beacon = navigator.sendBeacon.bind(navigator);
	navigator.sendBeacon = function (url, blob) {
		var i = sentBodies.length++;
		blob.text().then(function (text) { sentBodies[i] = {url: url, type: blob.type, body: JSON.parse(text)}; });
		return beacon(url, blob);
	};
</script>`

func TestScriptReplaysQueuedCommandsInOrder(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{"queued": html(recorder+`<script>
		window.skopos = window.skopos || function () { (skopos.q = skopos.q || []).push(arguments); };
		skopos("event", "queued_one", {n: 1});
		skopos("pageview");
		skopos("event", "queued_two", {n: 2});
		skopos("event", "", {});          // no name: ignored
		skopos("unknown", "x");           // unknown command: ignored
	</script><script async src="/skopos.js"></script>`, "")})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/queued?utm_source=test"), loaded(),
		eval(`skopos("event", "direct", {n: 3}); skopos("event", "array_data", [1, 2])`))
	s.waitCount(t, schema.Events, custom("direct"), 1)
	s.waitCount(t, schema.Events, custom("array_data"), 1)
	s.waitCount(t, schema.Events, pageViews("/t/queued"), 2) // automatic + queued
	for name, n := range map[string]float64{"queued_one": 1, "queued_two": 2, "direct": 3} {
		if got := s.eventData(t, name); got["n"] != n {
			t.Errorf("%s eventData = %v", name, got)
		}
	}

	type sent struct {
		URL  string `json:"url"`
		Type string `json:"type"`
		Body struct {
			Type         string  `json:"type"`
			Name         string  `json:"name"`
			URL          string  `json:"url"`
			Referrer     *string `json:"referrer"`
			ScreenWidth  float64 `json:"screenWidth"`
			ScreenHeight float64 `json:"screenHeight"`
			Language     string  `json:"language"`
		} `json:"body"`
	}
	bodies, err := chromedp.Run(ctx, chromedp.Evaluate[[]sent](`sentBodies`))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, b := range bodies {
		order = append(order, b.Body.Type+":"+b.Body.Name)
		if b.URL != s.base+"/api/event" || b.Type != "text/plain;charset=utf-8" {
			t.Errorf("sent to %s as %q", b.URL, b.Type)
		}
		if b.Body.URL != s.base+"/t/queued?utm_source=test" || b.Body.Referrer == nil ||
			b.Body.ScreenWidth <= 0 || b.Body.ScreenHeight <= 0 || b.Body.Language == "" {
			t.Errorf("payload fields: %+v", b.Body)
		}
	}
	// the second page view first sends the engagement of the one it replaces
	want := "pageView:/t/queued custom:queued_one engagement: pageView:/t/queued custom:queued_two custom:direct custom:array_data"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("sent in order\n %s\nwant\n %s", got, want)
	}
}

func TestScriptInjectedAfterLoadStillTracks(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{"inject": html("", `
		<button id="b" skopos-event="injected_click">b</button>
		<script>
			addEventListener("load", function () {
				setTimeout(function () {
					var s = document.createElement("script");
					s.src = "/skopos.js";
					s.setAttribute("data-endpoint", "/api/event");
					document.head.appendChild(s);
				}, 50);
			});
		</script>`)})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/inject"), loaded(), eval(`document.getElementById("b").click()`))
	s.waitCount(t, schema.Events, pageViews("/t/inject"), 1)
	s.waitCount(t, schema.Events, custom("injected_click"), 1)
}

func TestScriptLoadedCrossOriginSendsToItsOwnServer(t *testing.T) {
	t.Parallel()
	s := startSite(t, nil)
	// The customer's website on another origin: it has no /api/event, so
	// an endpoint resolved against the page instead of the script is lost.
	website := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/shop" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html(`<script defer src="`+s.base+`/skopos.js"></script>`,
			`<button id="b" skopos-event="cross_click">b</button>`))
	}))
	t.Cleanup(website.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(website.URL, "http://"), ":")
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate("http://localhost:"+port+"/shop"), loaded(), eval(`document.getElementById("b").click()`))
	s.waitCount(t, schema.Events, pageViews("/shop"), 1)
	s.waitCount(t, schema.Events, custom("cross_click"), 1)
}

type jsErrorRow struct {
	Message string `db:"errorMessage"`
	Stack   string `db:"stackTrace"`
	Count   int    `db:"count"`
}

func (s *site) jsErrors(t *testing.T) []jsErrorRow {
	t.Helper()
	var rows []jsErrorRow
	if err := s.srv.App().DB().Select("errorMessage", "stackTrace", "count").From(schema.JSErrors).All(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestScriptReportsUncaughtErrorsAndRejections(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{
		"errors": html(`<script defer src="/skopos.js" data-capture-console="true"></script>
			<script>function boom() { throw new Error("boom-uncaught"); }</script>`, ""),
		"throw.js": `throw new Error("secret detail of another origin");`,
	})
	_, port, _ := strings.Cut(s.srv.Addr, ":")
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/errors"), loaded(), eval(`
		setTimeout(boom); setTimeout(boom); setTimeout(boom);
		Promise.reject(new Error("boom-rejected"));
		Promise.reject("plain-reason");
		Promise.reject();
		console.error("console-boom", {a: 1});
		console.error(new TypeError("console-typed"));
		// another origin's script: the browser hides the message ("Script error.")
		var x = document.createElement("script");
		x.src = "http://127.0.0.1:`+port+`/t/throw.js";
		document.head.appendChild(x);
		x.onload = x.onerror = function () { setTimeout(function () { skopos("event", "errors_sent"); }, 100); };
	`))
	// Events are written in arrival order: once the marker is stored, the
	// errors before it have been grouped. JS errors are written every few
	// minutes and at shutdown, so stop the server (a restart reopens it).
	s.waitCount(t, schema.Events, custom("errors_sent"), 1)
	s.srv.Restart()

	got := map[string]jsErrorRow{}
	for _, r := range s.jsErrors(t) {
		got[r.Message] = r
		if strings.Contains(r.Stack, "/skopos.js") {
			t.Errorf("%q: stack shows skopos.js frames:\n%s", r.Message, r.Stack)
		}
	}
	want := map[string]int{
		"Uncaught Error: boom-uncaught": 3,
		"Error: boom-rejected":          1,
		"plain-reason":                  1,
		"Unhandled promise rejection":   1,
		`console-boom {"a":1}`:          1,
		"TypeError: console-typed":      1,
		"Script error.":                 1,
	}
	for msg, n := range want {
		if got[msg].Count != n {
			t.Errorf("js_errors %q: count %d, want %d", msg, got[msg].Count, n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("js_errors rows: %v", got)
	}
	if st := got["Uncaught Error: boom-uncaught"].Stack; !strings.Contains(st, "at boom (") {
		t.Errorf("uncaught error stack: %q", st)
	}
	if st := got[`console-boom {"a":1}`].Stack; st == "" {
		t.Error("console error without a stack")
	}
}

func TestScriptRespectsDoNotTrackAndGlobalPrivacyControl(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{
		"optout": html(`<script>
				window.skopos = window.skopos || function () { (skopos.q = skopos.q || []).push(arguments); };
				skopos("event", "queued_optout");
			</script><script defer src="/skopos.js" data-respect-dnt="true"></script>`,
			`<button id="b" skopos-event="optout_click">b</button>`),
		"ignoring": html(script, ""), // without data-respect-dnt
	})
	for _, signal := range []string{
		`Object.defineProperty(Navigator.prototype, "doNotTrack", {get: function () { return "1"; }})`,
		`Object.defineProperty(Navigator.prototype, "globalPrivacyControl", {get: function () { return true; }})`,
	} {
		ctx := tab(t)
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: signal}); err != nil {
			t.Fatal(err)
		}
		do(t, ctx, chromedp.Navigate(s.base+"/t/optout"), loaded(), eval(`
			document.getElementById("b").click();
			skopos("event", "direct_optout");
			skopos("pageview");
			history.pushState({}, "", "/t/optout/next");
			setTimeout(function () { throw new Error("optout error"); });
		`))
		// a page that does not ask to respect the signal, in the same tab,
		// is tracked: once its page view is stored, the opt-out page would
		// have been too
		do(t, ctx, chromedp.Sleep(200*time.Millisecond), chromedp.Navigate(s.base+"/t/ignoring"), loaded())
	}
	s.waitCount(t, schema.Events, pageViews("/t/ignoring"), 2)
	if n := s.count(t, schema.Events, nil); n != 2 {
		t.Fatalf("%d events stored, want only the 2 control page views:\n%s", n, s.dump(t))
	}
	s.srv.Restart() // writes the grouped JS errors
	if rows := s.jsErrors(t); len(rows) != 0 {
		t.Fatalf("js_errors of opted-out pages: %v", rows)
	}
}

func setOffline(ctx context.Context, offline bool) error {
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}},
	}); err != nil {
		return err
	}
	_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
	})
	return err
}

func TestScriptOfflineNeverLoops(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{"offline": html(`<script>
			// sendBeacon refused: every send takes the fetch fallback, the
			// path whose rejections looped in the Node-era script (a failed send
			// raised an error that was reported by another failing send)
			navigator.sendBeacon = function () { return false; };
			window.fetches = 0;
			window.settledFetches = 0;
			var realFetch = window.fetch;
			var settle = function () { settledFetches++; };
			window.fetch = function () {
				fetches++;
				var p = realFetch.apply(this, arguments);
				p.then(settle, settle);
				return p;
			};
			window.unhandled = 0;
			addEventListener("unhandledrejection", function () { unhandled++; });
		</script>`+script,
		`<button id="b" skopos-event="offline_click" onclick="this.textContent = 'clicked ' + (++window.clicks)">b</button>
		<script>window.clicks = 0;</script>`)})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/offline"), loaded())
	s.waitCount(t, schema.Events, pageViews("/t/offline"), 1) // the fallback delivers

	if err := setOffline(ctx, true); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, eval(`
		window.before = fetches;
		window.intervalDone = false;
		var n = 0, timer = setInterval(function () {
			if (++n > 50) { window.intervalDone = true; return clearInterval(timer); }
			throw new Error("offline error " + (n % 3));
		}, 2);
		for (var i = 0; i < 10; i++) Promise.reject(new Error("offline rejection"));
		document.getElementById("b").click();
		history.pushState({}, "", "/t/offline/next");
	`))
	// settled: the interval is done and every failed fetch has rejected
	type state struct{ Sent, Unhandled, Clicks int }
	read := func() state {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[state](`({Sent: fetches - before, Unhandled: unhandled, Clicks: clicks})`))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	do(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`intervalDone && settledFetches === fetches`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(testwait.Timeout()))(ctx, tg)
		return err
	}))
	first := read()
	// nothing is pending now: a send that fails and reports its own
	// failure (the loop this guards against) would keep the count growing
	// over this window; a correct script sends nothing more
	time.Sleep(500 * time.Millisecond)
	second := read()
	t.Logf("offline: %d requests attempted, %d unhandled rejections (10 are the page's own)", second.Sent, second.Unhandled)
	// 20 errors at most per page, the click, the page view and the
	// engagement beacon of the page view it replaced
	if first.Sent > 23 || second.Sent != first.Sent {
		t.Errorf("requests while offline: %d, then %d; want a bounded, stable number (≤ 23)", first.Sent, second.Sent)
	}
	if second.Unhandled != 10 {
		t.Errorf("unhandled rejections: %d, want the page's own 10 (the script's failed sends must not surface)", second.Unhandled)
	}
	if second.Clicks != 1 {
		t.Errorf("page handler ran %d times, want 1", second.Clicks)
	}

	// back online the page and the script still work
	if err := setOffline(ctx, false); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, eval(`document.getElementById("b").click()`))
	s.waitCount(t, schema.Events, custom("offline_click"), 1) // the offline one was lost, not replayed
	if n := read().Clicks; n != 2 {
		t.Errorf("page handler ran %d times, want 2", n)
	}
	s.settled(t, ctx)
	if n := s.count(t, schema.Events, nil); n != 2 {
		t.Errorf("%d events stored, want 2 (nothing sent while offline arrived):\n%s", n, s.dump(t))
	}
}

func TestDemoPageShowsDataInPocketBase(t *testing.T) {
	t.Parallel()
	s := startSite(t, nil)
	ctx := tab(t)
	// the printed link uses localhost; a loopback IP is redirected there
	do(t, ctx, chromedp.Navigate(s.srv.URL+plugin.DemoPath), loaded())
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != s.base+"/demo" {
		t.Fatalf("demo opened at %s, want %s/demo", loc, s.base)
	}
	s.waitCount(t, schema.Events, pageViews("/demo"), 1)
	s.waitCount(t, schema.Events, custom("demo_opened"), 1) // queued before the script loaded

	do(t, ctx,
		chromedp.Click(chromedp.CSS(`[skopos-event="signup_click"]`)),
		chromedp.Click(chromedp.CSS(`[skopos-event="plan_chosen"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/demo/pricing"]`)),
		chromedp.Click(chromedp.ID("add")),
		chromedp.Click(chromedp.CSS(`[skopos-event="added_later_click"]`)),
	)
	s.waitCount(t, schema.Events, pageViews("/demo/pricing"), 1)
	s.waitCount(t, schema.Events, custom("signup_click"), 1)
	s.waitCount(t, schema.Events, custom("added_later_click"), 1)
	s.waitCount(t, schema.Events, custom("plan_chosen"), 1)
	if got := s.eventData(t, "plan_chosen"); got["plan"] != "pro" || got["price"] != "19 EUR" {
		t.Errorf("plan_chosen eventData = %v", got)
	}
	if n := s.count(t, schema.Sessions, nil); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
	var eventCount int
	_ = s.srv.App().DB().Select("eventCount").From(schema.Sessions).Row(&eventCount)
	if eventCount != 6 {
		t.Errorf("session eventCount %d, want 6", eventCount)
	}
}

func TestScriptWorksAsModule(t *testing.T) {
	t.Parallel()
	// document.currentScript is null in a module script; the Node-era
	// script silently did nothing there
	s := startSite(t, map[string]string{"module": html(`<script type="module" src="/skopos.js" data-hash-mode="true"></script>`,
		`<button id="b" skopos-event="module_click">b</button>`)})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/module"), loaded(),
		eval(`document.getElementById("b").click(); location.hash = "#/next"`))
	s.waitCount(t, schema.Events, custom("module_click"), 1)
	s.waitCount(t, schema.Events, pageViews("/t/module"), 2) // its attributes are read too
}

func TestScriptSendsRevenueAndOrderID(t *testing.T) {
	t.Parallel()
	s := startSite(t, map[string]string{"buy": html(recorder+script, "")})
	ctx := tab(t)
	do(t, ctx, chromedp.Navigate(s.base+"/t/buy"), loaded(),
		eval(`skopos("event", "Purchase", {plan: "pro"}, {revenue: {amount: "29.99", currency: "eur"}, orderId: "A-1"});
			skopos("event", "Tip", null, {revenue: {amount: 5, currency: "JPY"}});
			skopos("event", "Plain", {}, "not options")`))
	s.waitCount(t, schema.Events, dbx.HashExp{"eventName": "Purchase", "revenueAmount": 2999, "revenueCurrency": "EUR", "orderId": "A-1"}, 1)
	s.waitCount(t, schema.Events, dbx.HashExp{"eventName": "Tip", "revenueAmount": 5, "revenueCurrency": "JPY", "orderId": ""}, 1)
	s.waitCount(t, schema.Events, dbx.HashExp{"eventName": "Plain", "revenueAmount": 0, "revenueCurrency": ""}, 1)
}
