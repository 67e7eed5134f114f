package botdetect

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"

	useragent "github.com/medama-io/go-useragent"
	"github.com/medama-io/go-useragent/agents"
	"github.com/x-way/crawlerdetect"
)

// Threshold is the score at and above which a browser request is a bot.
const Threshold = 70

// DefaultCacheSize is the number of user agents whose verdicts a Detector
// keeps when Options.CacheSize is zero or negative.
const DefaultCacheSize = 10000

// Points of the individual rules (see the package documentation).
const (
	maxScore          = 100
	ptsShortUA        = 80
	ptsLongUA         = 40
	ptsAutomationUA   = 70
	ptsHTTPClientUA   = 60
	ptsScannerUA      = 90
	ptsUnknownUA      = 40
	ptsOutdated       = 25
	ptsMissingHeader  = 15
	ptsNoLanguage     = 20
	ptsOddAccept      = 10
	ptsStarNoLanguage = 25
	ptsAutomationHdr  = 80
	ptsHeadless       = 60
	ptsNoFetchSite    = 15
	ptsConnClose      = 10
	ptsReferer        = 30
	ptsNavigation     = 40
	ptsHintsMismatch  = 30

	minUALen       = 10  // shorter (or missing) UA: ptsShortUA
	maxUALen       = 512 // longer UA: ptsLongUA
	unknownUAMin   = 20  // "no browser, no OS" fires only above this length
	maxRefererLen  = 512 // longer Referer: ptsReferer
	maxCachedUALen = 1024
)

// Token lists of the Node SDK, lower case, matched case-insensitively as
// plain substrings (much faster than the equivalent case-insensitive
// regular expressions). Package-level data; never modified.
var (
	// List A: automation, generic crawler words, named crawlers and
	// link-preview bots, anywhere in the UA. "monitor" covers "monitoring",
	// "crawler" and "crawlbot" are the Node SDK's Crawl(er|bot).
	automationTokens = [...]string{
		"headlesschrome", "puppeteer", "phantomjs", "selenium", "playwright",
		"(unknown;", // QtWebKit's default platform, the mark of PhantomJS-style headless fetchers
		"crawler", "crawlbot", "spider", "scraper", "monitor", "archiver", "screenshot", "validator", "lighthouse",
		"ahrefsbot", "semrushbot", "mj12bot", "petalbot", "yandexbot", "bingbot", "googlebot", "baiduspider", "dotbot", "applebot",
		"facebookexternalhit", "slackbot", "discordbot", "twitterbot", "linkedinbot", "telegrambot",
	}
	// List B: HTTP client libraries, at the start of the UA. WhatsApp's
	// link-preview fetcher is "WhatsApp/2.x …" (here rather than in list
	// A: WhatsApp's in-app browser carries "WhatsApp/" after a browser UA).
	httpClientPrefixes = [...]string{
		"whatsapp/", "curl/", "wget/", "python-requests/", "go-http-client/", "java/", "okhttp/",
		"apache-httpclient/", "axios/", "node-fetch/", "got/", "postman",
	}
	// List C: security scanners, anywhere in the UA.
	scannerTokens = [...]string{
		"sqlmap", "nikto", "nmap", "masscan", "nessus", "burpsuite", "metasploit", "nuclei", "acunetix", "w3af", "zaproxy",
	}
	// Referer words (rule 19) and Accept media-type words (rule 13).
	refererTokens = [...]string{"bot", "crawl", "spider", "scrape"}
	acceptTokens  = [...]string{"html", "xml", "json", "*/"}
)

