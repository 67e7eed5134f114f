package plugin

import (
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/export"
	"github.com/skopos-go/skopos/internal/stats"
)

// ExportPath streams a website's data as CSV:
//
//	GET /api/skopos/export?site=<trackingId>&period=30d&kind=events|sessions|summary
//	GET /api/skopos/export?site=<trackingId>&from=2026-11-01&to=2026-11-26&kind=sessions
//
// with the stats API's auth and periods (the website's time zone). kind
// events (the default) is one row per stored event of the period,
// sessions one per session started in it, summary one per local day with
// the stats KPIs (filters and segment= apply to summary only). An unknown
// kind is 400. An API key pinned to a segment exports the summary only
// (403 for the others).
// See the README for the columns.
const ExportPath = "/api/skopos/export"

func (p *plugin) mountExport(e *core.ServeEvent) {
	e.Router.GET(ExportPath, p.statsHandler(p.keyAuth, handleExport))
}

func handleExport(e *core.RequestEvent, site *core.Record, req stats.Request) error {
	kind, err := export.ParseKind(e.Request.URL.Query().Get("kind"))
	if err != nil {
		return e.BadRequestError(err.Error(), nil)
	}
	if kind != export.Summary && pinned(e) {
		// the events and sessions exports are not filtered
		return pinnedError(e)
	}
	if err := export.Serve(e.Response, e.Request, e.App, site, kind, req); err != nil {
		// the status line is sent: the client sees a cut-short file
		e.App.Logger().Error("skopos: export failed", "error", err)
	}
	return nil
}
