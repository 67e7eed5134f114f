package skopos

import (
	"context"
	"net/http"

	"github.com/skopos-go/skopos/internal/pipeline"
)

// IdentifyData is what Identify attaches to the visitor. Empty fields
// leave what is stored unchanged.
type IdentifyData struct {
	Name     string         // up to 255 characters
	Email    string         // trimmed, lower-cased, validated as PocketBase validates emails; up to 255
	Phone    string         // up to 50 characters
	Metadata map[string]any // JSON object, up to 8192 bytes serialized; replaces the stored one
}

// Identify links the visitor making request r to your user: it creates
// the visitor if needed and sets userId (1..255 characters after trimming)
// and the non-empty fields of data. Unlike the tracking calls it writes
// synchronously and reports the outcome: an error wrapping
// ErrInvalidIdentify for bad input, ErrStore when PocketBase failed.
func (c *Client) Identify(ctx context.Context, r *http.Request, userID string, data IdentifyData) error {
	site := c.currentSite()
	if site == nil {
		return ErrWebsiteNotFound
	}
	return c.pipe.Identify(ctx, r, site, userID, pipeline.Identity(data))
}
