package botdetect

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const (
	uaChrome131 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaChrome79  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.130 Safari/537.36"
	uaFirefox   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaHeadless  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
	uaGooglebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaSqlmap    = "sqlmap/1.8.11#stable (https://sqlmap.org)"
	uaStripe    = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
	uaNativeApp = "MyApp/1.2 CFNetwork/1410.0.3 Darwin/22.6.0"

	pageURL      = "https://example.com/blog/hello-world"
	robotPageURL = "https://example.com/robotics/arm-kit"
)

// beacon returns the headers a current browser sends with the tracking
// beacon (navigator.sendBeacon: Accept */*, the page as Referer), with the
// given headers removed and extra headers ("Key", "value", ...) set.
func beacon(referer string, without []string, extra ...string) http.Header {
	h := http.Header{}
	h.Set("Accept", "*/*")
	h.Set("Accept-Language", "en-US,en;q=0.9,de;q=0.8")
	h.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	h.Set("Sec-Fetch-Site", "same-origin")
	h.Set("Sec-Fetch-Mode", "no-cors")
	h.Set("Sec-Fetch-Dest", "empty")
	h.Set("Referer", referer)
	for _, k := range without {
		h.Del(k)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Set(extra[i], extra[i+1])
	}
	return h
}

// TestReferenceVectors covers every row of the test-vector table of the Node
// SDK description (section 4.6), with the 0.16.1 score and verdict.
//
// Rows the reference decided with the isbot list are decided here by
// crawlerdetect or by the bare-token rule; all of them still score 100, so no
// row differs in score or verdict. The native-app row scores 0 only because
// of the OS-token fallback (the medama parser recognizes no OS in
// "CFNetwork/... Darwin/..."; without the fallback it would score 40, still
// not a bot).
func TestReferenceVectors(t *testing.T) {
	t.Parallel()
	d := New(Options{})
	long := uaChrome131 + strings.Repeat(" x", 300)
	long = long[:600]

	tests := []struct {
		name  string
		ua    string
		h     http.Header
		score int
		bot   bool
	}{
		{"chrome 131 beacon", uaChrome131, beacon(pageURL, nil), 0, false},
		{"page url contains robot", uaChrome131, beacon(robotPageURL, nil), 30, false},
		{"no sec-fetch-site", uaChrome131, beacon(pageURL, []string{"Sec-Fetch-Site"}), 15, false},
		{"no accept-language", uaChrome131, beacon(pageURL, []string{"Accept-Language"}), 60, false},
		{"no accept-language, robot page", uaChrome131, beacon(robotPageURL, []string{"Accept-Language"}), 90, true},
		{"x-webdriver header", uaChrome131, beacon(pageURL, nil, "X-Webdriver", "1"), 80, true},
		// 0.16.1: 60, not a bot (0.19+ returns 100 here); here the
		// platform hint also contradicts the Windows UA (+30): a bot
		{"sec-ch-ua-platform headless", uaChrome131, beacon(pageURL, nil, "Sec-Ch-Ua-Platform", `"Headless"`), 90, true},
		// client hints and fetch metadata (not in the Node SDK)
		{"consistent client hints", uaChrome131, beacon(pageURL, nil, "Sec-Ch-Ua", `"Chromium";v="131", "Google Chrome";v="131"`, "Sec-Ch-Ua-Platform", `"Windows"`), 0, false},
		{"platform hint contradicts the UA", uaChrome131, beacon(pageURL, nil, "Sec-Ch-Ua-Platform", `"macOS"`), 30, false},
		{"client hints from a Firefox UA", uaFirefox, beacon(pageURL, nil, "Sec-Ch-Ua", `"Chromium";v="131"`), 30, false},
		{"a navigation's headers on a beacon", uaChrome131, beacon(pageURL, nil, "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"), 40, false},
		{"navigation headers and no language", uaChrome131, beacon(pageURL, []string{"Accept-Language"}, "Sec-Fetch-Mode", "navigate"), 100, true},
		{"chrome 79", uaChrome79, beacon(pageURL, nil), 25, false},
		{"firefox 133 without sec-fetch-site", uaFirefox, beacon(pageURL, []string{"Sec-Fetch-Site"}), 0, false},
		{"googlebot", uaGooglebot, beacon(pageURL, nil), 100, true},
		{"headless chrome", uaHeadless, beacon(pageURL, nil), 100, true},
		{"curl", "curl/8.5.0", http.Header{"Accept": {"*/*"}}, 100, true},
		{"python-requests", "python-requests/2.32.3", http.Header{"Accept": {"*/*"}}, 100, true},
		{"go-http-client", "Go-http-client/1.1", http.Header{"Accept-Encoding": {"gzip"}}, 100, true},
		{"sqlmap", uaSqlmap, beacon(pageURL, nil), 100, true},
		{"stripe webhook ua (browser rules)", uaStripe, http.Header{"Accept": {"*/*; q=0.5, application/xml"}}, 100, true},
		{"native app, full headers", uaNativeApp, beacon(pageURL, nil), 0, false},
		// isbot flags these; here the bare-token rule does.
		{"unknown 25-char ua", "UnknownAgentStringX/1.2.3", beacon(pageURL, nil), 100, true},
		{"bare Mozilla/5.0", "Mozilla/5.0", beacon(pageURL, nil), 100, true},
		{"ua missing", "", beacon(pageURL, nil), 80, true},
		{"600-char chrome-like ua", long, beacon(pageURL, nil), 40, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := d.Score(tc.ua, tc.h); got != tc.score {
				t.Errorf("Score = %d, want %d", got, tc.score)
			}
			if got := d.IsBot(tc.ua, tc.h); got != tc.bot {
				t.Errorf("IsBot = %v, want %v", got, tc.bot)
			}
		})
	}
}

