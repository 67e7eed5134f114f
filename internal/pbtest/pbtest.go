// Package pbtest starts a real PocketBase in-process for tests: the
// pocketbase Go module, a temporary data dir, real HTTP on a random loopback
// port. Tests talk to it exactly as production code talks to a remote
// PocketBase; there is no fake store anywhere in this project.
//
//	srv := pbtest.Start(t, pbtest.Options{})
//	// srv.URL, srv.Email, srv.Password, srv.App
//	srv.Stop()    // the port closes, the data dir stays
//	srv.Restart() // same data dir, same port
package pbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	_ "github.com/pocketbase/pocketbase/migrations" // PocketBase's system migrations
	"github.com/skopos-go/skopos/internal/dbconn"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/internal/superuser"
	"github.com/skopos-go/skopos/schema"
	"github.com/skopos-go/skopos/schema/collections"
)

// Default superuser credentials of a test server.
const (
	Email    = "admin@skopos.test"
	Password = "skopos-test-password"
)

// Options configure a test server. The zero value gives a PocketBase with the
// Skopos schema applied and the batch API enabled (the SDK-mode setup that
// `skopos schema apply` produces).
type Options struct {
	// Plain starts PocketBase without the Skopos schema and with its default
	// settings (batch API disabled), as a user's fresh PocketBase is.
	Plain bool
	// Setup runs after migrations on every start (also on Restart), before
	// the server accepts connections: register plugins and hooks here.
	Setup func(app core.App) error
	// Dir reuses a data dir; default a fresh t.TempDir().
	Dir string
	// Template, with its TemplateKey, prepares the data dir further
	// before it is kept as the template of every server of the test
	// binary started with that key (plugin.Migrate: the Skopos schema a
	// plugin would otherwise create at each start, seconds under the race
	// detector). It runs once per key, after the preparation above.
	Template    func(app core.App) error
	TemplateKey string
}

// Server is a running PocketBase.
type Server struct {
	URL      string // http://127.0.0.1:PORT
	Addr     string // 127.0.0.1:PORT
	Email    string
	Password string
	Dir      string

	t    testing.TB
	opts Options

	mu   sync.Mutex
	app  *core.BaseApp
	done chan error
}

// Start starts a PocketBase and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	s := &Server{Email: Email, Password: Password, Dir: opts.Dir, t: t, opts: opts}
	if err := s.start("127.0.0.1:0"); err != nil {
		t.Fatalf("pbtest: start: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// App returns the running PocketBase app (nil while stopped). Use it to read
// what was stored without going through the code under test.
func (s *Server) App() core.App {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return nil
	}
	return s.app
}

// Save creates a record of collection with fields (set as Record.Set
// does) in app, failing the test on error. A record of an auth
// collection given no password gets an unusable one: bcrypt under the
// race detector costs seconds, and tests that need to log in set theirs.
func Save(t testing.TB, app core.App, collection string, fields map[string]any) *core.Record {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(collection)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	for k, v := range fields {
		rec.Set(k, v)
	}
	if _, ok := fields["password"]; col.IsAuth() && !ok {
		rec.SetRaw("password", &core.PasswordFieldValue{Hash: "unusable"})
	}
	if err := app.Save(rec); err != nil {
		t.Fatalf("save %s: %v", collection, err)
	}
	return rec
}

// Stop stops the HTTP server and closes the database. The data dir is kept.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	app, done := s.app, s.done
	s.app, s.done = nil, nil
	s.mu.Unlock()
	if app == nil {
		return
	}
	ev := &core.TerminateEvent{App: app}
	_ = app.OnTerminate().Trigger(ev, func(e *core.TerminateEvent) error { return e.Next() })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.t.Errorf("pbtest: server did not stop within 10s")
	}
	_ = app.ResetBootstrapState()
}

// Restart starts PocketBase again on the same data dir and port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(s.Addr); err != nil {
		s.t.Fatalf("pbtest: restart: %v", err)
	}
}

func (s *Server) start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	for i := 0; err != nil && i < 50; i++ { // a restarted port may linger a moment
		time.Sleep(100 * time.Millisecond)
		ln, err = net.Listen("tcp", addr)
	}
	if err != nil {
		return err
	}
	fresh, err := seed(s.Dir, s.opts)
	if err != nil {
		ln.Close()
		return err
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: s.Dir, EncryptionEnv: "pbtest_unused_env", DBConnect: dbconn.Connect})
	if err := s.prepare(app, fresh); err != nil {
		ln.Close()
		_ = app.ResetBootstrapState()
		return err
	}

	ready := make(chan struct{})
	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		e.Listener = ln
		e.InstallerFunc = nil // no browser-opening installer in tests
		err := e.Next()
		close(ready)
		return err
	})
	done := make(chan error, 1)
	go func() {
		done <- apis.Serve(app, apis.ServeConfig{HttpAddr: ln.Addr().String()})
	}()
	select {
	case <-ready:
	case err := <-done:
		ln.Close()
		_ = app.ResetBootstrapState()
		return fmt.Errorf("serve: %w", err)
	}

	s.mu.Lock()
	s.app, s.done = app, done
	s.Addr = ln.Addr().String()
	s.URL = "http://" + s.Addr
	s.mu.Unlock()
	return waitHealthy(s.URL)
}

