package plugin

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/skopos-go/skopos/internal/adopt"
	"github.com/skopos-go/skopos/internal/engine"
	"github.com/skopos-go/skopos/internal/geo"
	"github.com/skopos-go/skopos/internal/geo/countrydb"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/seorun"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/schema"
)

// EventPath is where the embedded server accepts browser events.
const EventPath = "/api/event"

// MetricsPath serves Prometheus metrics when Config.MetricsToken is set.
const MetricsPath = "/metrics"

// bearer requires "Authorization: Bearer <token>" (constant-time compare).
func bearer(token string, next http.Handler) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="skopos metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// intake is the embedded event endpoint: one pipeline for every website,
// writing through the in-process app.
type intake struct {
	app   core.App
	sites *pipeline.Sites
	in    *engine.Engine

	mu         sync.Mutex
	lastReload time.Time
}

// reloadEvery bounds how often a page host that matches no website makes
// the intake re-read the websites (sites added by another process, e.g.
// `skopos site add`, are seen within this time).
const reloadEvery = 5 * time.Second

func (p *plugin) startIntake(e *core.ServeEvent) error {
	in := &intake{app: e.App, sites: pipeline.NewSites()}
	if err := in.reload(); err != nil {
		return err
	}
	geoPath := p.cfg.GeoIPDatabase
	var bundled *geo.DB
	switch geoPath {
	case "off":
		geoPath = ""
	case "":
		db, err := countrydb.Open()
		if err != nil { // cannot happen with the embedded file; not worth failing over
			e.App.Logger().Error("skopos: the bundled country database does not open; countries are Unknown", "error", err)
		}
		bundled = db
	}
	mode, err := p.visitorMode(e.App)
	if err != nil {
		return err
	}
	visitors, err := visitorid.New(context.Background(), visitorid.Config{
		Mode: mode, Salt: p.cfg.VisitorSalt,
		Secrets: localstore.NewSecrets(e.App), Logger: e.App.Logger(),
	})
	if err != nil {
		return fmt.Errorf("skopos: %w", err)
	}
	p.visitors = visitors
	ctx, cancel := context.WithCancel(context.Background())
	p.stopVisitors = cancel
	go visitors.Run(ctx) // daily salts; returns at once in the other modes
	in.in, err = engine.New(engine.Config{
		Pipeline: pipeline.Config{
			Store: p.store(e.App), Sites: in.sites, Route: "local",
			// embedded events are queryable within about a second
			Batch: true, BatchInterval: time.Second, MaxBatchSize: 2000, QueueSize: p.cfg.QueueSize,
			// grouped JS errors reach the dashboard within half a minute
			JSErrorInterval: 30 * time.Second,
			Visitors:        visitors, Logger: e.App.Logger(), BotPatterns: p.bots,
			RateLimit: p.cfg.RateLimit, RateBurst: p.cfg.RateBurst,
			OnStored: p.onStored(),
		},
		IPs:           p.ips,
		GeoIPDatabase: geoPath,
		GeoDB:         bundled,
		SpoolDir:      p.spoolDir(e.App),
		SpoolMaxBytes: p.cfg.SpoolMaxBytes,
		SpoolSync:     p.sync,
		Pick:          in.pick,
	})
	if err != nil {
		return err
	}
	p.intake = in

	// PocketBase's CORS middleware would answer every preflight with "*",
	// and its activity logger would store every visitor's IP and user agent
	// in _logs whatever storeRawIp says: neither applies to this route.
	e.Router.Any(EventPath, apis.WrapStdHandler(in.in.Handler())).
		Unbind(apis.DefaultCorsMiddlewareId, apis.DefaultActivityLoggerMiddlewareId)
	if p.cfg.MetricsToken != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(in.in.Metrics())
		e.Router.GET(MetricsPath, apis.WrapStdHandler(bearer(p.cfg.MetricsToken, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))).
			Unbind(apis.DefaultCorsMiddlewareId)
	}
	return nil
}

