package dashboard_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// phoneTarget is one interactive element as measured in the page.
type phoneTarget struct {
	Tag    string  `json:"tag"`
	Text   string  `json:"text"`
	Height float64 `json:"height"`
}

// phoneMeasure is what the page reports about its layout.
type phoneMeasure struct {
	Scroll  float64       `json:"scroll"`
	Width   float64       `json:"width"`
	Header  float64       `json:"header"`
	Targets []phoneTarget `json:"targets"`
}

// measurePhone reads the page's width, the header's height and every
// visible interactive element of main (an element without a box, such as
// one in a closed <details> or an .sr-only one, is not a tap target).
const measurePhone = `(() => {
	const label = el => (el.getAttribute("aria-label") || el.textContent || el.value || el.name || el.id || "").trim().replace(/\s+/g, " ").slice(0, 50);
	const targets = [...document.querySelectorAll("main a, main button, main input:not([type=hidden]), main select, main summary, main [role=tab]")]
		// a box's tap target is its row, label included
		.map(el => ({el, r: (el.type === "checkbox" || el.type === "radio" ? el.closest(".check") || el : el).getBoundingClientRect()}))
		.filter(({el, r}) => r.width > 1 && r.height > 1 && el.checkVisibility({visibilityProperty: true}))
		.map(({el, r}) => ({tag: el.tagName.toLowerCase(), text: label(el), height: r.height}));
	return {scroll: document.documentElement.scrollWidth, width: innerWidth,
		header: document.querySelector("header.top").getBoundingClientRect().height, targets};
})()`

