package skopos

import (
	"net/http"

	"github.com/skopos-go/skopos/tracker"
)

// ScriptHandler serves skopos.js, the Skopos browser script, for apps that
// use the SDK with their own HTTP server:
//
//	http.Handle("GET /skopos.js", skopos.ScriptHandler())
//	http.Handle("/api/event", client.Handler())
//
// and in every page:
//
//	<script defer src="/skopos.js" data-endpoint="/api/event"></script>
//
// It answers GET and HEAD with the minified script (ETag, one hour of
// caching, any origin may load it) and other methods with 405. The script
// is the same for every site, so one handler serves them all.
func ScriptHandler() http.Handler {
	return tracker.Handler()
}
