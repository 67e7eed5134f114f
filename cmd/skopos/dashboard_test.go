package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/internal/wire"
)

// monthOfTraffic sends 35 days of varied page views to s's website tid
// through the ingest route: 60 pages (each seen within the last 30 days),
// visitors from Germany (most), the US and France with regions, five
// browsers, a few referrers. It returns how many events it sent.
func monthOfTraffic(t *testing.T, s string, tid string) int {
	t.Helper()
	pb := client(t, s)
	r := rand.New(rand.NewPCG(33, 1))
	uas := []string{browserUA,
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	}
	// 198.51.100.0/25 DE-BY, .128/25 DE-BE, 203.0.113.0/25 US-CA, 192.0.2.0/24 FR
	nets := []string{"198.51.100.%d", "198.51.100.%d", "198.51.100.%d", "203.0.113.%d", "192.0.2.%d"}
	refs := []string{"", "", "https://www.google.com/", "https://news.ycombinator.com/item?id=1", "https://duckduckgo.com/"}
	now := time.Now().UTC()
	var evs []pipeline.Event
	for d := 34; d >= 0; d-- {
		day := now.AddDate(0, 0, -d).Truncate(24 * time.Hour)
		for i := range 12 + d%7*3 {
			at := day.Add(time.Duration(r.IntN(20*60)) * time.Minute)
			if at.After(now) {
				at = now.Add(-time.Duration(r.IntN(60)+1) * time.Minute)
			}
			ip := fmt.Sprintf(nets[r.IntN(len(nets))], 1+(d*31+i)%120)
			if strings.HasPrefix(ip, "198.51.100.") && r.IntN(2) == 0 {
				ip = fmt.Sprintf("198.51.100.%d", 129+(d*31+i)%120)
			}
			ua := uas[r.IntN(len(uas))]
			vis := visitorid.Hash(tid, ip, ua+fmt.Sprint(d, i), nil)
			for v := range 1 + r.IntN(4) {
				page := fmt.Sprintf("/p/%02d", 1+r.IntN(60))
				if v == 0 && d < 30 {
					page = fmt.Sprintf("/p/%02d", 1+(d*13+i)%60) // every page within the last 30 days
				}
				ev := pipeline.Event{ID: pipeline.NewID(), Kind: pipeline.PageView, Time: at.Add(time.Duration(v) * 40 * time.Second),
					TrackingID: tid, Visitor: vis, IP: netip.MustParseAddr(ip), UA: ua, Path: page, ScreenWidth: -1, ScreenHeight: -1}
				if v == 0 {
					ev.Referrer = refs[r.IntN(len(refs))]
				}
				evs = append(evs, ev)
			}
		}
	}
	for start := 0; start < len(evs); start += 500 {
		batch := evs[start:min(start+500, len(evs))]
		var body bytes.Buffer
		if err := wire.Encode(&body, pipeline.BatchID(batch), batch); err != nil {
			t.Fatal(err)
		}
		var ans wire.Answer
		hdr := http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}
		if err := pb.DoRaw(context.Background(), http.MethodPost, wire.IngestPath, body.Bytes(), hdr, &ans); err != nil || ans.Accepted != len(batch) {
			t.Fatalf("ingest: %+v, %v", ans, err)
		}
	}
	return len(evs)
}

