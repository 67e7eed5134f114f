// Package uaname names a user agent's browser, operating system and
// device type in the vocabulary of ua-parser-js 2.x, the parser of the
// Skopos Node SDK ("Mobile Chrome", "Mobile Safari", "GSA", "Chrome
// WebView", "macOS", "Chrome OS", "tablet"…), so that sessions recorded by
// either SDK group together in every breakdown, and in-app browsers,
// WebViews and tablets keep their own names.
//
// It is a short list of ordered token rules written for this package (not
// a port of ua-parser-js's expressions), checked against ua-parser-js on a
// corpus of real user agents (testdata/browsers.json, built by
// scripts/update-ua-corpus.sh). It runs once per new session, never on a
// continuing one.
package uaname

import "strings"

// Names are what a session stores: browser and os as ua-parser-js names
// them ("" when unknown, as the Node SDK stores), device one of desktop,
// mobile, tablet, smarttv, console, wearable, xr or embedded.
type Names struct {
	Browser, OS, Device string
}

// Device types.
const (
	Desktop = "desktop"
	Mobile  = "mobile"
	Tablet  = "tablet"
	SmartTV = "smarttv"
	Console = "console"
)

// Parse names ua.
func Parse(ua string) Names {
	n := Names{OS: osName(ua)}
	n.Device = device(ua, n.OS)
	n.Browser = browser(ua, n.OS, n.Device)
	return n
}

// token is a browser recognised by a token in the user agent.
type token struct{ find, name string }

// apps are in-app browsers and browsers built on another browser's engine
// that also carry that browser's token ("GSA/… Mobile/… Safari/…"): they
// are checked first, in this order.
var apps = []token{
	{"Electron/", "Electron"},
	{"HeadlessChrome", "Chrome Headless"},
	{" GSA/", "GSA"},
	{"DuckDuckGo/", "DuckDuckGo"},
	{" Ddg/", "DuckDuckGo"},
	{"Twitter for iP", "Twitter"},
	{"TwitterAndroid", "Twitter"},
	{"musical_ly", "TikTok"},
	{"BytedanceWebview", "TikTok"},
	{" TikTok", "TikTok"},
	{"FBAN/", "Facebook"},
	{"FBAV/", "Facebook"},
	{"FB_IAB/", "Facebook"},
	{"Instagram ", "Instagram"},
	{"Snapchat/", "Snapchat"},
	{" Line/", "Line"},
	{"KAKAOTALK", "KAKAOTALK"},
	{"Zalo", "Zalo"},
	{"HuaweiBrowser/", "Huawei Browser"},
	{"VivoBrowser/", "Vivo Browser"},
	{"MiuiBrowser/", "MIUI Browser"},
	{"HeyTapBrowser/", "HeyTap"},
	{"OppoBrowser/", "Oppo Browser"},
	{"UCBrowser/", "UCBrowser"},
	{"QQBrowser/", "QQBrowser"},
	{"MicroMessenger/", "WeChat"},
	{"Whale/", "Whale"},
	{"YaBrowser/", "Yandex"},
	{"YaSearchBrowser/", "Yandex"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"OPR/", "Opera"},
	{"OPT/", "Opera Touch"},
	{"OPX/", "Opera GX"},
	{"OPiOS/", "Opera"},
	{"Opera Mini/", "Opera Mini"},
	{"Opera/", "Opera"},
	{"Edg/", "Edge"},
	{"EdgA/", "Edge"},
	{"EdgiOS/", "Edge"},
	{"Edge/", "Edge"},
	{"Vivaldi/", "Vivaldi"},
	{"Brave/", "Brave"},
	{"QuarkPC/", "Quark"},
	{"Quark/", "Quark"},
	{"Chromium/", "Chromium"},
	{"Ecosia ", "Ecosia"},
	{"Silk/", "Silk"},
	{"CriOS/", "Mobile Chrome"},
	{"FxiOS/", "Mobile Firefox"},
}