// Compiled patterns. They are immutable and safe for concurrent use.
var (
	// A UA made of one bare product token with an optional version and
	// nothing else (isbot flags these: "Mozilla/5.0", "SomeClient/1.2").
	bareTokenRE = regexp.MustCompile(`^[A-Za-z0-9_.\-()]+(?:/v?\d+(?:\.\d+)?(?:\.\d{1,10})*)?(?:,|$)`)

	// Operating-system tokens ua-parser-js recognizes but the medama parser
	// may not (native apps: "MyApp/1.2 CFNetwork/1410.0.3 Darwin/22.6.0").
	// Only consulted for UAs in which the parser found no browser and no OS.
	osTokenRE = regexp.MustCompile(`(?i)\b(?:Darwin|CFNetwork|Android|iPhone|iPad|iPod|iOS|iPadOS|Windows|Win(?:32|64)|` +
		`Macintosh|Mac ?OS|Linux|CrOS|Ubuntu|Debian|Fedora|FreeBSD|OpenBSD|NetBSD|Tizen|webOS|KaiOS|HarmonyOS)\b`)

	// Browsers whose names the crawler list mistakes for its crawlers:
	// Cốc Cốc's browser (for its coccocbot) and WhatsApp's in-app browser,
	// whose token follows a browser UA (the preview fetcher's UA starts
	// with it): removed before that lookup.
	misflagged = regexp.MustCompile(`CocCocBrowser/[\d.]+| WhatsApp/[\d.]+`)

	// Tokens of HTTP client libraries and webhook senders that the crawler
	// list names but that are legitimate callers of server-side events.
	serverClientRE = regexp.MustCompile(`(?i)\b(?:curl|wget|python-requests|python-urllib|python-httpx|httpx|aiohttp|` +
		`Go-http-client|Java|okhttp|Apache-HttpClient|Apache-HttpAsyncClient|Commons-HttpClient|Google-HTTP-Java-Client|` +
		`unirest-java|axios|node-fetch|node-superagent|undici|got|PostmanRuntime|Postman|HTTPie|Dart|Ruby|Faraday|` +
		`GuzzleHttp|RestSharp|reqwest|libwww-perl|http\.rb|fasthttp|HTTPClient|WinHttp|WebClient|` +
		`Stripe|GitHub-Hookshot|Braintree-Webhooks|Adyen HttpClient|Zapier)(?:[/ ]v?\d[^\s;()]*)?`)
)

// automationHeaders are the request headers automation frameworks add
// (canonical form).
var automationHeaders = [...]string{"X-Selenium", "X-Puppeteer", "X-Playwright", "X-Automated", "X-Webdriver"}

// Options configures a Detector. The zero value is usable.
type Options struct {
	// CacheSize bounds the caches of verdicts keyed by UA string: the
	// crawler-list lookup and the score of the UA-based rules, which
	// depend on the UA alone (the header rules run on every request).
	// Zero or negative means DefaultCacheSize. UAs longer than 1 KiB are
	// never cached.
	CacheSize int
	// Parser is an optional shared user-agent parser; nil means
	// useragent.NewParser().
	Parser *useragent.Parser
	// Extra are patterns to treat as bots in addition to the built-in
	// lists (browser requests and server events alike). Default none.
	Extra *Patterns
}

// Detector scores requests for bot likelihood. Create it with New; it is safe
// for concurrent use.
type Detector struct {
	parser  *useragent.Parser
	extra   *Patterns
	cache   *lruCache[bool]      // crawler list
	uaCache *lruCache[uaVerdict] // uaScore
}

type uaVerdict struct {
	score int
	lower string
}

// New returns a Detector configured by opts.
func New(opts Options) *Detector {
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	p := opts.Parser
	if p == nil {
		p = useragent.NewParser()
	}
	return &Detector{parser: p, extra: opts.Extra, cache: newLRUCache[bool](size), uaCache: newLRUCache[uaVerdict](size)}
}

// Score is the bot score (0..100) of a browser request with user agent ua and
// request headers h: UA-based rules plus header heuristics (see the package
// documentation). h must use canonical keys, as net/http produces them; a nil
// h skips the header heuristics.
func (d *Detector) Score(ua string, h http.Header) int {
	s, lower := d.uaScore(ua)
	if s >= maxScore {
		return maxScore
	}
	if h != nil {
		s += headerScore(lower, h)
	}
	return min(s, maxScore)
}

// IsBot reports whether Score(ua, h) >= Threshold.
func (d *Detector) IsBot(ua string, h http.Header) bool {
	return d.Score(ua, h) >= Threshold
}

