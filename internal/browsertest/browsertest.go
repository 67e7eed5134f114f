// Package browsertest dresses test requests as a real browser's beacon,
// so that they pass the bot filter the way real visitors do (a bare
// httptest request scores as a bot: no Accept, Accept-Language, ...).
package browsertest

import "net/http"

// Chrome is a current desktop Chrome user agent.
const Chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// Headers sets the headers Chrome sends with navigator.sendBeacon; ua
// replaces the user agent unless empty (then Chrome).
func Headers(h http.Header, ua string) {
	if ua == "" {
		ua = Chrome
	}
	h.Set("User-Agent", ua)
	h.Set("Accept", "*/*")
	h.Set("Accept-Language", "en-GB,en;q=0.9")
	h.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	h.Set("Sec-Fetch-Site", "same-origin")
	h.Set("Sec-Fetch-Mode", "no-cors")
	h.Set("Sec-Fetch-Dest", "empty")
}

// ControlledClock is a script to install before a page's own
// (page.AddScriptToEvaluateOnNewDocument): Date.now returns window.testNow,
// which advance(ms) moves, and setVisible(bool) sets
// document.visibilityState and dispatches visibilitychange, so a test
// decides how long a page was seen and hidden.
const ControlledClock = `
	window.testNow = 1.7e12;
	Date.now = function () { return window.testNow; };
	window.testVisibility = "visible";
	Object.defineProperty(Document.prototype, "visibilityState", {get: function () { return window.testVisibility; }, configurable: true});
	window.advance = function (ms) { window.testNow += ms; };
	window.setVisible = function (v) {
		window.testVisibility = v ? "visible" : "hidden";
		document.dispatchEvent(new Event("visibilitychange"));
	};
`
