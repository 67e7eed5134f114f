package skopos

import (
	"net/http"
	"strings"

	"github.com/skopos-go/skopos/internal/pipeline"
)

// TrackAPIEvent records an event sent by the browser script: body is the
// raw JSON request body. It validates synchronously and never waits on
// I/O. It returns nil when the event was accepted or filtered (bots,
// foreign domains, blacklisted IPs...; counted in Stats), an error
// wrapping ErrInvalidPayload that names the field, ErrQueueFull, or
// ErrClosed.
func (c *Client) TrackAPIEvent(r *http.Request, body []byte) error {
	return c.pipe.TrackBrowser(r, body, func(string) *pipeline.Site { return c.currentSite() })
}

// currentSite is the client's website with its latest settings.
func (c *Client) currentSite() *pipeline.Site {
	if s := c.sites.ByTrackingID(c.opts.SiteID); s != nil {
		return s
	}
	return nil // deleted: events are dropped as unknown_site
}

// TrackOption modifies a TrackServerEvent call.
type TrackOption func(*trackOptions)

type trackOptions struct{ site string }

// WithSite records the event for another website (by trackingId). The
// website is looked up off the caller's path; events for an unknown
// trackingId are dropped and counted as "unknown_site".
func WithSite(trackingID string) TrackOption {
	return func(o *trackOptions) { o.site = strings.TrimSpace(trackingID) }
}

// TrackServerEvent records a custom event from your own handler (a
// signup, a purchase, a webhook): the visitor, path and referrer come from
// r; name and data follow the custom-event limits (name 1..255 characters,
// stored up to 100; data serialized up to 8192 bytes). Returns as
// TrackAPIEvent.
func (c *Client) TrackServerEvent(r *http.Request, name string, data map[string]any, opts ...TrackOption) error {
	o := trackOptions{site: c.opts.SiteID}
	for _, opt := range opts {
		opt(&o)
	}
	return c.pipe.TrackServer(r, o.site, c.sites.ByTrackingID(o.site), name, data)
}
