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

type trackOptions struct {
	site     string
	purchase pipeline.Purchase
}

// WithSite records the event for another website (by trackingId). The
// website is looked up off the caller's path; events for an unknown
// trackingId are dropped and counted as "unknown_site".
func WithSite(trackingID string) TrackOption {
	return func(o *trackOptions) { o.site = strings.TrimSpace(trackingID) }
}

// WithRevenue attaches revenue to the event: amount is a decimal string
// in the currency's major unit ("29.99" dollars, "1500" yen, "1.234"
// dinars), currency an active ISO 4217 code in any case ("usd"). It is
// stored exactly, in minor units, never through a float; an amount that
// is not > 0, has more decimals than the currency, or exceeds 10^12
// minor units, or an unknown currency, makes TrackServerEvent return an
// error wrapping ErrInvalidPayload. Revenue is summed per currency, never
// converted: see GET /api/skopos/stats/revenue.
func WithRevenue(amount, currency string) TrackOption {
	return func(o *trackOptions) { o.purchase.Amount, o.purchase.Currency = amount, currency }
}

// WithOrderID names the order the event paid for (1..64 printable
// characters). The revenue of an order is counted once per website: an
// event whose order already has revenue stored — sent earlier by the
// browser script or by the server — is stored without it (its goal
// conversion still counts) and counted in Stats().DuplicateOrders.
func WithOrderID(id string) TrackOption {
	return func(o *trackOptions) { o.purchase.OrderID = id }
}

// TrackServerEvent records a custom event from your own handler (a
// signup, a purchase, a webhook): the visitor, path and referrer come from
// r; name and data follow the custom-event limits (name 1..255 characters,
// stored up to 100; data serialized up to 8192 bytes). WithRevenue and
// WithOrderID make it a purchase. Returns as TrackAPIEvent.
func (c *Client) TrackServerEvent(r *http.Request, name string, data map[string]any, opts ...TrackOption) error {
	o := trackOptions{site: c.opts.SiteID}
	for _, opt := range opts {
		opt(&o)
	}
	return c.pipe.TrackServer(r, o.site, c.sites.ByTrackingID(o.site), name, data, o.purchase)
}
