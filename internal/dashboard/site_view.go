package dashboard

import (
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
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
		var n int
		since := time.Now().UTC().AddDate(0, 0, -30).Format("2006-01-02")
		if s.app.DB().NewQuery("SELECT COUNT(*) FROM (SELECT 1 FROM dash_sum WHERE website = {:w} AND date >= {:d} LIMIT 1)").
			Bind(dbx.Params{"w": rec.Id, "d": since}).Row(&n) == nil && n > 0 {
			sdk = Embedded
		}
	}
	return siteView{ID: rec.Id, Name: rec.GetString("name"), Domain: rec.GetString("domain"),
		TrackingID: rec.GetString("trackingId"), SDK: sdk, Archived: rec.GetBool("isArchived"),
		StatsURL: siteURL(rec.Id, nil), EditURL: websiteURL(rec.Id, "")}
}