// IsBotServer judges a server-side event: a request the host application
// received itself (webhooks, API clients, native apps). Such traffic is
// legitimate and usually comes from HTTP client libraries without browser
// headers, so there are no header heuristics, no HTTP-client-library rule and
// no missing-UA rule. Only known crawlers (the maintained crawler list, after
// removing the tokens of common HTTP client libraries and webhook senders,
// which that list also names), named crawler / automation tokens and security
// scanners count. A missing UA is not a bot.
func (d *Detector) IsBotServer(ua string) bool {
	if ua == "" {
		return false
	}
	if containsAny(strings.ToLower(ua), scannerTokens[:]) {
		return true
	}
	rest := ua
	if serverClientRE.MatchString(ua) {
		rest = serverClientRE.ReplaceAllString(ua, "")
	}
	return containsAny(strings.ToLower(rest), automationTokens[:]) || d.isCrawler(rest) || d.extra.match(ua)
}

// uaScore applies the UA-based rules and returns the score and the
// lower-cased UA. The score is maxScore for a UA on the crawler list or a
// bare product token.
func (d *Detector) uaScore(ua string) (int, string) {
	// the rules below cost ~7 µs for a browser's UA (the parser, the
	// token scans, lower-casing), and a site sees the same few hundred
	// UAs again and again
	if len(ua) > maxCachedUALen {
		return d.uaRules(ua)
	}
	if v, ok := d.uaCache.get(ua); ok {
		return v.score, v.lower
	}
	s, lower := d.uaRules(ua)
	d.uaCache.add(ua, uaVerdict{score: s, lower: lower})
	return s, lower
}

// uaRules applies the UA-based rules to ua.
func (d *Detector) uaRules(ua string) (int, string) {
	if ua != "" && (bareTokenRE.MatchString(ua) || d.isCrawler(misflagged.ReplaceAllString(ua, "")) || isbotPatterns.match(ua) || d.extra.match(ua)) {
		return maxScore, ""
	}
	n := len(ua)
	s := 0
	if n < minUALen {
		s += ptsShortUA
	}
	if n > maxUALen {
		s += ptsLongUA
	}
	if ua == "" {
		return s, ""
	}
	lower := strings.ToLower(ua)
	if containsAny(lower, automationTokens[:]) {
		s += ptsAutomationUA
	}
	for _, p := range httpClientPrefixes {
		if strings.HasPrefix(lower, p) {
			s += ptsHTTPClientUA
			break
		}
	}
	if containsAny(lower, scannerTokens[:]) {
		s += ptsScannerUA
	}
	if n < minUALen {
		return s, lower
	}
	r := d.parser.Parse(ua)
	browser := r.Browser()
	if n > unknownUAMin && browser == "" && r.OS() == "" && !osTokenRE.MatchString(ua) {
		s += ptsUnknownUA
	}
	if outdated(browser, r.BrowserVersionMajor()) {
		s += ptsOutdated
	}
	return s, lower
}

// outdated reports whether browser at major version major is older than the
// versions the Node SDK considered current.
func outdated(browser agents.Browser, major string) bool {
	var limit int
	switch browser {
	case agents.BrowserChrome, agents.BrowserEdge:
		limit = 80
	case agents.BrowserFirefox:
		limit = 70
	case agents.BrowserSafari:
		limit = 12
	default:
		return false
	}
	v, err := strconv.Atoi(major)
	return err == nil && v < limit
}

