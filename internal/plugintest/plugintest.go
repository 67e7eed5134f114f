// Package plugintest starts a real PocketBase with the Skopos plugin for
// tests, from a data dir template that already has the Skopos schema:
// creating it at every start (as a first `skopos serve` does) costs two
// to four seconds of CPU under the race detector, and the dashboard's and
// the plugin's tests start well over a hundred servers.
package plugintest

import (
	"io"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/plugin"
)

// Start starts PocketBase (pbtest, Plain) with plugin.Register(app, nil,
// cfg) and then setup, if any, on every start. cfg.Out defaults to
// io.Discard. The schema comes from the template (plugin.Migrate with the
// zero Config); the migrations that depend on cfg (AuthRateLimit, Demo)
// run at the server's start, as they would on an upgrade.
func Start(t testing.TB, cfg plugin.Config, setup ...func(app core.App) error) *pbtest.Server {
	t.Helper()
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	return pbtest.Start(t, pbtest.Options{
		Plain:       true,
		TemplateKey: "skopos-plugin",
		Template:    func(app core.App) error { return plugin.Migrate(app, plugin.Config{Out: io.Discard}) },
		Setup: func(app core.App) error {
			for _, f := range setup {
				if err := f(app); err != nil {
					return err
				}
			}
			return plugin.Register(app, nil, cfg)
		},
	})
}
