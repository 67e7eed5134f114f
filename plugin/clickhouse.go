package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/erase"
	"github.com/skopos-go/skopos/internal/store"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/internal/store/localstore"
)

// chStartTimeout bounds the start-up's talk with ClickHouse (its version
// and the tables).
const chStartTimeout = 30 * time.Second

// chShipEvery is how often the shipper looks at the outbox besides after
// each write.
const chShipEvery = time.Second

// eventsStoreKey is where the app's Store() holds the ClickHouse events
// store, so that the exported jobs (SendReports, RunRetention), which
// get only the app, read where the server writes.
const eventsStoreKey = "skopos.clickhouse"

// eventsStoreOf is the app's ClickHouse events store, nil on SQLite.
func eventsStoreOf(app core.App) *chstore.Store {
	s, _ := app.Store().Get(eventsStoreKey).(*chstore.Store)
	return s
}

// clickHouseOf is the client of the app's ClickHouse events store, nil on
// SQLite: what a stats.Request's ClickHouse gets.
func clickHouseOf(app core.App) *clickhouse.Client {
	if s := eventsStoreOf(app); s != nil {
		return s.ClickHouse()
	}
	return nil
}

// connectClickHouse connects to Config.ClickHouseURL and creates the
// tables (IF NOT EXISTS). Nothing without a URL.
func (p *plugin) connectClickHouse(ctx context.Context, app core.App) error {
	if p.cfg.ClickHouseURL == "" || p.events != nil {
		return nil
	}
	o, err := clickhouse.ParseURL(p.cfg.ClickHouseURL)
	if err != nil {
		return fmt.Errorf("skopos: ClickHouse URL: %w", err)
	}
	ch := clickhouse.New(o)
	ctx, cancel := context.WithTimeout(ctx, chStartTimeout)
	defer cancel()
	v, err := ch.ServerVersion(ctx)
	if err != nil {
		return fmt.Errorf("skopos: the ClickHouse events store at %s: %w", o.URL, err)
	}
	for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: o.Database, Cluster: p.cfg.ClickHouseCluster}) {
		if err := ch.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("skopos: the ClickHouse events store's tables: %w", err)
		}
	}
	p.ch = ch
	p.events = chstore.New(app, localstore.New(app), ch, chstore.Options{Logger: app.Logger()})
	app.Store().Set(eventsStoreKey, p.events)
	app.Logger().Info("skopos: events are stored in ClickHouse", "version", v, "url", o.URL, "database", o.Database)
	return nil
}

// startClickHouse connects to the events store and starts its shipper,
// which runs until the app terminates (stopClickHouse). The server does
// not start when ClickHouse cannot be reached now: a store chosen but
// absent would show every report empty. Later outages are the outbox's
// to bridge.
func (p *plugin) startClickHouse(app core.App) error {
	if err := p.connectClickHouse(context.Background(), app); err != nil || p.events == nil {
		return err
	}
	// before the intake writes: an erasure's unfinished deletion
	// must not meet a returning visitor's new session of the same id
	ctx, cancel := context.WithTimeout(context.Background(), chStartTimeout)
	defer cancel()
	if err := erase.FinishClickHouse(ctx, app, p.events); err != nil {
		app.Logger().Error("skopos: an erasure's deletion in ClickHouse is still unfinished (the next erasure retries it)", "error", err)
	}
	run, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.events.Run(run, chShipEvery)
	}()
	p.stopShipping = func() {
		stop()
		<-done
	}
	return nil
}

// store is the pipeline's events store: ClickHouse when configured,
// otherwise PocketBase's SQLite.
func (p *plugin) store(app core.App) store.Store {
	if p.events != nil {
		return p.events
	}
	return localstore.New(app)
}

// stopClickHouse ends the shipper after the intake's last write and ships
// what the outbox holds, within a few seconds: what is left there goes at
// the next start.
func (p *plugin) stopClickHouse(app core.App) {
	if p.events == nil {
		return
	}
	p.stopShipping()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.events.Ship(ctx); err != nil {
		app.Logger().Warn("skopos: events left in the ClickHouse outbox for the next start", "error", err)
	}
}
