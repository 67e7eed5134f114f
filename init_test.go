package skopos_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// logBuffer is a bytes.Buffer that a Client's goroutines may log to while
// the test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestInitWarnsOnceThatTheBatchRouteSessionizesPerInstance: on a plain
// PocketBase (the batch route) Init logs one warning that each instance
// sessionizes on its own and what avoids it; through a Skopos server's
// ingest route it logs no such warning.
func TestInitWarnsOnceThatTheBatchRouteSessionizesPerInstance(t *testing.T) {
	t.Parallel()
	plainSrv := pbtest.Start(t, pbtest.Options{})
	skoposSrv := startSkoposServer(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		srv      *pbtest.Server
		route    string
		warnings int
	}{
		{"plain PocketBase", plainSrv, skopos.RouteBatch, 1},
		{"Skopos server", skoposSrv, skopos.RouteIngest, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := tc.srv.AddWebsite(t, "warn.example")
			var logs logBuffer
			opts := options(tc.srv, site.GetString("trackingId"))
			opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			c, err := skopos.Init(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			if got := c.Stats().Route; got != tc.route {
				t.Fatalf("Route = %q, want %q", got, tc.route)
			}
			var warned []string
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "level=WARN") && strings.Contains(line, "sessionizes on its own") {
					warned = append(warned, line)
				}
			}
			if len(warned) != tc.warnings {
				t.Fatalf("%d warnings that the instance sessionizes on its own, want %d; logs:\n%s", len(warned), tc.warnings, logs.String())
			}
			for _, w := range warned {
				for _, want := range []string{"batch API", "bounces", "durations", "exit pages", "one instance", "skopos serve", "ingest route", plainSrv.URL} {
					if !strings.Contains(w, want) {
						t.Errorf("the warning does not mention %q: %s", want, w)
					}
				}
			}
		})
	}
}