// TestRealBrowsers: current browsers sending the beacon must never be bots;
// headless Chrome must.
func TestRealBrowsers(t *testing.T) {
	t.Parallel()
	d := New(Options{})
	humans := []struct{ name, ua string }{
		{"chrome windows", uaChrome131},
		{"chrome mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		{"chrome linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		{"chrome android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"},
		{"chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
		{"firefox windows", uaFirefox},
		{"firefox linux", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"},
		{"firefox android", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"},
		{"safari mac", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"},
		{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"},
		{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1"},
		{"chrome ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1"},
		{"firefox ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15"},
		{"samsung internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36"},
		{"edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"},
		{"opera", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0"},
		{"facebook in-app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.44.109;FBBV/629478345;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]"},
	}
	for _, tc := range humans {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := beacon(pageURL, nil)
			if got := d.Score(tc.ua, h); got != 0 {
				t.Errorf("Score = %d, want 0", got)
			}
			if d.IsBot(tc.ua, h) {
				t.Error("IsBot = true, want false")
			}
		})
	}
	if !d.IsBot(uaHeadless, beacon(pageURL, nil)) {
		t.Error("HeadlessChrome: IsBot = false, want true")
	}
}

// TestRules exercises the individual rules not covered by the vectors.
func TestRules(t *testing.T) {
	t.Parallel()
	d := New(Options{})
	full := beacon(pageURL, nil)
	tests := []struct {
		name  string
		ua    string
		h     http.Header
		score int
	}{
		{"nil headers: UA rules only", uaChrome131, nil, 0},
		{"nil headers: missing UA", "", nil, 80},
		{"empty headers", uaChrome131, http.Header{}, 15*3 + 20 + 15},
		{"empty header value counts as missing", uaFirefox, beacon(pageURL, nil, "Accept-Language", ""), 60},
		{"odd accept", uaFirefox, beacon(pageURL, nil, "Accept", "image/png"), 10},
		{"html accept", uaFirefox, beacon(pageURL, nil, "Accept", "text/html,application/xhtml+xml"), 0},
		{"json accept", uaFirefox, beacon(pageURL, nil, "Accept", "application/json"), 0},
		{"two automation headers", uaFirefox, beacon(pageURL, nil, "X-Selenium", "", "X-Playwright", "1"), 100},
		{"connection close", uaFirefox, beacon(pageURL, nil, "Connection", "Close"), 10},
		{"connection close without accept-encoding", uaFirefox, beacon(pageURL, []string{"Accept-Encoding"}, "Connection", "close"), 15},
		{"misspelt referrer header", uaFirefox, beacon("", []string{"Referer"}, "Referrer", "https://x.test/spider"), 30},
		{"long referer", uaFirefox, beacon(pageURL+"?"+strings.Repeat("a", 600), nil), 30},
		{"edge mentions edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19041", beacon(pageURL, []string{"Sec-Fetch-Site"}), 15 + 25},
		{"firefox 68", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:68.0) Gecko/20100101 Firefox/68.0", full, 25},
		{"safari 11", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/11.1.2 Safari/605.1.15", full, 25},
		{"unknown multi-word ua (isbot's list)", "some unknown agent string here", full, 100},
		{"no browser, no OS", "Mozilla/5.0 (Plan9; Glenda) Acme/4.0 Rio/2.1 Extra/3", full, 40},
		{"long UA is not cached but scored", strings.Repeat("Mozilla/5.0 (Windows NT 10.0) ", 50), full, 40},
		{"monitor token (list A and isbot's list)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) MyMonitor", full, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := d.Score(tc.ua, tc.h); got != tc.score {
				t.Errorf("Score = %d, want %d", got, tc.score)
			}
		})
	}
}

// TestNoUAOnlyVerdictCache: the header-dependent rules are evaluated on every
// request: a verdict cached by user agent alone would let one header-less
// bot request turn every human with that user agent into a bot.
func TestNoUAOnlyVerdictCache(t *testing.T) {
	t.Parallel()
	human := beacon(pageURL, nil)
	automated := beacon(pageURL, nil, "X-Webdriver", "true")

	d := New(Options{})
	if d.IsBot(uaChrome131, human) {
		t.Fatal("human first: IsBot = true")
	}
	if !d.IsBot(uaChrome131, automated) {
		t.Error("x-webdriver after a human with the same UA: IsBot = false, want true")
	}

	d = New(Options{})
	if !d.IsBot(uaChrome131, automated) {
		t.Fatal("x-webdriver first: IsBot = false")
	}
	if d.IsBot(uaChrome131, human) {
		t.Error("human after x-webdriver with the same UA: IsBot = true, want false")
	}
}

func TestIsBotServer(t *testing.T) {
	t.Parallel()
	d := New(Options{})
	tests := []struct {
		ua  string
		bot bool
	}{
		{"Go-http-client/1.1", false},
		{"Go-http-client/2.0", false},
		{"okhttp/4.12.0", false},
		{"curl/8.5.0", false},
		{uaStripe, false},
		{"", false},
		{"python-requests/2.32.3", false},
		{"GitHub-Hookshot/044aadd", false},
		{"Apache-HttpClient/4.5.14 (Java/17.0.9)", false},
		{"axios/1.7.2", false},
		{"Zapier", false},
		{uaNativeApp, false},
		{uaChrome131, false},
		{uaGooglebot, true},
		{uaSqlmap, true},
		{uaHeadless, true},
		{"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", true},
		{"Nuclei - Open-source project (github.com/projectdiscovery/nuclei)", true},
		{"curl/8.5.0 Googlebot", true},
		{"python-requests/2.31 SomeCrawler/1.0", true},
	}
	for _, tc := range tests {
		t.Run(tc.ua, func(t *testing.T) {
			t.Parallel()
			if got := d.IsBotServer(tc.ua); got != tc.bot {
				t.Errorf("IsBotServer(%q) = %v, want %v", tc.ua, got, tc.bot)
			}
		})
	}
}

func TestCacheBounded(t *testing.T) {
	t.Parallel()
	const size = 50
	d := New(Options{CacheSize: size})
	for i := range 3 * size {
		ua := fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.%d.0 Safari/537.36", i)
		if d.IsBot(ua, beacon(pageURL, nil)) {
			t.Fatalf("%q: IsBot = true", ua)
		}
		if n := d.cacheLen(); n > size {
			t.Fatalf("after %d UAs cacheLen = %d > %d", i+1, n, size)
		}
	}
	if n := d.cacheLen(); n != size {
		t.Errorf("cacheLen = %d, want %d", n, size)
	}
	// Verdicts stay right for evicted and cached UAs alike.
	if !d.IsBot(uaGooglebot, nil) || d.IsBot(uaChrome131, beacon(pageURL, nil)) || !d.IsBot(uaGooglebot, nil) {
		t.Error("wrong verdict after eviction")
	}
	if n := d.cacheLen(); n > size {
		t.Errorf("cacheLen = %d > %d", n, size)
	}
}

func TestCacheDefaultsAndLRU(t *testing.T) {
	t.Parallel()
	if got := New(Options{}).cache.max; got != DefaultCacheSize {
		t.Errorf("default cache size = %d, want %d", got, DefaultCacheSize)
	}
	c := newLRUCache[bool](2)
	c.add("a", true)
	c.add("b", false)
	if v, ok := c.get("a"); !ok || !v { // a becomes most recent
		t.Fatalf("get(a) = %v, %v", v, ok)
	}
	c.add("c", true) // evicts b
	if _, ok := c.get("b"); ok {
		t.Error("b not evicted")
	}
	if _, ok := c.get("a"); !ok {
		t.Error("a evicted although recently used")
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
}

// TestCachedUAScoreEqualsRules: the UA verdict served from the cache is
// the one the rules give, for browsers, crawlers, clients and oddities,
// and it never leaks from one UA to another.
func TestCachedUAScoreEqualsRules(t *testing.T) {
	t.Parallel()
	d := New(Options{CacheSize: 4}) // small: evictions happen
	uas := []string{uaChrome131, uaFirefox, uaGooglebot, uaHeadless, uaStripe, "curl/8.5.0", uaNativeApp, "",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.0.0 Safari/537.36",
		"x", strings.Repeat("Mozilla/5.0 ", 100)}
	for round := range 3 {
		for _, ua := range uas {
			wantS, wantL := d.uaRules(ua)
			if s, l := d.uaScore(ua); s != wantS || l != wantL {
				t.Fatalf("round %d, %q: cached (%d, %q), rules (%d, %q)", round, ua, s, l, wantS, wantL)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	d := New(Options{CacheSize: 16})
	uas := []string{uaChrome131, uaFirefox, uaGooglebot, uaHeadless, uaStripe, "curl/8.5.0", uaNativeApp, ""}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				ua := uas[(g+i)%len(uas)]
				if i%3 == 0 {
					ua = fmt.Sprintf("%s #%d-%d", uaChrome131, g, i)
				}
				d.Score(ua, beacon(pageURL, nil))
				d.IsBotServer(ua)
			}
		})
	}
	wg.Wait()
	if n := d.cacheLen(); n > 16 {
		t.Errorf("cacheLen = %d > 16", n)
	}
}

func BenchmarkScoreHuman(b *testing.B) {
	d := New(Options{})
	h := beacon(pageURL, nil)
	d.Score(uaChrome131, h) // warm the cache
	b.ReportAllocs()
	for b.Loop() {
		d.Score(uaChrome131, h)
	}
}

func BenchmarkScoreNewUA(b *testing.B) {
	d := New(Options{})
	h := beacon(pageURL, nil)
	uas := make([]string, 1<<16)
	for i := range uas {
		uas[i] = fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.%d.%d Safari/537.36", i>>8, i&0xff)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Score(uas[i&(len(uas)-1)], h)
		i++
	}
}

func BenchmarkIsBotServer(b *testing.B) {
	d := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		d.IsBotServer("Go-http-client/1.1")
	}
}