// visitorMode is Config.VisitorIDs, except on a data dir adopted from
// Skopos Node that has no visitor salt yet, when none was chosen: there
// the Node SDK's unsalted ids continue (package adopt), so that its
// visitors are recognised when they come back.
func (p *plugin) visitorMode(app core.App) (visitorid.Mode, error) {
	mode := visitorid.Mode(p.cfg.VisitorIDs)
	if p.visitorIDsChosen {
		return mode, nil
	}
	adopted, err := adopt.Adopted(app.DB())
	if err != nil || !adopted {
		return mode, err
	}
	var salts int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM skopos_secrets WHERE name = {:s} OR name LIKE {:d}").
		Bind(dbx.Params{"s": visitorid.SaltName, "d": visitorid.DayPrefix + "%"}).Row(&salts); err != nil {
		return mode, fmt.Errorf("skopos: visitor salts: %w", err)
	}
	if salts > 0 {
		return mode, nil
	}
	fmt.Fprintf(p.cfg.Out, "visitor ids: %s (this data dir came from Skopos Node: its visitors are recognised when they return; "+
		"SKOPOS_VISITOR_IDS=salted or daily chooses otherwise)\n", visitorid.Compatible)
	return visitorid.Compatible, nil
}

// eventsFirst answers the event endpoint before PocketBase's router (see
// Config.EventsThroughRouter); every other request goes to next. The
// route registered on the router stays, for requests whose path the
// router would clean into EventPath and for servers built without it.
func eventsFirst(next, events http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != EventPath {
			next.ServeHTTP(w, r)
			return
		}
		defer func() {
			if rec := recover(); rec != nil {
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				log.Error("skopos: event endpoint panicked", "panic", rec, "stack", string(debug.Stack()))
				http.Error(w, `{"error":"internal error"}`, http.StatusInternalServerError)
			}
		}()
		events.ServeHTTP(w, r)
	})
}

// StoredEvent is an events row Skopos stored (see Config.OnStored).
type StoredEvent struct {
	ID         string         // the events record id
	Website    string         // the websites record id
	TrackingID string         // the website's trackingId
	Session    string         // the sessions record id
	Type       string         // "pageView" or "custom"
	Path       string         // the page path (server events: the request path)
	Name       string         // the custom event's name
	Data       map[string]any // its customData, when there was any
	Time       time.Time      // when the event was received (UTC)
}

// onStored is the pipeline's callback: the live hub, then Config.OnStored.
func (p *plugin) onStored() func([]pipeline.StoredEvent) {
	return func(evs []pipeline.StoredEvent) {
		p.publishLive(evs)
		if p.notify != nil {
			p.notify.Wake() // rules are evaluated on its own goroutine
		}
		if p.cfg.OnStored == nil {
			return
		}
		out := make([]StoredEvent, len(evs))
		for i, e := range evs {
			typ := "custom"
			if e.Kind == pipeline.PageView {
				typ = "pageView"
			}
			out[i] = StoredEvent{ID: e.ID, Website: e.WebsiteID, TrackingID: e.TrackingID, Session: e.SessionID,
				Type: typ, Path: e.Path, Name: e.Name, Data: e.Data, Time: e.Time}
		}
		p.cfg.OnStored(out)
	}
}

// spoolDir is the intake log's directory; empty when it is disabled.
func (p *plugin) spoolDir(app core.App) string {
	switch {
	case p.cfg.DisableSpool:
		return ""
	case p.cfg.SpoolDir != "":
		return p.cfg.SpoolDir
	}
	return filepath.Join(app.DataDir(), "skopos_spool")
}

// pick chooses the website by the page host: the longest website domain
// that the host equals or is a subdomain of.
func (in *intake) pick(host string) *pipeline.Site {
	if s := in.sites.ByHost(host); s != nil {
		return s
	}
	in.mu.Lock()
	due := time.Since(in.lastReload) >= reloadEvery
	in.mu.Unlock()
	if !due {
		return nil
	}
	if err := in.reload(); err != nil {
		in.app.Logger().Error("skopos: reload websites", "error", err)
		return nil
	}
	return in.sites.ByHost(host)
}

