package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
)

// agent is one real browser: its user agent and the client hints a
// Chromium-based browser adds (empty for Firefox and Safari).
type agent struct {
	UA       string
	Mobile   bool
	Platform string // Sec-CH-UA-Platform, Chromium only
	CHUA     string // Sec-CH-UA, Chromium only
}

const (
	chromeCHUA = `"Google Chrome";v="143", "Chromium";v="143", "Not A(Brand";v="24"`
	edgeCHUA   = `"Microsoft Edge";v="143", "Chromium";v="143", "Not A(Brand";v="24"`
)

// agents are current desktop and mobile browsers (early 2026). Every one of
// them must score below the bot threshold (see traffic_test.go).
var agents = []agent{
	{UA: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36", Platform: `"Windows"`, CHUA: chromeCHUA},
	{UA: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36", Platform: `"macOS"`, CHUA: chromeCHUA},
	{UA: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36", Platform: `"Linux"`, CHUA: chromeCHUA},
	{UA: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36 Edg/143.0.0.0", Platform: `"Windows"`, CHUA: edgeCHUA},
	{UA: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:146.0) Gecko/20100101 Firefox/146.0"},
	{UA: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:146.0) Gecko/20100101 Firefox/146.0"},
	{UA: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Safari/605.1.15"},
	{UA: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Mobile Safari/537.36", Mobile: true, Platform: `"Android"`, CHUA: chromeCHUA},
	{UA: "Mozilla/5.0 (Android 15; Mobile; rv:146.0) Gecko/146.0 Firefox/146.0", Mobile: true},
	{UA: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1", Mobile: true},
	{UA: "Mozilla/5.0 (iPad; CPU OS 18_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1", Mobile: true},
}

// languages are Accept-Language values; the payload's language is the
// first tag.
var languages = []string{
	"en-US,en;q=0.9",
	"en-GB,en;q=0.9",
	"de-DE,de;q=0.9,en;q=0.8",
	"fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7",
	"es-ES,es;q=0.9",
	"pt-BR,pt;q=0.9,en;q=0.8",
	"it-IT,it;q=0.9,en;q=0.8",
	"nl-NL,nl;q=0.9,en;q=0.8",
	"ja-JP,ja;q=0.9",
	"pl-PL,pl;q=0.9,en;q=0.8",
}

var (
	desktopScreens = [][2]int{{1920, 1080}, {1536, 864}, {1440, 900}, {2560, 1440}, {1366, 768}, {1280, 800}}
	mobileScreens  = [][2]int{{390, 844}, {393, 873}, {412, 915}, {430, 932}, {360, 800}, {820, 1180}}
)

// paths are the site's pages. The tracking script's beacon carries the page
// URL as Referer, and the bot filter charges Referers containing "bot",
// "crawl", "spider" or "scrape"; none of these paths does (tested).
var paths = []string{
	"/", "/pricing", "/features", "/about", "/contact", "/blog", "/docs",
	"/docs/getting-started", "/docs/installation", "/docs/configuration", "/docs/api",
	"/docs/sdk/go", "/docs/sdk/node", "/docs/self-hosting", "/docs/privacy", "/docs/faq",
	"/blog/cookieless-analytics", "/blog/why-self-host", "/blog/pocketbase-tips",
	"/blog/release-1-0", "/blog/gdpr-explained", "/blog/performance-budget",
	"/blog/dashboards", "/blog/sessions-without-cookies", "/changelog", "/roadmap",
	"/careers", "/careers/backend-engineer", "/careers/designer", "/press", "/legal/terms",
	"/legal/privacy", "/legal/imprint", "/signup", "/login", "/account", "/account/settings",
	"/account/billing", "/integrations", "/integrations/wordpress", "/integrations/hugo",
	"/integrations/nextjs", "/customers", "/customers/acme", "/compare/google-analytics",
	"/compare/plausible", "/status", "/support", "/community", "/download",
}

// referrers are where a visitor's first page view comes from ("" = direct).
var referrers = []string{
	"", "", "", "https://www.google.com/", "https://www.google.com/", "https://www.bing.com/",
	"https://duckduckgo.com/", "https://news.ycombinator.com/", "https://www.reddit.com/",
	"https://github.com/", "https://t.co/", "https://www.linkedin.com/",
}

// customEvents are the names of custom events, with a data generator.
var customEvents = []string{"signup_click", "cta_click", "download", "newsletter_subscribe", "video_play", "search"}

// customShare is the share of custom events among all events, in percent.
const customShare = 15

// visitor is one stable (IP, user agent, language) triple.
type visitor struct {
	IP       netip.Addr
	Agent    *agent
	Language string // Accept-Language
	Screen   [2]int
}

// ipBase is the first address of 198.18.0.0/15 (RFC 2544 benchmarking):
// public as far as Skopos is concerned (not a trusted-proxy range), and
// never routed on the Internet.
var ipBase = netip.MustParseAddr("198.18.0.0")

// maxVisitors is the number of distinct addresses in 198.18.0.0/15,
// leaving out .0.0 and the last address.
const maxVisitors = 1<<17 - 2

// visitorIP is visitor i's address: 198.18.0.0 + i + 1, distinct for
// every i < maxVisitors.
func visitorIP(i int) netip.Addr {
	b := ipBase.As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += uint32(i) + 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// makeVisitors builds n visitors deterministically from seed.
func makeVisitors(n int, seed uint64) []visitor {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	vs := make([]visitor, n)
	for i := range vs {
		a := &agents[rng.IntN(len(agents))]
		screens := desktopScreens
		if a.Mobile {
			screens = mobileScreens
		}
		vs[i] = visitor{
			IP:       visitorIP(i),
			Agent:    a,
			Language: languages[rng.IntN(len(languages))],
			Screen:   screens[rng.IntN(len(screens))],
		}
	}
	return vs
}

// payload is the JSON body skopos.js posts to the event endpoint.
type payload struct {
	Type         string         `json:"type"`
	Name         string         `json:"name,omitempty"`
	URL          string         `json:"url"`
	Referrer     string         `json:"referrer"`
	ScreenWidth  int            `json:"screenWidth"`
	ScreenHeight int            `json:"screenHeight"`
	Language     string         `json:"language"`
	CustomData   map[string]any `json:"customData,omitempty"`
}

// traffic turns an event number into a request: which visitor sends it and
// what it carries. Event j belongs to visitor j mod len(visitors), so every
// visitor sends about events/visitors events; it is the visitor's
// (j div len(visitors))-th event. Everything is derived from (seed, j), so a
// run is reproducible whatever the concurrency.
type traffic struct {
	visitors []visitor
	origin   string // scheme://domain
	seed     uint64
}

// event returns event j's visitor, page URL and JSON body.
func (t *traffic) event(j int) (*visitor, string, []byte) {
	v := &t.visitors[j%len(t.visitors)]
	nth := j / len(t.visitors)
	rng := rand.New(rand.NewPCG(t.seed, uint64(j)))

	page := t.origin + paths[rng.IntN(len(paths))]
	ref := ""
	switch {
	case nth == 0:
		ref = referrers[rng.IntN(len(referrers))]
		if rng.IntN(5) == 0 {
			page += "?utm_source=newsletter&utm_medium=email&utm_campaign=launch"
		}
	case rng.IntN(4) > 0:
		ref = t.origin + paths[rng.IntN(len(paths))]
	}
	p := payload{
		Type:         "pageView",
		URL:          page,
		Referrer:     ref,
		ScreenWidth:  v.Screen[0],
		ScreenHeight: v.Screen[1],
		Language:     strings.SplitN(v.Language, ",", 2)[0],
	}
	if rng.IntN(100) < customShare {
		p.Type = "custom"
		p.Name = customEvents[rng.IntN(len(customEvents))]
		p.CustomData = map[string]any{
			"position": []string{"header", "hero", "footer", "sidebar"}[rng.IntN(4)],
			"plan":     []string{"free", "pro", "team"}[rng.IntN(3)],
			"value":    rng.IntN(100),
		}
	}
	body, err := json.Marshal(p)
	if err != nil {
		panic(fmt.Sprintf("marshal payload: %v", err)) // cannot happen: plain types only
	}
	return v, page, body
}

// setHeaders dresses req as the beacon the tracking script sends from page
// in v's browser (navigator.sendBeacon with a text/plain body).
func setHeaders(h http.Header, v *visitor, origin, page string) {
	h.Set("User-Agent", v.Agent.UA)
	h.Set("Accept", "*/*")
	h.Set("Accept-Language", v.Language)
	h.Set("Accept-Encoding", "gzip, deflate, br")
	h.Set("Content-Type", "text/plain;charset=UTF-8")
	h.Set("Origin", origin)
	h.Set("Referer", page)
	h.Set("Sec-Fetch-Site", "same-origin")
	h.Set("Sec-Fetch-Mode", "no-cors")
	h.Set("Sec-Fetch-Dest", "empty")
	if v.Agent.CHUA != "" {
		h.Set("Sec-Ch-Ua", v.Agent.CHUA)
		h.Set("Sec-Ch-Ua-Platform", v.Agent.Platform)
		if v.Agent.Mobile {
			h.Set("Sec-Ch-Ua-Mobile", "?1")
		} else {
			h.Set("Sec-Ch-Ua-Mobile", "?0")
		}
	}
	h.Set("X-Forwarded-For", v.IP.String())
}
