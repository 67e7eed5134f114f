// Package chtest runs a real ClickHouse server for tests: one
// clickhouse-server process per test binary, on free loopback ports, with
// a data directory of its own, and a fresh database for every test.
//
//	var server chtest.Server
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		server.Close()
//		os.Exit(code)
//	}
//
//	func TestSomething(t *testing.T) {
//		db := server.Database(t) // a *clickhouse.Client on a new database
//		...
//	}
//
// Tests skip with a message where clickhouse-server is not installed
// (apt-get install clickhouse-server; .ci/run installs it).
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/testwait"
)

// Cluster names a cluster of the server's configuration whose one shard
// is the server itself, so that Distributed tables can be tried on it
// (ON CLUSTER and Replicated tables cannot: they need ZooKeeper).
const Cluster = "chtest"

// Server is one clickhouse-server shared by a test binary. The zero value
// is ready: the server starts with the first Database. Call Close from
// TestMain; should the test binary die first, the server gets SIGKILL
// with it (Linux's parent-death signal) and only its temp dir is left.
type Server struct {
	once    sync.Once
	url     string
	skip    string // why ClickHouse tests skip (no server binary)
	err     error
	cmd     *exec.Cmd
	exited  chan struct{}
	dir     string
	started time.Duration // how long the start took, until /ping answered
}

// Database returns a client on a database of its own for t (test_<random>),
// dropped when t ends. It starts the server on first use and skips t
// when clickhouse-server is not installed.
func (s *Server) Database(t testing.TB) *clickhouse.Client {
	t.Helper()
	url := s.URL(t)
	b := make([]byte, 8)
	rand.Read(b)
	name := "test_" + hex.EncodeToString(b)
	admin := clickhouse.New(clickhouse.Options{URL: url})
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	if err := admin.Exec(ctx, "CREATE DATABASE ?", clickhouse.Ident(name)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
		defer cancel()
		if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS ?", clickhouse.Ident(name)); err != nil {
			t.Error(err)
		}
	})
	return clickhouse.New(clickhouse.Options{URL: url, Database: name})
}

// StoreDatabase is Database with the events store's tables in it
// (clickhouse.Schema).
func (s *Server) StoreDatabase(t testing.TB) *clickhouse.Client {
	t.Helper()
	db := s.Database(t)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	for _, stmt := range clickhouse.Schema(clickhouse.SchemaOptions{Database: db.Database()}) {
		if err := db.Exec(ctx, stmt); err != nil {
			t.Fatalf("%v\n%s", err, stmt)
		}
	}
	return db
}

// URL returns the server's HTTP interface, starting the server like
// Database.
func (s *Server) URL(t testing.TB) string {
	t.Helper()
	s.once.Do(s.start)
	if s.skip != "" {
		t.Skip(s.skip)
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.url
}

// StartupTime is how long the server took to answer its first ping (0
// before it started).
func (s *Server) StartupTime() time.Duration { return s.started }

// Close stops the server and removes its data directory. It kills the
// server: its data goes with the directory, and a graceful stop waits for
// the clients' idle keep-alive connections (10 s measured).
func (s *Server) Close() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// binary returns the path of clickhouse-server, "" when there is none.
// Debian installs it in /usr/sbin, which a user's PATH may lack.
func binary() string {
	for _, name := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("clickhouse"); err == nil {
		return p // current releases: one binary, "clickhouse server"
	}
	return ""
}

// maxAttempts bounds the starts tried: a free port found can be taken by
// another process before the server listens on it.
const maxAttempts = 3

func (s *Server) start() {
	bin := binary()
	if bin == "" {
		s.skip = "clickhouse-server not installed: apt-get install clickhouse-server"
		return
	}
	dir, err := os.MkdirTemp("", "skopos-clickhouse")
	if err != nil {
		s.err = err
		return
	}
	s.dir = dir
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if s.err = s.run(bin, dir); s.err == nil {
			return
		}
	}
}

// run starts the server in dir on fresh ports and waits until it answers.
func (s *Server) run(bin, dir string) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	cfg := filepath.Join(dir, "config.xml")
	if err := writeConfig(dir, ports[0], ports[1], ports[2]); err != nil {
		return err
	}
	args := []string{"--config-file=" + cfg}
	if filepath.Base(bin) == "clickhouse" {
		args = append([]string{"server"}, args...)
	}
	log, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	// current releases fork a watchdog parent unless told not to: the
	// process started must be the server, so that signals reach it
	cmd.Env = append(os.Environ(), "CLICKHOUSE_WATCHDOG_ENABLE=0")
	cmd.SysProcAttr = sysProcAttr()
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	url := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	if err := waitReady(url, exited); err != nil {
		cmd.Process.Kill()
		<-exited
		out, _ := os.ReadFile(filepath.Join(dir, "server.err.log"))
		return fmt.Errorf("clickhouse-server: %w\n%s", err, out)
	}
	s.cmd, s.exited, s.url, s.started = cmd, exited, url, time.Since(begin)
	return nil
}

// waitReady polls /ping until the server answers, exits, or the deadline
// passes.
func waitReady(url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(testwait.Timeout())
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			return errors.New("exited before it answered /ping")
		default:
		}
		if resp, err := client.Get(url + "/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to /ping within %v", testwait.Timeout())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePorts returns n loopback ports free at the moment, all different.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close() // held until all are chosen, so they differ
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
