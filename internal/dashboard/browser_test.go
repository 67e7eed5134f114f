package dashboard_test

// Real-browser tests: Debian's Chromium (installed by .ci/run) drives the
// dashboard of a real in-process PocketBase with the Skopos plugin; data
// arrives through the real event endpoint. Screenshots of the main pages
// go to $SKOPOS_SCREENSHOTS (default: skopos-screenshots in the temp dir).

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// One Chromium for the whole test binary; every test opens its own tab.
var chrome browsertest.Browser

func TestMain(m *testing.M) {
	code := m.Run()
	chrome.Close()
	os.Exit(code)
}

// tab opens a new tab in its own browser context: cookies ignore the
// port, so tests running in parallel on 127.0.0.1 would otherwise share
// (and overwrite) each other's session and login cookies. It closes when
// the test ends.
func tab(t *testing.T) context.Context {
	t.Helper()
	return chrome.Tab(t, 5*time.Minute, chromedp.WithNewBrowserContext())
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action and returns its value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	return get(t, ctx, js, chromedp.Evaluate[T](js))
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// visit opens a dashboard page, requires 200 and waits for sel.
func visit(t *testing.T, ctx context.Context, url, sel string) {
	t.Helper()
	resp := get(t, ctx, "open "+url, chromedp.NavigateResponse(url))
	if resp == nil || resp.Status != 200 {
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("open %s: %v\n%s", url, resp, body)
	}
	run(t, ctx, "wait for "+sel, until(`!!document.querySelector(`+strconv.Quote(sel)+`)`))
}

// until polls a JavaScript condition (browsertest.Until).
func until(js string) chromedp.Action[chromedp.Void] { return browsertest.Until(js) }

func screenshotDir(t *testing.T) string {
	dir := os.Getenv("SKOPOS_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "skopos-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100)) // quality 100 = PNG
	p := filepath.Join(screenshotDir(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

func browserLogin(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	run(t, ctx, "login",
		chromedp.Navigate(base+"/dashboard/"),
		chromedp.WaitVisible(css("#email")),
		chromedp.SendKeys(css("#email"), email),
		chromedp.SendKeys(css("#password"), password),
		chromedp.Click(css(`form button[type="submit"]`)),
		until(`location.pathname !== "/dashboard/login" && document.readyState === "complete"`),
	)
}

// noDialogs fails the test, at its end, if the page opened a JavaScript
// dialog (the hostile values' alert() ran); each dialog is dismissed at
// once, since an open one blocks the page.
func noDialogs(t *testing.T, ctx context.Context) {
	t.Helper()
	var mu sync.Mutex
	var dialogs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			dialogs = append(dialogs, d.Message)
			mu.Unlock()
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(dialogs) > 0 {
			t.Errorf("script ran: dialogs %q", dialogs)
		}
	})
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(get(t, ctx, "text of "+sel, chromedp.Text(css(sel))))
}

func num(v float64) string {
	n := int64(v + 0.5)
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func query(t *testing.T, app core.App, siteID, period string) *stats.Report {
	t.Helper()
	now := time.Now()
	p, err := stats.ParsePeriod(period, "", "", now)
	if err != nil {
		t.Fatal(err)
	}
	r, err := stats.Query(context.Background(), app, siteID, stats.Request{Period: p, Top: 10, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkKPIs compares the KPI cards with stats.Query and with raw counts
// (every generated event is from today, so any period containing today
// holds all of them).
func checkKPIs(t *testing.T, ctx context.Context, app core.App, site *core.Record, period string) {
	t.Helper()
	rep := query(t, app, site.Id, period)
	raw := struct{ pageViews, sessions, newSessions, jsErrors int }{
		count(t, app, schema.Events, dbx.HashExp{"website": site.Id, "type": "pageView"}),
		count(t, app, schema.Sessions, dbx.HashExp{"website": site.Id}),
		count(t, app, schema.Sessions, dbx.HashExp{"website": site.Id, "isNewVisitor": true}),
		0,
	}
	_ = app.DB().Select("COALESCE(SUM(count), 0)").From(schema.JSErrors).Where(dbx.HashExp{"website": site.Id}).Row(&raw.jsErrors)
	for _, c := range []struct {
		id       string
		api, raw float64
	}{
		{"pageViews", rep.PageViews.Value, float64(raw.pageViews)},
		{"visitors", rep.Visitors.Value, float64(raw.sessions)},
		{"newVisitors", rep.NewVisitors.Value, float64(raw.newSessions)},
		{"jsErrors", rep.JSErrors.Value, float64(raw.jsErrors)},
	} {
		shown := text(t, ctx, "#kpi-"+c.id+" .kpi-value")
		if shown != num(c.api) || shown != num(c.raw) {
			t.Errorf("%s %s: shown %q, stats.Query %v, raw %v", period, c.id, shown, c.api, c.raw)
		}
	}
	if shown, want := text(t, ctx, "#kpi-bounceRate .kpi-value"), fmt.Sprintf("%g%%", rep.BounceRate.Value); shown != want {
		t.Errorf("%s bounce rate: shown %q, stats.Query %q", period, shown, want)
	}
	if raw.pageViews == 0 {
		t.Fatal("no generated page views")
	}
}

func TestBrowserDashboard(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Skopos Demo Shop", "shop.example", "")
	addSite(t, e.app, "Company blog", "blog.example", "")
	e.traffic(t, site, 40)
	e.jsErrors(t, site, 8)

	// identify the visitor of the longest session
	var sess struct {
		ID      string `db:"id"`
		Visitor string `db:"visitor"`
	}
	if err := e.app.DB().Select("id", "visitor").From(schema.Sessions).Where(dbx.HashExp{"website": site.Id}).
		OrderBy("eventCount DESC", "id").Limit(1).One(&sess); err != nil {
		t.Fatal(err)
	}
	vis, err := e.app.FindRecordById(schema.Visitors, sess.Visitor)
	if err != nil {
		t.Fatal(err)
	}
	vis.Set("userId", "user-42")
	vis.Set("name", "Ada Lovelace")
	vis.Set("email", "ada@example.com")
	if err := e.app.Save(vis); err != nil {
		t.Fatal(err)
	}

	ctx := tab(t)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)
	run(t, ctx, "overview", chromedp.WaitVisible(css("#sites")))
	today := query(t, e.app, site.Id, "today")
	if got := text(t, ctx, "#sites li:nth-child(2) .pv"); got != num(today.PageViews.Value) {
		t.Errorf("overview page views %q, want %v", got, today.PageViews.Value)
	}
	screenshot(t, ctx, "overview-desktop")

	// site page, today
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"?period=today", ".kpis")
	checkKPIs(t, ctx, e.app, site, "today")
	attr := get(t, ctx, "chart", chromedp.AttributeValue(css(".plot polyline.pv"), "points"))
	if points := attr.Value; !attr.Exists || strings.Count(points, ",") < 2 {
		t.Errorf("chart has no page-view line: %q", points)
	}
	if got := text(t, ctx, "#card-page tbody tr:first-child td.n"); got != num(float64(today.Top["page"][0].Count)) {
		t.Errorf("top page count %q, want %d", got, today.Top["page"][0].Count)
	}
	screenshot(t, ctx, "site-desktop")

	// switch the period with the picker (the script submits on change)
	run(t, ctx, "pick 7d",
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("period"); s.value = "7d"; s.dispatchEvent(new Event("change")); })()`),
		until(`location.search.includes("period=7d") && document.readyState === "complete" && !!document.querySelector('#period option[value="7d"][selected]')`),
	)
	loc := get(t, ctx, "location", chromedp.Location())
	if !strings.Contains(loc, "period=7d") {
		t.Errorf("after picking 7d the URL is %s", loc)
	}
	checkKPIs(t, ctx, e.app, site, "7d")
	if !strings.Contains(text(t, ctx, "#period-label"), "Last 7 days") {
		t.Errorf("period label %q", text(t, ctx, "#period-label"))
	}

	// the "active now" counter at load (its updates: TestBrowserActiveNow,
	// on the plugin's mount with its live hub)
	if got := text(t, ctx, "#active-users"); got != num(float64(query(t, e.app, site.Id, "today").ActiveUsers)) {
		t.Errorf("active users %q, want %d", got, query(t, e.app, site.Id, "today").ActiveUsers)
	}

	// custom event drill-down: distinct payloads of "signup"
	run(t, ctx, "drill-down", chromedp.Click(css(`#card-customEvent a.detail`)),
		until(`location.pathname.endsWith("/events") && document.readyState === "complete" && !!document.getElementById("payloads")`))
	rows := eval[int](t, ctx, `document.querySelectorAll("#payloads tbody tr").length`)
	var distinct int
	if err := e.app.DB().Select("COUNT(DISTINCT eventData)").From(schema.Events).
		Where(dbx.HashExp{"website": site.Id, "eventName": "signup"}).Row(&distinct); err != nil {
		t.Fatal(err)
	}
	if rows != distinct || rows != 3 || !strings.Contains(text(t, ctx, "#payloads"), `"plan": "pro"`) {
		t.Errorf("drill-down shows %d payloads, want %d distinct (3):\n%s", rows, distinct, text(t, ctx, "#payloads"))
	}

	// JS error drill-down: the stack trace
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"?period=today", "#card-jsError a")
	run(t, ctx, "error drill-down", chromedp.Click(css(`#card-jsError a`)),
		until(`location.pathname.endsWith("/errors") && document.readyState === "complete" && !!document.querySelector("pre.stack")`))
	if got := text(t, ctx, "pre.stack"); !strings.Contains(got, "at install (https://shop.example/app.js:10:5)") {
		t.Errorf("stack trace %q", got)
	}

	// sessions and a session's timeline with the identified user
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"/sessions?period=today", "#sessions")
	nSessions := eval[int](t, ctx, `document.querySelectorAll("#sessions tbody tr").length`)
	if want := count(t, e.app, schema.Sessions, dbx.HashExp{"website": site.Id}); nSessions != want {
		t.Errorf("sessions list: %d rows, want %d", nSessions, want)
	}
	if !strings.Contains(text(t, ctx, "#sessions"), "Ada Lovelace") {
		t.Error("sessions list does not show the identified user")
	}
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"/sessions/"+sess.ID, "#timeline")
	if got := text(t, ctx, "#identified"); !strings.Contains(got, "user-42") || !strings.Contains(got, "ada@example.com") {
		t.Errorf("identified user: %q", got)
	}
	nEvents := eval[int](t, ctx, `document.querySelectorAll("#timeline li").length`)
	if want := count(t, e.app, schema.Events, dbx.HashExp{"session": sess.ID}); nEvents != want || want < 2 {
		t.Errorf("timeline: %d events, want %d", nEvents, want)
	}
	screenshot(t, ctx, "session-desktop")

	// websites page, then a setting that sticks across a reload
	visit(t, ctx, e.dash.URL+"/dashboard/websites", "#site-list")
	screenshot(t, ctx, "websites-desktop")
	visit(t, ctx, e.dash.URL+"/dashboard/websites/"+site.Id, "#settings")
	run(t, ctx, "settings",
		chromedp.SetValue(css("#dataRetentionDays"), "45"),
		chromedp.SetValue(css("#ipBlacklist"), "203.0.113.0/24\n2001:db8::1"),
		chromedp.Click(css("#storeRawIp")),
		chromedp.Click(css(`#settings button[type="submit"]`)),
		until(`location.search.includes("saved=1") && document.readyState === "complete" && !!document.getElementById("saved")`),
		chromedp.Reload(),
		until(`document.readyState === "complete" && !!document.getElementById("settings")`),
	)
	screenshot(t, ctx, "website-settings-desktop")
	days := get(t, ctx, "retention", chromedp.Value(css("#dataRetentionDays")))
	ips := get(t, ctx, "blacklist", chromedp.Value(css("#ipBlacklist")))
	checked := eval[bool](t, ctx, `document.getElementById("storeRawIp").checked`)
	if days != "45" || ips != "203.0.113.0/24\n2001:db8::1" || !checked {
		t.Errorf("after reload: retention %q, blacklist %q, storeRawIp %v", days, ips, checked)
	}
	if rec, _ := e.app.FindRecordById(schema.Websites, site.Id); rec.GetInt("dataRetentionDays") != 45 || !rec.GetBool("storeRawIp") {
		t.Errorf("stored: %s", rec.PublicExport())
	}

	// phone width
	run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, p := range []struct{ name, path, wait string }{
		{"overview-phone", "/dashboard/", "#sites"},
		{"site-phone", "/dashboard/sites/" + site.Id + "?period=today", ".kpis"},
		{"websites-phone", "/dashboard/websites", "#site-list"},
		{"session-phone", "/dashboard/sites/" + site.Id + "/sessions/" + sess.ID, "#timeline"},
	} {
		visit(t, ctx, e.dash.URL+p.path, p.wait)
		if eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
			t.Errorf("%s: the page is wider than the phone", p.name)
		}
		screenshot(t, ctx, p.name)
	}
}

