package dashboard

import (
	"context"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/stats"
)

type siteView struct {
	ID, Name, Domain, TrackingID string
	// SDK is the connection state, on the pages that show it (withSDK)
	SDK               string
	Archived          bool
	StatsURL, EditURL string
}

// Embedded is shown instead of an SDK version for websites that receive
// events through skopos serve's own endpoint (no SDK reports a version).
const Embedded = "Embedded endpoint"

func (s *server) viewSite(rec *core.Record) siteView {
	return siteView{ID: rec.Id, Name: rec.GetString("name"), Domain: rec.GetString("domain"),
		TrackingID: rec.GetString("trackingId"), Archived: rec.GetBool("isArchived"),
		StatsURL: siteURL(rec.Id, nil), EditURL: websiteURL(rec.Id, "")}
}

// withSDK is viewSite with the SDK state, for the pages that show it
// (the overview and the websites pages): it may read the events, which
// the report pages need not pay for.
func (s *server) withSDK(ctx context.Context, rec *core.Record) siteView {
	v := s.viewSite(rec)
	v.SDK = rec.GetString("sdkVersion")
	if v.SDK == "" {
		v.SDK = "Not connected"
		// data in the last 30 days means events arrive without an SDK
		if ok, err := stats.HasDataSince(ctx, s.app.DB(), rec.Id, s.opts.Now().AddDate(0, 0, -30)); err == nil && ok {
			v.SDK = Embedded
		}
	}
	return v
}