// TestBrowserPhone (issue 33): at 360 px no dashboard page scrolls
// sideways; at 390×844 the header is one row whose menu holds the
// navigation, log out and the theme toggle, the tables of sessions, keys
// and visitors are lists with their labels, and every visible link,
// button and field of the site page (and of those lists) is at least
// 44 px tall, measured in the page.
func TestBrowserPhone(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Phone shop with a rather long name for a small screen", "phone.example", "")
	events := e.traffic(t, site, 24)
	// a long path and referrer without a break opportunity must wrap
	long := "/" + strings.Repeat("very-long-path-segment-", 8) + "end"
	e.beacon(t, fmt.Sprintf(`{"type":"pageView","url":"https://phone.example%s?utm_source=newsletter","referrer":"https://www.example.org%s"}`, long, long),
		"192.0.2.200", userAgents[0])
	testwait.Until(t, "the long path stored", func() bool {
		return count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id}) == events+1
	})
	addGoal(t, e.app, site.Id, "Signed up", "event", "signup")
	pbtest.Save(t, e.app, schema.Funnels, map[string]any{"website": site.Id, "name": "Pricing to signup",
		"steps": []map[string]string{{"name": "Pricing", "type": "page", "match": "/pricing"}, {"name": "Signup", "type": "event", "match": "signup"}}})
	var sessID string
	if err := e.app.DB().Select("id").From(schema.Sessions).Where(dbx.HashExp{"website": site.Id}).
		OrderBy("eventCount DESC", "id").Limit(1).Row(&sessID); err != nil {
		t.Fatal(err)
	}

	// the plugin's mount: the live view needs its live hub
	base := e.srv.URL
	ctx := tab(t)
	run(t, ctx, "desktop", chromedp.EmulateViewport(1280, 900))
	browserLogin(t, ctx, base, pbtest.Email, pbtest.Password)
	// on a desktop the menu is not a disclosure: its links show at once
	visit(t, ctx, base+"/dashboard/", "#theme-toggle:not([hidden])")
	if v := eval[string](t, ctx, `[...document.querySelectorAll("header nav a, header .logout button, #theme-toggle")]
		.filter(el => !el.checkVisibility()).map(el => el.textContent).join(", ")`); v != "" {
		t.Errorf("desktop header: hidden %s", v)
	}
	if h := eval[float64](t, ctx, `document.querySelector("header.top").getBoundingClientRect().height`); h > 64 {
		t.Errorf("desktop header %.0f px tall, want one row", h)
	}
	// a key and a shared link, so that their lists have a row
	visit(t, ctx, base+"/dashboard/keys", "#key-form")
	run(t, ctx, "create a key", chromedp.SetValue(css("#name"), "phone-key"), chromedp.Submit(css("#key-form")),
		until(`document.readyState === "complete" && !!document.getElementById("keys")`))
	visit(t, ctx, base+"/dashboard/sites/"+site.Id+"/shares", "#share-form")
	run(t, ctx, "create a link", chromedp.SetValue(css("#name"), "For the phone"), chromedp.Submit(css("#share-form")),
		until(`document.readyState === "complete" && !!document.getElementById("shares")`))
	shared, err := url.Parse(get(t, ctx, "shared link", chromedp.Value(css("#share-url"))))
	if err != nil {
		t.Fatal(err)
	}

	sitePath := "/dashboard/sites/" + site.Id
	pages := []struct{ name, path, wait string }{
		{"overview", "/dashboard/", "#sites"},
		{"site", sitePath + "?period=today", ".kpis"},
		{"sessions", sitePath + "/sessions?period=today", "#sessions"},
		{"session", sitePath + "/sessions/" + sessID, "#timeline"},
		{"visitors", sitePath + "/visitors?period=today", "#visitors"},
		{"goals", sitePath + "/goals", "main h1"},
		{"funnels", sitePath + "/funnels", "main h1"},
		{"keys", "/dashboard/keys", "#keys"},
		{"shares", sitePath + "/shares", "#shares"},
		{"websites", "/dashboard/websites", "#site-list"},
		{"members", sitePath + "/members", "main h1"},
		{"breakdown", sitePath + "/breakdown/page?period=today", "#breakdown-table"},
		{"referrers", sitePath + "/breakdown/referrer?period=today", "#breakdown-table"},
		{"live", sitePath + "/realtime", "#realtime"},
		{"shared", shared.RequestURI(), ".kpis"},
	}
	// tap targets are required of these pages (the others: reported)
	strict := map[string]bool{"site": true, "sessions": true, "keys": true, "shares": true, "visitors": true, "breakdown": true}

	run(t, ctx, "360 px", chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	var widest float64
	for _, p := range pages {
		visit(t, ctx, base+p.path, p.wait)
		m := eval[phoneMeasure](t, ctx, measurePhone)
		widest = max(widest, m.Scroll)
		t.Logf("360 px %s: scrollWidth %.0f", p.name, m.Scroll)
		if m.Scroll > m.Width {
			t.Errorf("%s at 360 px: scrollWidth %.0f > %.0f (the page scrolls sideways)", p.name, m.Scroll, m.Width)
			screenshot(t, ctx, "phone360-"+p.name)
		}
	}

	run(t, ctx, "390 px", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	smallest := phoneTarget{Height: 1e9}
	for _, p := range pages {
		visit(t, ctx, base+p.path, p.wait)
		m := eval[phoneMeasure](t, ctx, measurePhone)
		if m.Scroll > m.Width {
			t.Errorf("%s at 390 px: scrollWidth %.0f > %.0f", p.name, m.Scroll, m.Width)
		}
		if m.Header > 64 {
			t.Errorf("%s at 390 px: header %.0f px tall, want one row (≤ 64)", p.name, m.Header)
		}
		var small []string
		for _, tg := range m.Targets {
			if tg.Height < 44 {
				small = append(small, fmt.Sprintf("%s %q %.1f px", tg.Tag, tg.Text, tg.Height))
			}
			if strict[p.name] && tg.Height < smallest.Height {
				smallest = tg
			}
		}
		t.Logf("390 px %s: %d tap targets, %d under 44 px", p.name, len(m.Targets), len(small))
		if len(small) > 0 {
			if strict[p.name] {
				t.Errorf("%s at 390 px: tap targets under 44 px:\n  %s", p.name, strings.Join(small, "\n  "))
			} else {
				t.Logf("  %s", strings.Join(small, "\n  "))
			}
		}
		screenshot(t, ctx, "phone-"+p.name)
	}
	t.Logf("widest page at 360 px: %.0f; smallest tap target at 390 px: %s %q %.1f px", widest, smallest.Tag, smallest.Text, smallest.Height)

	// tables that are lists: no header row, each row a block whose cells
	// name their column
	for _, tbl := range []string{"sessions", "keys", "visitors"} {
		path := map[string]string{"sessions": pages[2].path, "keys": "/dashboard/keys", "visitors": pages[4].path}[tbl]
		visit(t, ctx, base+path, "#"+tbl)
		got := eval[string](t, ctx, `(() => {
			const t = document.getElementById("`+tbl+`");
			const row = t.querySelector("tbody tr"), cell = row.querySelector("td[data-label]");
			const squeezed = [...t.querySelectorAll("td[data-label]")].filter(td => td.checkVisibility() && td.getBoundingClientRect().height < 24).length;
			return [getComputedStyle(t.querySelector("thead")).display, getComputedStyle(row).display,
				cell ? getComputedStyle(cell, "::before").content : "no labelled cell", squeezed + " squeezed"].join(" | ");
		})()`)
		if parts := strings.Split(got, " | "); len(parts) != 4 || parts[0] != "none" || parts[1] != "block" || !strings.HasPrefix(parts[2], `"`) || parts[2] == `""` || parts[3] != "0 squeezed" {
			t.Errorf("#%s on a phone: thead, row display, first label and cells shorter than their label %q; want none | block | \"<label>\" | 0 squeezed", tbl, got)
		}
	}

	// the menu: closed, one row; open, the navigation, log out and the
	// theme toggle are there and the header's row is unchanged
	visit(t, ctx, base+sitePath+"?period=today", "#theme-toggle:not([hidden])")
	if v := eval[bool](t, ctx, `!document.querySelector("header nav a").checkVisibility()`); !v {
		t.Error("on a phone the navigation shows before the menu is opened")
	}
	run(t, ctx, "open the menu", chromedp.Click(css("header .menu summary")),
		until(`document.querySelector("header .menu").open`))
	hidden := eval[string](t, ctx, `[...document.querySelectorAll("header nav a, header .logout button, #theme-toggle")]
		.filter(el => !el.checkVisibility() || el.getBoundingClientRect().height < 44).map(el => el.textContent).join(", ")`)
	if hidden != "" {
		t.Errorf("open menu: missing or under 44 px: %s", hidden)
	}
	screenshot(t, ctx, "phone-menu")
	if h := eval[float64](t, ctx, `document.querySelector(".top-inner").getBoundingClientRect().height`); h > 64 {
		t.Errorf("the header's row is %.0f px tall with the menu open", h)
	}
}
