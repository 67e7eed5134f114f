package plugin

import (
	"crypto/sha256"
	"encoding/hex"
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
// count); idle streams get a comment every 15 seconds. A caller (an auth
// record, an API key, a shared link) holds at most live.MaxCallerStreams
// streams at once, and the server live.MaxStreams in all (its dashboard's
// streams included): beyond, 429. See the README.
const LivePath = "/api/skopos/live"

// startLive creates the server's live hub and closes it at terminate,
// after the intake has stored its last events.
func (p *plugin) startLive(app core.App) {
	p.live = live.NewHub(func() dbx.Builder { return app.DB() }, live.Options{Logger: app.Logger(), ClickHouse: p.ch})
}

func (p *plugin) mountLive(e *core.ServeEvent) {
	e.Router.GET(LivePath, func(re *core.RequestEvent) error {
		// the stats API's callers: an auth token, or an API key within
		// its sites
		site, err := p.keyAuth.site(re, time.Now())
		if err != nil {
			return err
		}
		release, ok := p.live.Admit(re.Response, liveCaller(re))
		if !ok {
			return nil
		}
		defer release()
		p.live.Serve(re.Response, re.Request, re.App.DB(), site.Id, time.Now())
		return nil
	})
}

// liveCaller is whom a live stream counts against (live.Hub.Admit): the
// auth record, else the credential (an API key or a shared link's token),
// by its hash.
func liveCaller(re *core.RequestEvent) string {
	if re.Auth != nil {
		return "auth:" + re.Auth.Collection().Id + "/" + re.Auth.Id
	}
	q := re.Request.URL.Query()
	sum := sha256.Sum256([]byte(re.Request.Header.Get("Authorization") + "\x00" + q.Get("share") + "\x00" + re.Request.Header.Get(ShareHeader)))
	return "credential:" + hex.EncodeToString(sum[:])
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
