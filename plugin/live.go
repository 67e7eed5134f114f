package plugin

import (
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/live"
	"github.com/skopos-go/skopos/internal/pipeline"
)

// LivePath streams a website's events as they are stored, as Server-Sent
// Events:
//
//	GET /api/skopos/live?site=<trackingId>
//
// with the stats API's auth (a superuser, or a users record that owns the
// website; 401 without a token, 404 for an unknown or not-owned site).
// The first event ("event: snapshot") holds the visitors active in the
// last 5 minutes, their pages and referrers; then every stored event of
// the site is one "data:" line of JSON (time, type, path, eventName,
// country, device, browser, referrer, visitor, session). A client that
// reads too slowly loses events and is told ("event: dropped" with their
// count); idle streams get a comment every 15 seconds. See the README.
const LivePath = "/api/skopos/live"

// startLive creates the server's live hub and closes it at terminate,
// after the intake has stored its last events.
func (p *plugin) startLive(app core.App) {
	p.live = live.NewHub(func() dbx.Builder { return app.DB() }, live.Options{Logger: app.Logger()})
}

func (p *plugin) mountLive(e *core.ServeEvent) {
	e.Router.GET(LivePath, func(re *core.RequestEvent) error {
		// the stats API's callers: an auth token, or an API key within
		// its sites
		site, err := p.keyAuth.site(re, time.Now())
		if err != nil {
			return err
		}
		p.live.Serve(re.Response, re.Request, re.App.DB(), site.Id, time.Now())
		return nil
	})
}

// publishLive hands the events of watched websites to the live hub.
func (p *plugin) publishLive(evs []pipeline.StoredEvent) {
	var out []live.Stored
	watched := map[string]bool{}
	for _, e := range evs {
		w, ok := watched[e.WebsiteID]
		if !ok {
			w = p.live.Watched(e.WebsiteID)
			watched[e.WebsiteID] = w
		}
		if !w {
			continue
		}
		out = append(out, live.Stored{WebsiteID: e.WebsiteID, SessionID: e.SessionID, Type: e.Kind.String(),
			Path: e.Path, Name: e.Name, Time: e.Time})
	}
	p.live.Publish(out)
}
