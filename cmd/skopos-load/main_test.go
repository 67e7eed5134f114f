package main

// These tests run the real binaries: `skopos serve` with its embedded
// PocketBase on a free loopback port, and skopos-load against it.

import (
	"bufio"
	"context"
	"encoding/json"
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

	"github.com/skopos-go/skopos/pbrest"
)

var skoposBin, loadBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "skopos-load-bin")
	if err != nil {
		panic(err)
	}
	skoposBin = filepath.Join(dir, "skopos")
	loadBin = filepath.Join(dir, "skopos-load")
	for out, pkg := range map[string]string{skoposBin: "../skopos", loadBin: "."} {
		if msg, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, msg)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	adminEmail    = "load@skopos.test"
	adminPassword = "load-password-123"
)

type server struct {
	cmd        *exec.Cmd
	url        string
	trackingID string
	mu         sync.Mutex
	out        strings.Builder
	done       chan struct{}
}

// serve starts `skopos serve` on a fresh data dir and waits until it has
// started and printed the demo website's trackingId.
func serve(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	s := &server{url: "http://" + addr, done: make(chan struct{})}
	s.cmd = exec.Command(skoposBin, "serve", "--http", addr, "--dir", t.TempDir())
	s.cmd.Env = append(os.Environ(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stdout)
		started := false
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.out.WriteString(line + "\n")
			if id, ok := strings.CutPrefix(line, "demo website trackingId: "); ok {
				s.trackingID = strings.TrimSpace(id)
			}
			if !started && strings.Contains(line, "Server started at") {
				started = true
				close(ready)
			}
			s.mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-s.done:
		t.Fatalf("serve exited early:\n%s", s.output())
	case <-time.After(90 * time.Second):
		t.Fatalf("serve did not start:\n%s", s.output())
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		<-s.done
		_ = s.cmd.Wait()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trackingID == "" {
		t.Fatalf("no trackingId line:\n%s", s.out.String())
	}
	return s
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// load runs skopos-load against s with args added to -url (and, when pb
// is true, the verification flags).
func (s *server) load(t *testing.T, pb bool, args ...string) (res result, stderr string) {
	t.Helper()
	all := append([]string{"-url", s.url + "/api/event"}, args...)
	if pb {
		all = append(all, "-pb-url", s.url, "-pb-email", adminEmail, "-pb-password", adminPassword, "-site", s.trackingID)
	}
	stdout, stderr, code := runLoad(t, all...)
	if code != 0 {
		t.Fatalf("skopos-load %v: exit %d\nstdout:\n%s\nstderr:\n%s\nserver:\n%s", all, code, stdout, stderr, s.output())
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := lines[len(lines)-1]
	dec := json.NewDecoder(strings.NewReader(last))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("final line %q: %v", last, err)
	}
	for _, k := range []string{"sent", "accepted", "rejected", "stored", "lost", "accept_per_s", "stored_per_s", "p50_ms", "p99_ms"} {
		if !strings.Contains(last, `"`+k+`":`) {
			t.Errorf("final line lacks %q: %s", k, last)
		}
	}
	t.Logf("final line: %s", last)
	return res, stderr
}

func runLoad(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(loadBin, args...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func (s *server) client(t *testing.T) *pbrest.Client {
	t.Helper()
	c, err := pbrest.New(pbrest.Config{URL: s.url, Email: adminEmail, Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// count counts the records of collection matching filter.
func count(t *testing.T, pb *pbrest.Client, collection, filter string) int {
	t.Helper()
	page, err := pb.ListRecords(context.Background(), collection, pbrest.ListQuery{Filter: filter, PerPage: 1, Fields: "id"}, nil)
	if err != nil {
		t.Fatalf("count %s: %v", collection, err)
	}
	return page.TotalItems
}

func TestLoadAgainstSkoposServeStoresEveryAcceptedEvent(t *testing.T) {
	t.Parallel()
	s := serve(t)
	res, stderr := s.load(t, true, "-events", "600", "-visitors", "60", "-concurrency", "8", "-seed", "7")

	if res.Sent != 600 || res.Accepted != 600 || res.Rejected != 0 || res.Errors != 0 {
		t.Errorf("sent/accepted/rejected/errors = %d/%d/%d/%d, want 600/600/0/0\nstderr:\n%s",
			res.Sent, res.Accepted, res.Rejected, res.Errors, stderr)
	}
	if res.Stored != 600 || res.Lost != 0 {
		t.Errorf("stored/lost = %d/%d, want 600/0\nstderr:\n%s\nserver:\n%s", res.Stored, res.Lost, stderr, s.output())
	}
	if res.AcceptPerS <= 0 || res.StoredPerS <= 0 || res.P50ms <= 0 || res.P99ms < res.P50ms {
		t.Errorf("rates/latencies implausible: %+v", res)
	}
	if !strings.Contains(stderr, "sent 600  accepted 600") {
		t.Errorf("no final progress line on stderr:\n%s", stderr)
	}

	// What was stored is what the generator produced: 60 distinct visitors
	// (the X-Forwarded-For addresses were believed), the custom events.
	pb := s.client(t)
	var site website
	if err := pb.FirstRecord(context.Background(), "websites",
		pbrest.Filter("trackingId = {:t}", pbrest.Params{"t": s.trackingID}), &site); err != nil {
		t.Fatal(err)
	}
	siteFilter := pbrest.Filter("website = {:w}", pbrest.Params{"w": site.ID})
	if n := count(t, pb, "visitors", siteFilter); n != 60 {
		t.Errorf("visitors = %d, want 60 (one per generated IP and user agent)", n)
	}
	tr := traffic{visitors: makeVisitors(60, 7), origin: "http://localhost", seed: 7}
	wantCustom := 0
	for j := range 600 {
		if _, _, body := tr.event(j); strings.Contains(string(body), `"type":"custom"`) {
			wantCustom++
		}
	}
	customFilter := pbrest.Filter("website = {:w} && type = 'custom'", pbrest.Params{"w": site.ID})
	if n := count(t, pb, "events", customFilter); n != wantCustom {
		t.Errorf("custom events = %d, want %d", n, wantCustom)
	}
}

// TestBrowserRequestsPassBotFilter proves end to end that the tool's user
// agents and headers pass the server's bot filter: a filtered event is
// answered 204 like an accepted one but never stored.
func TestBrowserRequestsPassBotFilterAndVerificationFailuresExit1(t *testing.T) {
	t.Parallel()
	s := serve(t)
	// Every visitor sends one event, so every user agent is used many times.
	res, stderr := s.load(t, true, "-events", "200", "-visitors", "200", "-concurrency", "4", "-seed", "3")
	if res.Accepted != 200 || res.Stored != 200 || res.Lost != 0 {
		t.Errorf("accepted/stored/lost = %d/%d/%d, want 200/200/0\nstderr:\n%s\nserver:\n%s",
			res.Accepted, res.Stored, res.Lost, stderr, s.output())
	}

	// Without verification stored and lost are -1.
	res, _ = s.load(t, false, "-events", "20", "-visitors", "5", "-concurrency", "2")
	if res.Accepted != 20 || res.Stored != -1 || res.Lost != -1 || res.StoredPerS != 0 {
		t.Errorf("without verification: %+v", res)
	}

	// Non-2xx answers are rejected, and stderr says why.
	res, stderr = s.load(t, false, "-url", s.url+"/api/no-such-route", "-events", "5", "-concurrency", "1")
	if res.Sent != 5 || res.Rejected != 5 || res.Errors != 0 || !strings.Contains(stderr, "rejected: 404 Not Found ×5") {
		t.Errorf("wrong route: %+v\nstderr:\n%s", res, stderr)
	}

	// Verification that cannot start: exit 1, one line on stderr, nothing sent.
	base := []string{"-url", s.url + "/api/event", "-events", "5", "-pb-url", s.url}
	for name, args := range map[string][]string{
		"wrong password": {"-pb-email", adminEmail, "-pb-password", "wrong-password-1", "-site", s.trackingID},
		"unknown site":   {"-pb-email", adminEmail, "-pb-password", adminPassword, "-site", "nosuchsite12345"},
		"foreign domain": {"-pb-email", adminEmail, "-pb-password", adminPassword, "-site", s.trackingID, "-domain", "example.org"},
		"no server":      {"-pb-email", adminEmail, "-pb-password", adminPassword, "-site", s.trackingID, "-pb-url", "http://127.0.0.1:1"},
	} {
		stdout, stderr, code := runLoad(t, append(append([]string{}, base...), args...)...)
		if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "skopos-load: cannot verify:") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and one error line", name, code, stdout, stderr)
		}
	}
}

func TestBadFlagsExit2WithOneLine(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"-url", "127.0.0.1:8090/api/event"},
		{"-url", "http://127.0.0.1:1/api/event", "-events", "0"},
		{"-url", "http://127.0.0.1:1/api/event", "-events", "10", "-duration", "1s"},
		{"-url", "http://127.0.0.1:1/api/event", "-visitors", "0"},
		{"-url", "http://127.0.0.1:1/api/event", "-visitors", "1000000"},
		{"-url", "http://127.0.0.1:1/api/event", "-concurrency", "0"},
		{"-url", "http://127.0.0.1:1/api/event", "-pb-url", "http://127.0.0.1:1"},
		{"-url", "http://127.0.0.1:1/api/event", "-pb-url", "http://127.0.0.1:1", "-site", "x"},
		{"-url", "http://127.0.0.1:1/api/event", "-site", "x"},
		{"-url", "http://127.0.0.1:1/api/event", "-domain", "a/b"},
		{"-url", "http://127.0.0.1:1/api/event", "-nosuchflag"},
		{"-url", "http://127.0.0.1:1/api/event", "-events"},
		{"-url", "http://127.0.0.1:1/api/event", "extra"},
	} {
		stdout, stderr, code := runLoad(t, args...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "skopos-load: ") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and one error line", args, code, stdout, stderr)
		}
	}
}

// An endpoint that refuses connections: every request is a transport error,
// counted as rejected and as an error; the run still ends with the JSON.
func TestTransportErrorsAreRejected(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stdout, stderr, code := runLoad(t, "-url", "http://"+addr+"/api/event", "-events", "10", "-concurrency", "2", "-timeout", "2s")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res result
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &res); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if res.Sent != 10 || res.Accepted != 0 || res.Rejected != 10 || res.Errors != 10 || res.Stored != -1 {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(stderr, "rejected: transport errors ×10 (first: ") {
		t.Errorf("stderr does not explain the rejections:\n%s", stderr)
	}
}