// hostile are values a visitor's browser can send; none may run.
var hostile = []string{
	`<script>window.__xss=1</script>`,
	`"><img src=x onerror="window.__xss=1">`,
	`javascript:window.__xss=1`,
	`'><svg onload=window.__xss=1>`,
}

func TestBrowserXSS(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, hostile[0]+hostile[1], "evil.example", "")
	e.traffic(t, site, 4)

	// through the endpoint: what the pipeline keeps as sent
	for i, h := range hostile {
		ip := fmt.Sprintf("192.0.2.%d", 100+i)
		e.beacon(t, fmt.Sprintf(`{"type":"pageView","url":"https://evil.example/p","language":%q}`, h), ip, browsertest.Chrome)
		e.beacon(t, fmt.Sprintf(`{"type":"custom","name":%q,"url":"https://evil.example/p","customData":{"v":%q}}`, h, h), ip, browsertest.Chrome)
		e.beacon(t, fmt.Sprintf(`{"type":"jsError","url":"https://evil.example/p","errorMessage":%q,"stackTrace":%q}`, h, "</pre>"+h), ip, browsertest.Chrome)
	}
	testwait.Until(t, "hostile events stored", func() bool {
		return count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id, "type": "custom", "eventName": hostile[0]}) == 1
	})
	e.restart() // writes the JS errors
	if n := count(t, e.app, schema.JSErrors, dbx.HashExp{"website": site.Id}); n != len(hostile) {
		t.Fatalf("%d hostile js_errors stored, want %d", n, len(hostile))
	}

	// rows as another writer (an old Skopos, the SDK) might have stored them
	now := time.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	vis := pbtest.Save(t, e.app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v-hostile",
		"userId": hostile[0], "name": hostile[1], "email": "evil@example.com"})
	sess := pbtest.Save(t, e.app, schema.Sessions, map[string]any{"website": site.Id, "visitor": vis.Id,
		"browser": hostile[3], "os": hostile[1], "device": hostile[0], "entryPath": hostile[2], "exitPath": hostile[1],
		"referrer": hostile[2], "country": hostile[0], "language": hostile[1], "isNewVisitor": true, "seq": 1,
		"startedAt": now, "lastActivity": now, "eventCount": 2})
	for _, h := range hostile {
		pbtest.Save(t, e.app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "pageView", "path": h, "timestamp": now})
		pbtest.Save(t, e.app, schema.Events, map[string]any{"website": site.Id, "session": sess.Id, "type": "custom", "eventName": h,
			"eventData": map[string]any{"k": h}, "path": h, "timestamp": now})
		for _, dim := range schema.Dimensions {
			pbtest.Save(t, e.app, schema.DashSumItems, map[string]any{"website": site.Id, "date": day, "dimension": dim, "key": h + " ", "count": 50})
		}
	}

	// goals, a funnel, campaigns and event properties made of hostile
	// values, and the pages (filter chips included) that show them
	analysis := seedHostileAnalysis(t, e.app, site)

	ctx := tab(t)
	noDialogs(t, ctx)
	run(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)

	base := e.dash.URL + "/dashboard"
	pages := []string{
		"/", "/sites/" + site.Id + "?period=today", "/sites/" + site.Id + "?period=7d",
		"/sites/" + site.Id + "/sessions?period=today", "/sites/" + site.Id + "/sessions/" + sess.Id,
		"/websites", "/websites/" + site.Id, "/websites/" + site.Id + "/delete",
	}
	for _, h := range hostile {
		pages = append(pages, "/sites/"+site.Id+"/events?period=today&name="+urlQuery(h),
			"/sites/"+site.Id+"/errors?period=today&message="+urlQuery(h))
	}
	mustShow := map[string][]string{}
	for _, p := range analysis {
		pages = append(pages, p.path)
		mustShow[p.path] = p.shows
	}
	// follow every link the site page offers (drill-downs built from
	// hostile keys included); of the filter links (one per key), one of
	// each dimension
	visit(t, ctx, base+"/sites/"+site.Id+"?period=7d", ".kpis")
	links := eval[[]string](t, ctx, `[...document.querySelectorAll("a[href]")].map(a => a.getAttribute("href"))`)
	filtered := map[string]bool{}
	for _, l := range links {
		if !strings.HasPrefix(l, "/dashboard/") && l != "#main" {
			t.Errorf("link outside the dashboard: %q", l)
		}
		// the Export menu's CSV downloads are not pages (export_test.go)
		if !strings.HasPrefix(l, "/dashboard/sites/") || strings.Contains(l, "/export?") {
			continue
		}
		if u, err := url.Parse(l); err == nil && len(u.Query()["filter"]) == 1 {
			dim, v, _ := strings.Cut(u.Query().Get("filter"), ":")
			if filtered[dim] || !strings.ContainsAny(v, "<>") {
				continue
			}
			filtered[dim] = true
		}
		pages = append(pages, strings.TrimPrefix(l, "/dashboard"))
	}
	if len(filtered) < 10 {
		t.Errorf("filter links with hostile values of only %d dimensions: %v", len(filtered), filtered)
	}
	if len(links) < 10 {
		t.Errorf("only %d links on the site page", len(links))
	}

	shown := map[string]bool{}
	for _, p := range pages {
		type result struct {
			XSS     bool   `json:"xss"`
			Foreign int    `json:"foreign"`
			Text    string `json:"text"`
		}
		visit(t, ctx, base+p, "main")
		run(t, ctx, "settle", chromedp.Sleep(100*time.Millisecond))
		res := eval[result](t, ctx, `({
				xss: typeof window.__xss !== "undefined",
				foreign: document.querySelectorAll('img[src="x"], [onerror], [onload], script:not([src="/dashboard/static/app.js"]), a[href^="javascript:"]').length,
				text: document.body.innerText,
			})`)
		if res.XSS || res.Foreign != 0 {
			t.Errorf("%s: window.__xss set %v, %d injected elements", p, res.XSS, res.Foreign)
		}
		for _, h := range hostile {
			if strings.Contains(res.Text, h) {
				shown[h] = true
			}
		}
		for _, h := range mustShow[p] {
			if !strings.Contains(res.Text, h) {
				t.Errorf("%s does not show %q as text", p, h)
			}
		}
	}
	for _, h := range hostile {
		if !shown[h] {
			t.Errorf("%q never shown as text: the test did not exercise it", h)
		}
	}
	screenshot(t, ctx, "xss-site-desktop")
}

func urlQuery(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