// reload reads every website (a small table) into the registry.
func (in *intake) reload() error {
	in.mu.Lock()
	in.lastReload = time.Now()
	in.mu.Unlock()
	recs, err := in.app.FindAllRecords(schema.Websites)
	if err != nil {
		return err
	}
	for _, r := range recs {
		in.put(r)
	}
	return nil
}

func (in *intake) put(r *core.Record) {
	if _, err := in.sites.Put(localstore.WebsiteFromRecord(r)); err != nil {
		in.app.Logger().Error("skopos: website has an unusable domain; its events are refused",
			"website", r.Id, "domain", r.GetString("domain"), "error", err)
	}
}

// bindWebsiteHooks keeps the registry in step with websites created,
// changed or deleted in this process (REST API, admin UI, Go code).
func (p *plugin) bindWebsiteHooks(app core.App) {
	app.OnRecordAfterCreateSuccess(schema.Websites).BindFunc(func(e *core.RecordEvent) error {
		if p.intake != nil {
			p.intake.put(e.Record)
		}
		// a new website is analyzed in the background (the seed's
		// promise); the job is stored, so that one queued by `skopos
		// site add` or before a restart runs when the server does
		var err error
		switch {
		case p.seo != nil:
			_, err = p.seo.Request(e.Record, "")
		case !p.cfg.SEO.Off:
			_, err = seorun.Enqueue(e.App, e.Record, "", time.Now(), seorun.DefaultMinInterval)
		}
		if err != nil {
			e.App.Logger().Error("skopos: queue the SEO analysis of a new website", "site", e.Record.GetString("domain"), "error", err)
		}
		return e.Next()
	})
	app.OnRecordAfterUpdateSuccess(schema.Websites).BindFunc(func(e *core.RecordEvent) error {
		if p.intake != nil {
			p.intake.put(e.Record)
		}
		return e.Next()
	})
	app.OnRecordAfterDeleteSuccess(schema.Websites).BindFunc(func(e *core.RecordEvent) error {
		if p.intake != nil {
			p.intake.sites.Remove(e.Record.Id)
		}
		if p.events != nil {
			// after the intake dropped the site: nothing of it reaches
			// the outbox any more
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := p.events.DeleteWebsite(ctx, e.Record.Id); err != nil {
				e.App.Logger().Error("skopos: a deleted website's events stay in ClickHouse (run the deletion again with "+
					"ALTER TABLE … DELETE WHERE website = its id)", "website", e.Record.Id, "error", err)
			}
		}
		return e.Next()
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		if p.stopVisitors != nil {
			p.stopVisitors()
		}
		if p.intake != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err := p.intake.in.Close(ctx)
			cancel()
			var ue *pipeline.UnwrittenError
			switch {
			case errors.As(err, &ue) && ue.Spooled:
				e.App.Logger().Info("skopos: events kept in the intake log for the next start", "events", ue.Events)
			case err != nil:
				e.App.Logger().Error("skopos: events lost at shutdown", "error", err)
			}
		}
		p.stopClickHouse(e.App) // after the intake: its last write is in the outbox
		if p.live != nil {
			p.live.Close() // after the intake: its last events were published
		}
		if p.monitor != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := p.monitor.Close(ctx); err != nil {
				e.App.Logger().Error("skopos: uptime checks still running at shutdown", "error", err)
			}
			cancel()
		}
		if p.notify != nil { // after the monitor, which pushes to it
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := p.notify.Close(ctx); err != nil {
				e.App.Logger().Error("skopos: notifications still being sent at shutdown", "error", err)
			}
			cancel()
		}
		if p.seo != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := p.seo.Close(ctx); err != nil {
				e.App.Logger().Error("skopos: SEO analyses still running at shutdown", "error", err)
			}
			cancel()
		}
		return e.Next()
	})
}
