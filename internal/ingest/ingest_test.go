package ingest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/skopos-go/skopos/internal/geo/geotest"
	"github.com/skopos-go/skopos/internal/ingest"
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
		cfg     ingest.Config
		wantErr error // nil: New succeeds
	}{
		{"missing GeoIP file", ingest.Config{GeoIPDatabase: filepath.Join(t.TempDir(), "missing.mmdb"),
			Pipeline: pipeline.Config{Store: st, Sites: pipeline.NewSites()}}, ingest.ErrGeoIP},
		{"GeoIP file that is not a database", ingest.Config{GeoIPDatabase: notADB,
			Pipeline: pipeline.Config{Store: st, Sites: pipeline.NewSites()}}, ingest.ErrGeoIP},
		{"pipeline without a store, GeoIP opened first", ingest.Config{GeoIPDatabase: realDB,
			Pipeline: pipeline.Config{Sites: pipeline.NewSites()}}, errAny},
		{"everything valid", ingest.Config{GeoIPDatabase: realDB,
			Pipeline: pipeline.Config{Store: st, Sites: pipeline.NewSites()}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			in, err := ingest.New(tc.cfg)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("New = %v", err)
			case tc.wantErr == errAny && err == nil, tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("New = %v; want %v", err, tc.wantErr)
			}
			if in != nil {
				if in.Handler() == nil || in.Metrics() == nil || in.IPs() == nil {
					t.Error("a running Ingest must have its handler, metrics and client-IP resolver")
				}
				if err := in.Close(context.Background()); err != nil {
					t.Errorf("Close = %v", err)
				}
				if err := in.Close(context.Background()); err != nil {
					t.Errorf("second Close = %v", err)
				}
			}
			goleak.VerifyNone(t, before)
		})
	}
}

var errAny = errors.New("any error")
