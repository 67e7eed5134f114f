// Package proctest runs the project's binaries as users run them, for
// tests: built once per test binary, started as processes, their exit
// codes and output read.
package proctest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles each package (path relative to the calling test's
// directory, e.g. "." or "../skopos") into a fresh temporary dir and
// returns the binaries by package plus a cleanup. Call it from TestMain.
func Build(pkgs ...string) (bins map[string]string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "skopos-bin")
	if err != nil {
		return nil, nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bins = map[string]string{}
	for i, pkg := range pkgs {
		out := filepath.Join(dir, fmt.Sprintf("bin%d-%s", i, filepath.Base(filepath.Clean(pkg))))
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("build %s: %v\n%s", pkg, err, msg)
		}
		bins[pkg] = out
	}
	return bins, cleanup, nil
}

// FreeAddr returns a loopback address with a port free at the moment.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Run runs bin with args and returns its output and exit code.
func Run(t testing.TB, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return RunIn(t, "", bin, args...)
}

// RunIn is Run with the working directory dir ("" for the test's).
func RunIn(t testing.TB, dir, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// Server is a running `skopos serve`.
type Server struct {
	URL string // http://127.0.0.1:PORT

	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	more chan struct{} // closed (and replaced) at each line of output
	done chan struct{}
}

// Serve starts `bin serve` on a free loopback port with data dir dir (env
// adds to the environment) and waits until the server has started; it is
// stopped when the test ends.
func Serve(t testing.TB, bin, dir string, env ...string) *Server {
	t.Helper()
	s := Start(t, bin, dir, env...)
	s.WaitOutput(t, "Server started at", 90*time.Second)
	return s
}

// Start starts `bin serve` as Serve does, without waiting for anything.
func Start(t testing.TB, bin, dir string, env ...string) *Server {
	t.Helper()
	addr := FreeAddr(t)
	s := &Server{URL: "http://" + addr, done: make(chan struct{}), more: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--http", addr, "--dir", dir)
	s.cmd.Env = append(os.Environ(), env...)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.mu.Lock()
			s.out.WriteString(sc.Text() + "\n")
			close(s.more)
			s.more = make(chan struct{})
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

// WaitOutput waits until the output contains substr; the test fails when
// the process exits first or within passes.
func (s *Server) WaitOutput(t testing.TB, substr string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		s.mu.Lock()
		found, more := strings.Contains(s.out.String(), substr), s.more
		s.mu.Unlock()
		if found {
			return
		}
		select {
		case <-more:
		case <-s.done:
			if !strings.Contains(s.Output(), substr) {
				t.Fatalf("serve exited before printing %q:\n%s", substr, s.Output())
			}
			return
		case <-deadline:
			t.Fatalf("serve did not print %q within %s:\n%s", substr, within, s.Output())
		}
	}
}

// Output is everything the server printed so far.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Line returns the rest of the first output line starting with prefix.
func (s *Server) Line(t testing.TB, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(s.Output(), "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(rest)
		}
	}
	t.Fatalf("no line %q in output:\n%s", prefix, s.Output())
	return ""
}

// Kill sends SIGKILL (a crash: no shutdown code runs) and waits for the
// process to be gone.
func (s *Server) Kill() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	_ = s.cmd.Wait()
}

// Stop sends SIGTERM and waits for the process to exit; stopping twice
// does nothing.
func (s *Server) Stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	_ = s.cmd.Wait()
}
