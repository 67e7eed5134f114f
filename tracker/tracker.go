package tracker

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

//go:embed skopos.min.js
var script []byte

// etag is a strong validator: the script only changes with the binary.
var etag = func() string {
	sum := sha256.Sum256(script)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// gzipped is the script compressed once, at the best level, with its own
// strong ETag (a different representation must not share the identity
// one's validator).
var gzipped, gzipETag = func() ([]byte, string) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(script)
	_ = zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), `"` + hex.EncodeToString(sum[:16]) + `-gz"`
}()

// acceptsGzip reports whether an Accept-Encoding header allows gzip
// (q=0 refuses it).
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

// Script returns the minified skopos.js (a copy; callers may keep it).
func Script() []byte {
	return bytes.Clone(script)
}

// Handler serves the minified skopos.js on GET and HEAD (any path; mount it
// where the pages load it from, usually /skopos.js), gzip-compressed when
// the client accepts it (2.7 KB instead of 5.6 KB). It sends a strong ETag
// and answers a matching If-None-Match with 304, lets browsers and proxies
// cache for an hour, and allows every origin: the script is public, and a
// site may load it from its analytics server's origin. Other methods get
// 405.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOrHead(w, r) {
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Vary", "Accept-Encoding")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("X-Content-Type-Options", "nosniff")
		body, tag := script, etag
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, tag = gzipped, gzipETag
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", tag)
		// ServeContent handles If-None-Match (304), HEAD and ranges.
		http.ServeContent(w, r, "skopos.js", time.Time{}, bytes.NewReader(body))
	})
}

// getOrHead answers any method but GET and HEAD with 405 and reports
// whether the request is one of those two.
func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}
