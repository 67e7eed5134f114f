package tracker

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

//go:embed skopos.min.js
var script []byte

// etag is a strong validator: the script only changes with the binary.
var etag = func() string {
	sum := sha256.Sum256(script)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// Script returns the minified skopos.js (a copy; callers may keep it).
func Script() []byte {
	return bytes.Clone(script)
}

// Handler serves the minified skopos.js on GET and HEAD (any path; mount it
// where the pages load it from, usually /skopos.js). It sends a strong ETag
// and answers a matching If-None-Match with 304, lets browsers and proxies
// cache for an hour, and allows every origin: the script is public, and a
// site may load it from its analytics server's origin. Other methods get
// 405.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("ETag", etag)
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("X-Content-Type-Options", "nosniff")
		// ServeContent handles If-None-Match (304), HEAD and ranges.
		http.ServeContent(w, r, "skopos.js", time.Time{}, bytes.NewReader(script))
	})
}
