package pbrest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/router"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
)

// itemsCollection is the superuser-only test collection made by setupItems.
const itemsCollection = "pbrest_items"

type item struct {
	ID   string  `json:"id"`
	Name string  `json:"name"`
	N    float64 `json:"n"`
}

// probe counts what the server saw: authentications and rejected requests.
type probe struct {
	passwordAuths atomic.Int64
	refreshes     atomic.Int64

	mu       sync.Mutex
	rejected []string // "401 GET /api/..." for every 401/403 answer
}

func (p *probe) rejections() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.rejected...)
}

// setup installs the counters and the test collection; it is idempotent
// (it runs again on Restart).
func (p *probe) setup(app core.App) error {
	app.OnRecordAuthWithPasswordRequest().BindFunc(func(e *core.RecordAuthWithPasswordRequestEvent) error {
		p.passwordAuths.Add(1)
		return e.Next()
	})
	app.OnRecordAuthRefreshRequest().BindFunc(func(e *core.RecordAuthRefreshRequestEvent) error {
		p.refreshes.Add(1)
		return e.Next()
	})
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.BindFunc(func(e *core.RequestEvent) error {
			err := e.Next()
			status := e.Status()
			if err != nil {
				status = router.ToApiError(err).Status
			}
			if status == 401 || status == 403 {
				p.mu.Lock()
				p.rejected = append(p.rejected, fmt.Sprintf("%d %s %s", status, e.Request.Method, e.Request.URL.Path))
				p.mu.Unlock()
			}
			return err
		})
		return se.Next()
	})
	return setupItems(app)
}

func setupItems(app core.App) error {
	if _, err := app.FindCollectionByNameOrId(itemsCollection); err == nil {
		return nil
	}
	col := core.NewBaseCollection(itemsCollection)
	col.Fields.Add(&core.TextField{Name: "name", Required: true, Max: 10000})
	col.Fields.Add(&core.NumberField{Name: "n"})
	return app.Save(col)
}

// start starts a PocketBase with the probe and the test collection; extra
// runs after them in Setup.
func start(t *testing.T, extra func(core.App) error) (*pbtest.Server, *probe) {
	t.Helper()
	p := &probe{}
	srv := pbtest.Start(t, pbtest.Options{Setup: func(app core.App) error {
		if err := p.setup(app); err != nil {
			return err
		}
		if extra != nil {
			return extra(app)
		}
		return nil
	}})
	return srv, p
}

func newClient(t *testing.T, srv *pbtest.Server) *pbrest.Client {
	t.Helper()
	c, err := pbrest.New(pbrest.Config{
		URL:      srv.URL,
		Email:    srv.Email,
		Password: srv.Password,
		Logger:   testLogger(t),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// testLogger logs to t when -v is given, otherwise discards.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b))
	return len(b), nil
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	t.Cleanup(cancel)
	return ctx
}

func createItem(t *testing.T, c *pbrest.Client, name string) item {
	t.Helper()
	var it item
	if err := c.CreateRecord(ctxT(t), itemsCollection, map[string]any{"name": name}, &it); err != nil {
		t.Fatalf("CreateRecord(%q): %v", name, err)
	}
	return it
}

func countItems(t *testing.T, app core.App) int {
	t.Helper()
	n, err := app.CountRecords(itemsCollection)
	if err != nil {
		t.Fatalf("CountRecords: %v", err)
	}
	return int(n)
}

func asError(t *testing.T, err error) *pbrest.Error {
	t.Helper()
	var e *pbrest.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *pbrest.Error", err, err)
	}
	return e
}
