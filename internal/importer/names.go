package importer

import (
	"slices"
	"strings"
)

// Browser, OS and device names are mapped onto the ones the pipeline
// stores (internal/uaname: ua-parser-js's names), so that imported days
// and own days group together in every breakdown; a name without a
// mapping is kept as it is.

// deviceName maps Plausible's screen sizes ("Desktop", "Laptop",
// "Mobile", "Tablet") and Umami's device types ("desktop", "laptop",
// "mobile", "tablet") onto uaname's device types.
func deviceName(s string) string {
	s = strings.ToLower(s)
	if s == "laptop" {
		return "desktop"
	}
	return s
}

// plausibleBrowsers are Plausible's browser names that differ from
// ua-parser-js's.
var plausibleBrowsers = map[string]string{
	"Microsoft Edge":  "Edge",
	"Samsung Browser": "Samsung Internet",
	"Chrome Webview":  "Chrome WebView",
	"Yandex Browser":  "Yandex",
	"UC Browser":      "UCBrowser",
	"Firefox Mobile":  "Mobile Firefox",
}

func plausibleBrowser(s string) string { return mapped(plausibleBrowsers, s) }

// plausibleSystems are Plausible's OS names that differ from
// ua-parser-js's.
var plausibleSystems = map[string]string{
	"Mac":       "macOS",
	"GNU/Linux": "Linux",
}

func plausibleOS(s string) string { return mapped(plausibleSystems, s) }

// umamiBrowsers are Umami's browser ids (detect-browser's) by
// ua-parser-js name.
var umamiBrowsers = map[string]string{
	"chrome":           "Chrome",
	"chromium-webview": "Chrome WebView",
	"crios":            "Mobile Chrome",
	"edge":             "Edge",
	"edge-chromium":    "Edge",
	"edge-ios":         "Edge",
	"facebook":         "Facebook",
	"firefox":          "Firefox",
	"fxios":            "Mobile Firefox",
	"instagram":        "Instagram",
	"ios":              "Mobile Safari",
	"ios-webview":      "Mobile Safari",
	"opera":            "Opera",
	"opera-mini":       "Opera Mini",
	"safari":           "Safari",
	"samsung":          "Samsung Internet",
	"silk":             "Silk",
	"yandexbrowser":    "Yandex",
	"android":          "Android Browser",
	"ie":               "IE",
}

func umamiBrowser(s string) string { return mapped(umamiBrowsers, s) }

// umamiOS maps Umami's OS names (detect-browser's: "Mac OS", "Windows
// 10", "Android OS", …) onto ua-parser-js's.
func umamiOS(s string) string {
	switch {
	case s == "Mac OS":
		return "macOS"
	case s == "Android OS":
		return "Android"
	case strings.HasPrefix(s, "Windows"):
		if s == "Windows Mobile" {
			return "Windows Phone"
		}
		return "Windows"
	}
	return s
}

func mapped(m map[string]string, s string) string {
	if v, ok := m[s]; ok {
		return v
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