// headerScore applies the header heuristics (rules 11-19 of the Node SDK).
// lowerUA is the lower-cased user agent.
func headerScore(lowerUA string, h http.Header) int {
	s := 0
	accept := headerValue(h, "Accept")
	lang := headerValue(h, "Accept-Language")
	enc := headerValue(h, "Accept-Encoding")
	for _, v := range [...]string{accept, lang, enc} {
		if v == "" {
			s += ptsMissingHeader
		}
	}
	if lang == "" {
		s += ptsNoLanguage
	}
	if accept != "" && accept != "*/*" && !containsAnyFold(accept, acceptTokens[:]) {
		s += ptsOddAccept
	}
	if accept == "*/*" && lang == "" {
		s += ptsStarNoLanguage
	}
	for _, k := range automationHeaders {
		if _, ok := h[k]; ok {
			s += ptsAutomationHdr
		}
	}
	if containsFold(headerValue(h, "Sec-Ch-Ua-Platform"), "headless") {
		s += ptsHeadless
	}
	if headerValue(h, "Sec-Fetch-Site") == "" && (strings.Contains(lowerUA, "chrome") || strings.Contains(lowerUA, "edge")) {
		s += ptsNoFetchSite
	}
	if enc != "" && strings.EqualFold(headerValue(h, "Connection"), "close") {
		s += ptsConnClose
	}
	// a beacon or fetch is never a navigation: a client that sends a page
	// load's headers to the event endpoint is replaying them
	if strings.EqualFold(headerValue(h, "Sec-Fetch-Mode"), "navigate") || strings.EqualFold(headerValue(h, "Sec-Fetch-Dest"), "document") {
		s += ptsNavigation
	}
	if hintsContradictUA(lowerUA, h) {
		s += ptsHintsMismatch
	}
	ref := headerValue(h, "Referer")
	if ref == "" {
		ref = headerValue(h, "Referrer")
	}
	if len(ref) > maxRefererLen || containsAnyFold(ref, refererTokens[:]) {
		s += ptsReferer
	}
	return s
}

// hintsContradictUA reports whether the user-agent client hints, which
// only Chromium browsers send, contradict the user agent: hints from a
// non-Chromium UA, or a platform hint naming another system than the UA.
// A user-agent switcher extension changes the UA and not the hints, so
// this alone never makes a bot (ptsHintsMismatch < Threshold).
func hintsContradictUA(lowerUA string, h http.Header) bool {
	brands := headerValue(h, "Sec-Ch-Ua")
	platform := strings.Trim(headerValue(h, "Sec-Ch-Ua-Platform"), `"`)
	if brands == "" && platform == "" {
		return false
	}
	chromium := strings.Contains(lowerUA, "chrome/") || strings.Contains(lowerUA, "crios/") || strings.Contains(lowerUA, "edg")
	if !chromium {
		return true
	}
	var want string
	switch {
	case strings.Contains(lowerUA, "android"):
		want = "android"
	case strings.Contains(lowerUA, "windows"):
		want = "windows"
	case strings.Contains(lowerUA, "cros"):
		want = "chrome os"
	case strings.Contains(lowerUA, "macintosh"):
		want = "macos"
	case strings.Contains(lowerUA, "linux"):
		want = "linux"
	default:
		return false
	}
	return platform != "" && !strings.EqualFold(platform, want)
}

// headerValue returns the values of the canonical header key joined with
// ", ", as Node.js presents repeated headers; "" when absent.
func headerValue(h http.Header, key string) string {
	switch v := h[key]; len(v) {
	case 0:
		return ""
	case 1:
		return v[0]
	default:
		return strings.Join(v, ", ")
	}
}

// containsAny reports whether s contains one of tokens.
func containsAny(s string, tokens []string) bool {
	for _, t := range tokens {
		if strings.Contains(s, t) {
			return true
		}
	}
	return false
}

// containsAnyFold reports whether s contains one of the lower-case ASCII
// tokens, ignoring ASCII case, without allocating.
func containsAnyFold(s string, tokens []string) bool {
	for _, t := range tokens {
		if containsFold(s, t) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the lower-case ASCII word sub,
// ignoring ASCII case, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for ; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// isCrawler reports whether ua is on the maintained crawler list, through the
// bounded cache for UAs of at most maxCachedUALen bytes.
func (d *Detector) isCrawler(ua string) bool {
	if ua == "" {
		return false
	}
	if len(ua) > maxCachedUALen {
		return crawlerdetect.IsCrawler(ua)
	}
	if v, ok := d.cache.get(ua); ok {
		return v
	}
	v := crawlerdetect.IsCrawler(ua)
	d.cache.add(ua, v)
	return v
}

// cacheLen is the number of entries of the larger cache (for tests).
func (d *Detector) cacheLen() int {
	return max(d.cache.len(), d.uaCache.len())
}
