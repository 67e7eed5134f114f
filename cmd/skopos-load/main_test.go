package main

// These tests run the real binaries: `skopos serve` with its embedded
// PocketBase on a free loopback port, and skopos-load against it.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/proctest"
	"github.com/skopos-go/skopos/pbrest"
)

var skoposBin, loadBin string

func TestMain(m *testing.M) {
	bins, cleanup, err := proctest.Build("../skopos", ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	skoposBin, loadBin = bins["../skopos"], bins["."]
	code := m.Run()
	cleanup()
	os.Exit(code)
}

const (
	adminEmail    = "load@skopos.test"
	adminPassword = "load-password-123"
)

// server is a running `skopos serve` and its demo website's trackingId.
type server struct {
	*proctest.Server
	trackingID string
}

// serve starts `skopos serve` on a fresh data dir.
func serve(t *testing.T) *server {
	t.Helper()
	ps := proctest.Serve(t, skoposBin, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	return &server{Server: ps, trackingID: ps.Line(t, "demo website trackingId: ")}
}

// load runs skopos-load against s with args added to -url (and, when pb
// is true, the verification flags).
func (s *server) load(t *testing.T, pb bool, args ...string) (res result, stderr string) {
	t.Helper()
	all := append([]string{"-url", s.URL + "/api/event"}, args...)
	if pb {
		all = append(all, "-pb-url", s.URL, "-pb-email", adminEmail, "-pb-password", adminPassword, "-site", s.trackingID)
	}
	stdout, stderr, code := runLoad(t, all...)
	if code != 0 {
		t.Fatalf("skopos-load %v: exit %d\nstdout:\n%s\nstderr:\n%s\nserver:\n%s", all, code, stdout, stderr, s.Output())
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	last := lines[len(lines)-1]
	dec := json.NewDecoder(strings.NewReader(last))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("final line %q: %v", last, err)
	}
	for _, k := range []string{"sent", "accepted", "rejected", "stored", "lost", "accept_per_s", "stored_per_s", "p50_ms", "p99_ms", "drain_s"} {
		if !strings.Contains(last, `"`+k+`":`) {
			t.Errorf("final line lacks %q: %s", k, last)
		}
	}
	t.Logf("final line: %s", last)
	return res, stderr
}

func runLoad(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return proctest.Run(t, loadBin, args...)
}

func (s *server) client(t *testing.T) *pbrest.Client {
	t.Helper()
	c, err := pbrest.New(pbrest.Config{URL: s.URL, Email: adminEmail, Password: adminPassword})
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
		t.Errorf("stored/lost = %d/%d, want 600/0\nstderr:\n%s\nserver:\n%s", res.Stored, res.Lost, stderr, s.Output())
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
			res.Accepted, res.Stored, res.Lost, stderr, s.Output())
	}

	// Without verification stored and lost are -1.
	res, _ = s.load(t, false, "-events", "20", "-visitors", "5", "-concurrency", "2")
	if res.Accepted != 20 || res.Stored != -1 || res.Lost != -1 || res.StoredPerS != 0 {
		t.Errorf("without verification: %+v", res)
	}

	// Non-2xx answers are rejected, and stderr says why.
	res, stderr = s.load(t, false, "-url", s.URL+"/api/no-such-route", "-events", "5", "-concurrency", "1")
	if res.Sent != 5 || res.Rejected != 5 || res.Errors != 0 || !strings.Contains(stderr, "rejected: 404 Not Found ×5") {
		t.Errorf("wrong route: %+v\nstderr:\n%s", res, stderr)
	}

	// Verification that cannot start: exit 1, one line on stderr, nothing sent.
	base := []string{"-url", s.URL + "/api/event", "-events", "5", "-pb-url", s.URL}
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