// prepare readies app's data dir; fresh says it is a copy of the template
// made for s's options, which has everything but Setup done.
func (s *Server) prepare(app *core.BaseApp, fresh bool) error {
	if err := app.Bootstrap(); err != nil {
		return err
	}
	if fresh {
		// nothing left to do (the checks alone cost a second or two
		// under the race detector)
		return s.setup(app)
	}
	if err := app.RunAllMigrations(); err != nil {
		return err
	}
	if err := cheapPasswords(app); err != nil {
		return err
	}
	if _, err := superuser.Ensure(app, s.Email, s.Password); err != nil {
		return err
	}
	if !s.opts.Plain {
		if _, err := collections.Apply(app); err != nil {
			return err
		}
		settings := app.Settings()
		if !settings.Batch.Enabled {
			settings.Batch.Enabled = true
			settings.Batch.MaxRequests = 1000
			// seconds; `skopos schema apply` sets 10, but a test server
			// shares a busy machine with the race detector: a batch that
			// outlives its timeout is answered 400 while PocketBase's
			// handler goroutine still runs, which the race detector
			// reports inside PocketBase (v0.36.8, apis/batch.go). The
			// writer's answer to real timeouts has tests of its own
			// (batchtimeout_test.go).
			settings.Batch.Timeout = 60
			if err := app.Save(settings); err != nil {
				return err
			}
		}
	}
	return s.setup(app)
}

func (s *Server) setup(app core.App) error {
	if s.opts.Setup != nil {
		return s.opts.Setup(app)
	}
	return nil
}

// testBcryptCost is bcrypt's minimum cost. PocketBase hashes passwords at
// cost 10, about a second per login under the race detector: tests that
// log in a dozen times (rate limits) spent most of their time in bcrypt.
// What the tests check (who may log in, how often) does not depend on the
// cost, which is a parameter of the hash stored with it.
const testBcryptCost = 4

// Shared-link passwords are bcrypt hashes too, at cost 10 in production;
// set before any test runs, so parallel tests never race on it.
func init() { share.PasswordCost = testBcryptCost }

// cheapPasswords sets the password fields of the superusers and users
// collections to testBcryptCost.
func cheapPasswords(app core.App) error {
	for _, name := range []string{core.CollectionNameSuperusers, "users"} {
		col, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			continue // a plain PocketBase without users
		}
		f, ok := col.Fields.GetByName("password").(*core.PasswordField)
		if !ok || f.Cost == testBcryptCost {
			continue
		}
		f.Cost = testBcryptCost
		if err := app.Save(col); err != nil {
			return fmt.Errorf("pbtest: password cost of %s: %w", name, err)
		}
	}
	return nil
}

// templates are data dirs already prepared (PocketBase's migrations, the
// superuser, for a non-plain server the Skopos schema and batch
// settings), made once per test binary and kept in memory: under the race
// detector preparing one costs about a second of CPU, and the suite
// starts a couple of hundred servers. A fresh data dir gets a copy; the
// preparation then finds nothing left to do (it still runs, so a
// Restart, or a Dir reused by a test, is prepared as before).
var templates struct {
	mu    sync.Mutex
	files map[templateKey]map[string][]byte // file name → bytes
}

type templateKey struct {
	plain bool
	key   string // Options.TemplateKey
}

// seed copies the template into dir when dir holds no database yet, and
// says whether it did.
func seed(dir string, opts Options) (bool, error) {
	if _, err := os.Stat(filepath.Join(dir, "data.db")); err == nil {
		return false, nil
	}
	if (opts.Template == nil) != (opts.TemplateKey == "") {
		return false, errors.New("pbtest: Template and TemplateKey go together")
	}
	k := templateKey{opts.Plain, opts.TemplateKey}
	templates.mu.Lock()
	defer templates.mu.Unlock()
	files, ok := templates.files[k]
	if !ok {
		var err error
		if files, err = makeTemplate(opts); err != nil {
			return false, fmt.Errorf("pbtest: template: %w", err)
		}
		if templates.files == nil {
			templates.files = map[templateKey]map[string][]byte{}
		}
		templates.files[k] = files
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return false, err
		}
	}
	return true, nil
}

func makeTemplate(opts Options) (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "pbtest-template-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir, EncryptionEnv: "pbtest_unused_env", DBConnect: dbconn.Connect})
	s := &Server{Email: Email, Password: Password, opts: Options{Plain: opts.Plain, Setup: opts.Template}}
	err = s.prepare(app, false)
	if rerr := app.ResetBootstrapState(); err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, e := range entries {
		// the databases (their WAL is checkpointed at close); PocketBase's
		// other entries (storage, backups) are empty directories
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".db") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	if len(files) == 0 {
		return nil, errors.New("no database files")
	}
	return files, nil
}

func waitHealthy(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return errors.Join(errors.New("pbtest: server not healthy"), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// AddWebsite saves a website with the given domain (also its name) and
// returns the record.
func (s *Server) AddWebsite(t testing.TB, domain string) *core.Record {
	t.Helper()
	app := s.App()
	col, err := app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		t.Fatal(err)
	}
	rec := core.NewRecord(col)
	rec.Set("name", domain)
	rec.Set("domain", domain)
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	return rec
}