// TestServeDashboardDoneWhen is issue 33's check, in Chromium against
// skopos serve with 35 days of varied traffic: the Pages card's "Show
// all" lists every page with search and paging; the map shades the
// countries and a click filters; the dark theme applies when the browser
// prefers it; at 390 px no page scrolls sideways and every row and button
// of the site page is at least 44 px tall; the 12-month chart has at most
// 53 points; no text below 4.5:1 and no control border below 3:1 in
// either theme (computed in the page from the rendered colors).
func TestServeDashboardDoneWhen(t *testing.T) {
	t.Parallel()
	geoDB := geotest.Write(t, "GeoLite2-City", []geotest.Network{
		{CIDR: "198.51.100.0/25", Value: geotest.City("DE", "BY")},
		{CIDR: "198.51.100.128/25", Value: geotest.City("DE", "BE")},
		{CIDR: "203.0.113.0/25", Value: geotest.City("US", "CA")},
		{CIDR: "192.0.2.0/24", Value: geotest.City("FR", "")},
	})
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword, "SKOPOS_RATE_LIMIT=off",
		"SKOPOS_GEOIP_DB="+geoDB)
	pb := client(t, s.URL)
	var site website
	if err := pb.CreateRecord(context.Background(), "websites", map[string]any{"name": "Month", "domain": "month.example"}, &site); err != nil {
		t.Fatal(err)
	}
	sent := monthOfTraffic(t, s.URL, site.TrackingID)
	apiStats := func(q string) (visitors int) {
		var rep struct {
			Visitors struct{ Value float64 } `json:"visitors"`
			Top      map[string][]struct {
				Key   string
				Count int
			} `json:"top"`
		}
		if err := pb.Do(context.Background(), "GET", "/api/skopos/stats?site="+site.TrackingID+"&"+q, nil, &rep); err != nil {
			t.Fatal(err)
		}
		return int(rep.Visitors.Value)
	}
	testwait.Until(t, "the month stored", func() bool {
		var rep struct {
			PageViews struct{ Value float64 } `json:"pageViews"`
		}
		err := pb.Do(context.Background(), "GET", "/api/skopos/stats?period=12mo&site="+site.TrackingID, nil, &rep)
		return err == nil && int(rep.PageViews.Value) == sent
	})
	t.Logf("%d page views over 35 days", sent)

	tab := chrome.Tab(t, 5*time.Minute)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	js := func(expr string, out any) {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[json.RawMessage](expr))
		if err == nil {
			err = json.Unmarshal(v, out)
		}
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
	}
	// wait polls a condition on a loaded document
	wait := func(cond string) chromedp.Action[chromedp.Void] {
		return browsertest.Until(`document.readyState === "complete" && (` + cond + `)`)
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	base := s.URL + "/dashboard/sites/" + site.ID
	do("log in",
		chromedp.Navigate(s.URL+"/dashboard/login"),
		chromedp.SendKeys(css("#email"), adminEmail),
		chromedp.SendKeys(css("#password"), adminPassword),
		chromedp.Click(css(`form button[type="submit"]`)),
		wait(`location.pathname === "/dashboard/"`),
	)

	// Show all: 60 pages in two pages of 50, a search narrows them
	do("show all pages",
		chromedp.Navigate(base+"?period=30d"),
		chromedp.Click(css("#show-all-page")),
		wait(`!!document.querySelector("#breakdown-table")`),
	)
	var rows []string
	js(`[...document.querySelectorAll("#breakdown-table tbody tr td.key")].map(td => td.textContent.trim())`, &rows)
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r] = true
	}
	do("next page", chromedp.Click(css("#page-next")), wait(`location.search.includes("page=2") && !!document.querySelector("#breakdown-table")`))
	js(`[...document.querySelectorAll("#breakdown-table tbody tr td.key")].map(td => td.textContent.trim())`, &rows)
	for _, r := range rows {
		seen[r] = true
	}
	if len(seen) != 60 {
		t.Errorf("Show all listed %d pages over its two pages, want 60", len(seen))
	}
	do("search", chromedp.SetValue(css("#breakdown-q"), "/p/1"), chromedp.Click(css(`#breakdown-search button`)),
		wait(`location.search.includes("q=") && !!document.querySelector("#breakdown-table")`))
	js(`[...document.querySelectorAll("#breakdown-table tbody tr td.key")].map(td => td.textContent.trim())`, &rows)
	if len(rows) != 10 || !strings.HasPrefix(rows[0], "/p/1") {
		t.Errorf("search /p/1: %q, want /p/10 … /p/19", rows)
	}

	// the map: Germany darkest; a click filters by it
	do("site page", chromedp.Navigate(base+"?period=30d"), wait(`!!document.querySelector("#map-DE")`))
	var cls string
	js(`document.querySelector("#map-DE").getAttribute("class")`, &cls)
	if cls != "country l5" {
		t.Errorf("Germany is %q on the map, want the darkest step", cls)
	}
	deVisitors := apiStats("period=30d&filter=country:DE")
	do("click Germany", chromedp.Click(css("#map-DE path")), wait(`location.search.includes("country%3ADE") && !!document.querySelector("#filters .chip-text")`))
	var kpi, chip string
	js(`document.querySelector("#kpi-visitors .kpi-value").textContent.trim()`, &kpi)
	js(`document.querySelector("#filters .chip-text").textContent.replace(/\s+/g, " ").trim()`, &chip)
	if kpi != fmt.Sprint(deVisitors) || chip != "Country is Germany" {
		t.Errorf("after the click: visitors %s (API %d), chip %q", kpi, deVisitors, chip)
	}

	// the chart of 12 months
	do("12 months", chromedp.Navigate(base+"?period=12mo"), wait(`!!document.querySelector("rect.hit")`))
	var points int
	js(`document.querySelectorAll("rect.hit").length`, &points)
	t.Logf("12 months: %d points", points)
	if points == 0 || points > 53 {
		t.Errorf("the 12-month chart has %d points, want 1 to 53", points)
	}

	// contrast of every text and control in both themes, and the theme
	// the browser prefers
	contrast := `(() => {
		const rgb = c => { const m = c.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
		const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
			return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
		const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
		const bgOf = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
			if (c.length < 4 || c[3] > 0) return c; } return rgb(getComputedStyle(document.documentElement).backgroundColor); };
		const visible = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
			return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.opacity !== "0" && !el.closest(".sr-only,[hidden],svg"); };
		let text = [99, ""], ui = [99, ""];
		for (const el of document.querySelectorAll("body *")) {
			if (!visible(el)) continue;
			const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
			if (own) { const r = ratio(rgb(getComputedStyle(el).color), bgOf(el));
				if (r < text[0]) text = [r, el.tagName + "." + el.className + " " + el.textContent.trim().slice(0, 30)]; }
			if (el.matches("input:not([type=hidden]),select,textarea")) {
				const r = ratio(rgb(getComputedStyle(el).borderTopColor), bgOf(el.parentElement));
				if (r < ui[0]) ui = [r, el.tagName + "#" + el.id]; }
		}
		return {text: text[0], textAt: text[1], ui: ui[0], uiAt: ui[1],
			dark: lum(rgb(getComputedStyle(document.body).backgroundColor)) < 0.2 && lum(rgb(getComputedStyle(document.body).color)) > 0.4};
	})()`
	type themeCheck struct {
		Text, UI     float64
		TextAt, UIAt string
		Dark         bool
	}
	for _, scheme := range []string{"light", "dark"} {
		if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Fatal(err)
		}
		do("prefers "+scheme, chromedp.Navigate(base+"?period=30d"), wait(`!!document.querySelector("#map-DE")`))
		var c themeCheck
		js(contrast, &c)
		t.Logf("%s: smallest text contrast %.2f (%s), control border %.2f (%s)", scheme, c.Text, c.TextAt, c.UI, c.UIAt)
		if c.Dark != (scheme == "dark") {
			t.Errorf("prefers %s: dark page = %v", scheme, c.Dark)
		}
		if c.Text < 4.5 || c.UI < 3 {
			t.Errorf("%s theme: text %.2f at %s, control border %.2f at %s; want ≥ 4.5 and ≥ 3", scheme, c.Text, c.TextAt, c.UI, c.UIAt)
		}
	}

	// a phone: no sideways scroll on any page; every row and button of
	// the site page at least 44 px tall
	do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, p := range []string{"/dashboard/", base + "?period=30d", base + "/sessions?period=30d", base + "/breakdown/page?period=30d",
		base + "/goals", base + "/funnels", base + "/visitors", base + "/realtime", s.URL + "/dashboard/websites", s.URL + "/dashboard/keys"} {
		if !strings.HasPrefix(p, "http") {
			p = s.URL + p
		}
		do("open "+p, chromedp.Navigate(p), wait(`document.readyState === "complete"`))
		var wide []float64
		js(`[document.documentElement.scrollWidth, window.innerWidth]`, &wide)
		if wide[0] > wide[1] {
			t.Errorf("%s at 390 px: %v px wide", p, wide[0])
		}
	}
	do("site page on a phone", chromedp.Navigate(base+"?period=30d"), wait(`!!document.querySelector("#kpi-visitors")`))
	var small struct {
		Min   float64
		Count int
		Short []string
	}
	js(`(() => { let min = 1e9, short = [], n = 0;
		for (const el of document.querySelectorAll("main a, main button, main input:not([type=hidden]), main select, main summary, main [role=tab], main tbody tr")) {
			const r = el.getBoundingClientRect();
			if (r.width === 0 || r.height === 0 || el.closest("svg,[hidden],.sr-only")) continue;
			n++; min = Math.min(min, r.height);
			if (r.height < 44) short.push(el.tagName + " " + (el.textContent || el.id).trim().slice(0, 30) + " " + r.height.toFixed(1));
		}
		return {min: min, count: n, short: short}; })()`, &small)
	t.Logf("site page at 390 px: %d rows and controls, smallest %.1f px", small.Count, small.Min)
	if len(small.Short) > 0 {
		t.Errorf("under 44 px at 390 px: %q", small.Short)
	}
}
