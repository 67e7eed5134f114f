package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/skopos-go/skopos/internal/engine"
	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"go.uber.org/goleak"
)

// TestNewRefusesWhatItCannotOpenAndLeavesNothingRunning: a GeoIP path that
// is not a database is ErrGeoIP, a pipeline that cannot start closes the
// database New opened, and neither leaves a goroutine behind. It runs
// alone (no t.Parallel): the goroutine check sees the whole process.
func TestNewRefusesWhatItCannotOpenAndLeavesNothingRunning(t *testing.T) {
	srv := pbtest.Start(t, pbtest.Options{})
	notADB := filepath.Join(t.TempDir(), "not.mmdb")
	if err := os.WriteFile(notADB, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	realDB := geotest.Write(t, "GeoLite2-City", []geotest.Network{{CIDR: "203.0.113.0/24", Value: geotest.City("US", "CA")}})
	st := localstore.New(srv.App())
	tests := []struct {
		name    string
		cfg     engine.Config
		wantErr error // nil: New succeeds
	}{
		{"missing GeoIP file", engine.Config{GeoIPDatabase: filepath.Join(t.TempDir(), "missing.mmdb"),
			Pipeline: pipeline.Config{Store: st, Sites: pipeline.NewSites()}}, engine.ErrGeoIP},
		{"GeoIP file that is not a database", engine.Config{GeoIPDatabase: notADB,
			Pipeline: pipeline.Config{Store: st, Sites: pipeline.NewSites()}}, engine.ErrGeoIP},
		{"pipeline without a store, GeoIP opened first", engine.Config{GeoIPDatabase: realDB,
			Pipeline: pipeline.Config{Sites: pipeline.NewSites()}}, errAny},
		{"everything valid", engine.Config{GeoIPDatabase: realDB,
			Pipeline: pipeline.Config{Store: st, Sites: pipeline.NewSites()}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			eng, err := engine.New(tc.cfg)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("New = %v", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("New = %v; want %v", err, tc.wantErr)
			}
			if eng != nil {
				if eng.Handler() == nil || eng.Metrics() == nil || eng.IPs() == nil {
					t.Error("a running Engine must have its handler, metrics and client-IP resolver")
				}
				if err := eng.Close(context.Background()); err != nil {
					t.Errorf("Close = %v", err)
				}
				if err := eng.Close(context.Background()); err != nil {
					t.Errorf("second Close = %v", err)
				}
			}
			goleak.VerifyNone(t, before)
		})
	}
}

var errAny = errors.New("any error")
