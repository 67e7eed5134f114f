package skopos

import (
	"net/http"
)

// Handler returns the http.Handler of the browser endpoint: mount it where
// skopos.js sends events (by default POST /api/event).
//
//	http.Handle("/api/event", client.Handler())
//
// It answers 204 for accepted and filtered events (bots learn nothing),
// 400 with a short JSON error for invalid ones, 413 above 64 KiB, 405 for
// methods other than POST and OPTIONS, and 503 with Retry-After when the
// queue is full.
func (c *Client) Handler() http.Handler {
	return c.in.Handler()
}
