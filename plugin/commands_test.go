package plugin_test

import (
	"errors"
	"io"
	"testing"

	"github.com/pocketbase/pocketbase"
	"github.com/skopos-go/skopos/plugin"
)

// A failing Skopos command does not exit the process: app.Execute (and
// so app.Start) returns it as an *plugin.ExitError with its exit code,
// after PocketBase's cleanups.
func TestFailingCommandReturnsExitErrorFromExecute(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		code int
	}{
		{"failure", []string{"site", "add"}, 1},
		{"public suffix", []string{"site", "add", "--domain", "co.uk"}, 1},
		{"missing subcommand", []string{"site"}, 1},
		{"unknown flag", []string{"site", "add", "--bogus"}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDataDir: t.TempDir()})
			if err := plugin.Register(app, app.RootCmd, plugin.Config{Out: io.Discard}); err != nil {
				t.Fatal(err)
			}
			app.RootCmd.SetArgs(tt.args)
			err := app.Execute()
			var failed *plugin.ExitError
			if !errors.As(err, &failed) || failed.Code != tt.code {
				t.Fatalf("Execute() = %v, want an *ExitError with code %d", err, tt.code)
			}
		})
	}
}
