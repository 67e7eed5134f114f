// Package tracker holds skopos.js, the Skopos browser script, and serves it
// together with the demo page.
//
//	mux.Handle("GET /skopos.js", tracker.Handler())
//	// in the page:
//	// <script defer src="/skopos.js" data-endpoint="/api/event"></script>
//
// The readable source is skopos.js; skopos.min.js, the file served, is built
// from it by `go generate ./tracker` (esbuild) and committed. A test fails
// when the committed file is stale or over its size budget.
//
// Script tag attributes (all optional):
//
//	data-endpoint="/api/event"          where events are POSTed; a relative
//	                                    path is resolved against the script's
//	                                    own URL (cross-origin loading works)
//	data-auto-track-pageviews="false"   no automatic page views
//	data-hash-mode="true"               a fragment change is a page view
//	data-observe-dom="false"            bind skopos-event elements present
//	                                    at start only
//	data-capture-console="true"         console.error becomes a jsError
//	data-respect-dnt="true"             send nothing when Do Not Track or
//	                                    Global Privacy Control is on
//	data-auto="outbound downloads 404 forms"
//	                                    automatic events, each opt-in:
//	                                    "Outbound Link: Click" {url, host},
//	                                    "File Download" {url}, "404" (the
//	                                    page has a data-404 element or
//	                                    <meta name="skopos:404">) and
//	                                    "Form: Submit" {form: id or name}
//	data-download-extensions="pdf zip"  what a download is (default: the
//	                                    usual document, archive, media and
//	                                    installer extensions)
//	data-engagement="false"             no engaged time or scroll depth
//	                                    beacons (on by default)
//
// Element attributes: skopos-event="name" (a custom event when the element
// is clicked), skopos-event-on="change" (another DOM event), skopos-data
// (a JSON object sent as customData) and skopos-data-from="key:selector;..."
// (the value, or text, of the element the selector finds, under key; pairs
// are separated by ";", or by "," when there is no ";"; password inputs are
// never read).
//
// From JavaScript, also before the script has loaded:
//
//	window.skopos = window.skopos || function(){(skopos.q=skopos.q||[]).push(arguments)};
//	skopos("event", "signup", {plan: "pro"});
//	skopos("pageview");
package tracker

//go:generate go run ./gen
