package dashboard

import (
	"context"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/stats"
)

type siteView struct {
	ID, Name, Domain, TrackingID, SDK string
	Archived                          bool
	StatsURL, EditURL                 string
}

// Embedded is shown instead of an SDK version for websites that receive
// events through skopos serve's own endpoint (no SDK reports a version).
const Embedded = "Embedded endpoint"

func (s *server) viewSite(rec *core.Record) siteView {
	sdk := rec.GetString("sdkVersion")
	if sdk == "" {
		sdk = "Not connected"
		// data in the last 30 days means events arrive without an SDK
		if ok, err := stats.HasDataSince(context.Background(), s.app.DB(), rec.Id, s.opts.Now().AddDate(0, 0, -30)); err == nil && ok {
			sdk = Embedded
		}
	}
	return siteView{ID: rec.Id, Name: rec.GetString("name"), Domain: rec.GetString("domain"),
		TrackingID: rec.GetString("trackingId"), SDK: sdk, Archived: rec.GetBool("isArchived"),
		StatsURL: siteURL(rec.Id, nil), EditURL: websiteURL(rec.Id, "")}
}