func browser(ua, os, dev string) string {
	for _, t := range apps {
		if strings.Contains(ua, t.find) {
			return t.name
		}
	}
	mobile := dev == Mobile || dev == Tablet
	switch {
	case strings.Contains(ua, "Firefox/"):
		if mobile || os == "Android" {
			return "Mobile Firefox"
		}
		return "Firefox"
	case strings.Contains(ua, "Trident/"), strings.Contains(ua, "MSIE "):
		return "IE"
	case os == "Android" && strings.Contains(ua, "; wv)"):
		return "Chrome WebView"
	case os == "Android" && strings.Contains(ua, "Version/"):
		// the stock browser, and apps' views that name no engine
		return "Android Browser"
	case strings.Contains(ua, "Chrome/"):
		if strings.Contains(ua, "Mobile") {
			return "Mobile Chrome"
		}
		return "Chrome"
	case strings.Contains(ua, "AppleWebKit/"):
		if !strings.Contains(ua, "Safari/") {
			return "WebKit" // an app's web view: no Safari token
		}
		if os == "iOS" || strings.Contains(ua, "Mobile/") {
			return "Mobile Safari"
		}
		return "Safari"
	}
	return ""
}

// systems are the operating systems by their tokens, in order: the
// first match names it (Xbox and Windows Phone say Windows too, HarmonyOS
// says Android, Chrome OS and Android say Linux).
var systems = []struct {
	tokens []string
	name   string
}{
	{[]string{"Xbox"}, "Xbox"},
	{[]string{"PlayStation"}, "PlayStation"},
	{[]string{"Windows Phone"}, "Windows Phone"},
	{[]string{"Windows"}, "Windows"},
	{[]string{"iPhone", "iPad", "iPod"}, "iOS"},
	{[]string{"HarmonyOS"}, "HarmonyOS"},
	{[]string{"Android"}, "Android"},
	{[]string{"Tizen"}, "Tizen"},
	{[]string{"Web0S", "webOS"}, "webOS"},
	{[]string{"CrOS"}, "Chrome OS"},
	{[]string{"Macintosh", "Mac OS X"}, "macOS"},
	{[]string{"Ubuntu"}, "Ubuntu"},
	{[]string{"Fedora"}, "Fedora"},
	{[]string{"Debian"}, "Debian"},
	{[]string{"FreeBSD"}, "FreeBSD"},
	{[]string{"OpenBSD"}, "OpenBSD"},
	{[]string{"Linux", "X11"}, "Linux"},
}

func osName(ua string) string {
	for _, s := range systems {
		if containsAny(ua, s.tokens) {
			return s.name
		}
	}
	return ""
}

func containsAny(s string, tokens []string) bool {
	for _, t := range tokens {
		if strings.Contains(s, t) {
			return true
		}
	}
	return false
}

// tvs and consoles are recognised by these tokens.
var (
	tvs      = []string{"SmartTV", "SMART-TV", "Smart-TV", "SMARTTV", "Web0S", "WebOS TV", "BRAVIA", "Android TV", "GoogleTV", "AppleTV", "HbbTV", "CrKey", "AFTB", "AFTS", "AFTM", "AFTT"}
	consoles = []string{"PlayStation", "Xbox", "Nintendo"}
	// tablets carry no Mobile token on Android, and some say Android in
	// a way that reads as a phone: known models and systems
	tablets = []string{"iPad", "Kindle", "Silk/", "Tablet", "SM-T", "SM-X", "SM-P"}
)

func device(ua, os string) string {
	switch {
	case containsAny(ua, tvs):
		return SmartTV
	case containsAny(ua, consoles):
		return Console
	case containsAny(ua, tablets):
		return Tablet
	}
	switch os {
	case "iOS":
		return Mobile // iPhone, iPod (iPad above)
	case "Android", "HarmonyOS":
		if strings.Contains(ua, "Mobile") {
			return Mobile
		}
		return Tablet
	}
	if strings.Contains(ua, "Windows Phone") || strings.Contains(ua, "Mobile Safari") {
		return Mobile
	}
	return Desktop
}
