package main_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/proctest"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// The example runs as users run it: built, started as a process against a
// real PocketBase, stopped with SIGTERM.

func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nethttp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(proctest.FreeAddr(t))
	return port
}

func TestExampleAppEndToEnd(t *testing.T) {
	t.Parallel()
	bin := build(t)
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	col, _ := app.FindCollectionByNameOrId(schema.Websites)
	site := core.NewRecord(col)
	site.Set("name", "Example")
	site.Set("domain", "example.com")
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}

	ex := startExample(t, bin, "SKOPOS_SITE_ID="+site.GetString("trackingId"), "POCKETBASE_URL="+srv.URL,
		"POCKETBASE_ADMIN_EMAIL="+srv.Email, "POCKETBASE_ADMIN_PASSWORD="+srv.Password)
	base := ex.base

	do := func(method, path, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		browsertest.Headers(req.Header, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := do("POST", "/api/event", `{"type":"pageView","url":"https://example.com/signup"}`); got != 204 {
		t.Errorf("POST /api/event = %d, want 204", got)
	}
	if got := do("POST", "/auth/register", `{"id":"u-42","name":"Ada","email":"Ada@Example.com"}`); got != 201 {
		t.Errorf("POST /auth/register = %d, want 201", got)
	}
	if got := do("POST", "/auth/register", `{"id":"","email":"nope"}`); got != 400 {
		t.Errorf("bad register = %d, want 400", got)
	}

	// a shutdown that hung would time the test out; its events being
	// stored below is what it must do
	start := time.Now()
	ex.stop(t)
	t.Logf("shutdown took %v", time.Since(start))

	var n int
	_ = app.DB().Select("count(*)").From(schema.Events).Where(dbx.HashExp{"website": site.Id}).Row(&n)
	if n != 2 {
		t.Errorf("events = %d, want 2 (page view + user_signup), written at shutdown", n)
	}
	var v struct {
		UserID string `db:"userId"`
		Email  string `db:"email"`
		Name   string `db:"name"`
	}
	if err := app.DB().Select("userId", "email", "name").From(schema.Visitors).Where(dbx.HashExp{"website": site.Id}).One(&v); err != nil {
		t.Fatal(err)
	}
	if v.UserID != "u-42" || v.Email != "ada@example.com" || v.Name != "Ada" {
		t.Errorf("identified visitor = %+v", v)
	}
}

func TestExampleAppExitsOneWhenInitFails(t *testing.T) {
	t.Parallel()
	bin := build(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "SKOPOS_SITE_ID=", "POCKETBASE_URL=http://127.0.0.1:1",
		"POCKETBASE_ADMIN_EMAIL=a@b.co", "POCKETBASE_ADMIN_PASSWORD=x", "PORT="+freePort(t))
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v; want code 1", err)
	}
	if !strings.Contains(string(out), "SiteID is required") {
		t.Errorf("message %q does not say what is wrong", out)
	}
}

// example is a running example app and what it printed on stderr.
type example struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	out  strings.Builder
	done chan struct{}
}

func startExample(t *testing.T, bin string, env ...string) *example {
	t.Helper()
	port := freePort(t)
	ex := &example{cmd: exec.Command(bin), base: "http://127.0.0.1:" + port, done: make(chan struct{})}
	ex.cmd.Env = append(append(os.Environ(), env...), "PORT="+port)
	stderr, _ := ex.cmd.StderrPipe()
	if err := ex.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	go func() {
		defer close(ex.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			ex.mu.Lock()
			ex.out.WriteString(sc.Text() + "\n")
			ex.mu.Unlock()
			if strings.Contains(sc.Text(), "listening") {
				close(listening)
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(testwait.Timeout()):
		t.Fatal("example did not start")
	}
	return ex
}

// stop sends SIGTERM and returns what the app printed; it must exit 0.
func (ex *example) stop(t *testing.T) string {
	t.Helper()
	_ = ex.cmd.Process.Signal(syscall.SIGTERM)
	<-ex.done
	if err := ex.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; want 0", err)
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.out.String()
}

// TestExampleAppWithSpoolLosesNothingWhilePocketBaseIsDown: PocketBase
// goes down while the app runs with SKOPOS_SPOOL_DIR; the app accepts
// events, is stopped with SIGTERM (its Shutdown reports them kept in the
// spool) and started again once PocketBase is back: every event is stored,
// once, and the summaries equal the raw rows.
func TestExampleAppWithSpoolLosesNothingWhilePocketBaseIsDown(t *testing.T) {
	t.Parallel()
	bin := build(t)
	srv := pbtest.Start(t, pbtest.Options{})
	site := srv.AddWebsite(t, "example.com")
	env := []string{"SKOPOS_SITE_ID=" + site.GetString("trackingId"), "POCKETBASE_URL=" + srv.URL,
		"POCKETBASE_ADMIN_EMAIL=" + srv.Email, "POCKETBASE_ADMIN_PASSWORD=" + srv.Password,
		"SKOPOS_SPOOL_DIR=" + t.TempDir()}
	ex := startExample(t, bin, env...)
	srv.Stop()

	const n = 300
	for i := range n {
		body := fmt.Sprintf(`{"type":"pageView","url":"https://example.com/p/%d","customData":{"n":%d}}`, i%10, i)
		req, _ := http.NewRequest(http.MethodPost, ex.base+"/api/event", strings.NewReader(body))
		browsertest.Headers(req.Header, "")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i%30+1))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("event %d with PocketBase down = %d, want 204 (accepted into the spool)", i, resp.StatusCode)
		}
	}
	if out := ex.stop(t); !strings.Contains(out, "kept in the spool") || !strings.Contains(out, fmt.Sprintf("events=%d", n)) {
		t.Errorf("shutdown with PocketBase down did not report %d events kept in the spool:\n%s", n, out)
	}

	srv.Restart()
	again := startExample(t, bin, env...)
	app := srv.App()
	count := func() int {
		var c int
		_ = app.DB().Select("count(*)").From(schema.Events).Where(dbx.HashExp{"website": site.Id}).Row(&c)
		return c
	}
	testwait.For(t, testwait.Events(n), "the spooled events stored", func() bool { return count() >= n })
	again.stop(t)
	var dup int
	_ = app.DB().NewQuery(`SELECT COUNT(*) FROM (SELECT eventData FROM events GROUP BY eventData HAVING COUNT(*) > 1)`).Row(&dup)
	if c := count(); c != n || dup != 0 {
		t.Errorf("events = %d (%d stored more than once), want %d, each once", c, dup, n)
	}
	summarytest.Check(t, app.DB(), "after the outage")
}
