package main_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/proctest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// The binary under test, built once: the CLI is tested as users run it,
// including its exit codes (PocketBase would otherwise exit 0 on errors).
var binary, plainPB string

func TestMain(m *testing.M) {
	bins, cleanup, err := proctest.Build(".", "./testdata/plainpb")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary, plainPB = bins["."], bins["./testdata/plainpb"]
	code := m.Run()
	chrome.Close()
	clickhouseServer.Close()
	cleanup()
	os.Exit(code)
}

const (
	adminEmail    = "owner@skopos.test"
	adminPassword = "owner-password-123"
)

// serve starts `skopos serve` on dir; env adds to the process environment.
func serve(t *testing.T, dir string, env ...string) *proctest.Server {
	t.Helper()
	return proctest.Serve(t, binary, dir, env...)
}

// startServe starts `skopos serve` on dir without waiting for it.
func startServe(t *testing.T, dir string, env ...string) *proctest.Server {
	t.Helper()
	return proctest.Start(t, binary, dir, env...)
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return proctest.Run(t, binary, args...)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func client(t *testing.T, url string) *pbrest.Client {
	t.Helper()
	c, err := pbrest.New(pbrest.Config{URL: url, Email: adminEmail, Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type collection struct {
	Name    string   `json:"name"`
	Indexes []string `json:"indexes"`
}

func TestServeFirstRunSetsUpEverythingAndSecondRunChangesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SKOPOS_ADMIN_EMAIL=" + adminEmail, "SKOPOS_ADMIN_PASSWORD=" + adminPassword}
	s := serve(t, dir, env...)
	ctx := context.Background()
	pb := client(t, s.URL)

	port := s.URL[strings.LastIndex(s.URL, ":")+1:]
	if got := s.Line(t, "dashboard: "); got != "http://localhost:"+port+"/dashboard/" {
		t.Errorf("dashboard line = %q", got)
	}
	if got := s.Line(t, "demo: "); got != "http://localhost:"+port+"/demo" {
		t.Errorf("demo line = %q", got)
	}
	trackingID := s.Line(t, "demo website trackingId: ")

	// anonymous sign-up is off: a stranger cannot get an account (and
	// with it a say over websites)
	if code := anonymousSignup(t, s.URL); code < 400 || code >= 500 {
		t.Errorf("anonymous sign-up: status %d, want 4xx", code)
	}

	// the browser script comes gzipped to a browser that accepts it
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/skopos.js", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br") // set by hand: the client then leaves the body compressed
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("/skopos.js: status %d, Content-Encoding %q; want gzip", resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
	}

	var cols struct {
		Items []collection `json:"items"`
	}
	if err := pb.Do(ctx, "GET", "/api/collections?perPage=500", nil, &cols); err != nil {
		t.Fatalf("list collections as superuser: %v", err)
	}
	have := map[string]collection{}
	for _, c := range cols.Items {
		have[c.Name] = c
	}
	for _, name := range schema.Names {
		c, ok := have[name]
		if !ok {
			t.Errorf("collection %s missing", name)
			continue
		}
		if name != schema.Events && !strings.Contains(strings.Join(c.Indexes, "\n"), "UNIQUE") {
			t.Errorf("%s has no UNIQUE index: %v", name, c.Indexes)
		}
	}

	var settings struct {
		Batch struct {
			Enabled     bool `json:"enabled"`
			MaxRequests int  `json:"maxRequests"`
			Timeout     int  `json:"timeout"`
		} `json:"batch"`
	}
	if err := pb.Do(ctx, "GET", "/api/settings", nil, &settings); err != nil {
		t.Fatal(err)
	}
	if b := settings.Batch; !b.Enabled || b.MaxRequests != 1000 || b.Timeout != 10 {
		t.Errorf("batch settings = %+v, want enabled, 1000, 10", b)
	}

	var sites []struct {
		Domain                   string `json:"domain"`
		TrackingID               string `json:"trackingId"`
		DisableLocalhostTracking bool   `json:"disableLocalhostTracking"`
	}
	if _, err := pb.ListRecords(ctx, schema.Websites, pbrest.ListQuery{}, &sites); err != nil {
		t.Fatal(err)
	}
	if len(sites) != 1 || sites[0].Domain != "localhost" || sites[0].TrackingID != trackingID || sites[0].DisableLocalhostTracking {
		t.Fatalf("websites after first run = %+v; want the demo site %s on localhost", sites, trackingID)
	}
	var events []map[string]any
	if _, err := pb.ListRecords(ctx, schema.Events, pbrest.ListQuery{}, &events); err != nil || len(events) != 0 {
		t.Fatalf("events after first run = %d, %v; want none seeded", len(events), err)
	}

	// `site add` against the same dir while the server runs
	stdout, stderr, code := run(t, "site", "add", "--domain", "https://www.Example.com:8443/shop", "--name", "Shop", "--dir", dir)
	if code != 0 {
		t.Fatalf("site add exited %d: %s", code, stderr)
	}
	newID := lastLine(stdout)
	var added struct {
		Name, Domain string
	}
	if err := pb.FirstRecord(ctx, schema.Websites, pbrest.Filter("trackingId = {:id}", pbrest.Params{"id": newID}), &added); err != nil {
		t.Fatalf("site added by the CLI is not visible to the running server: %v", err)
	}
	if added.Domain != "example.com" || added.Name != "Shop" {
		t.Errorf("added site = %+v, want Shop on example.com", added)
	}

	// visitor ids are keyed by the installation salt generated on this
	// first start (superuser-only), not the reversible unsalted hash
	visitor := pageViewVisitor(t, s.URL, pb)
	var secret struct{ Value string }
	if err := pb.FirstRecord(ctx, schema.Secrets, pbrest.Filter("name = {:n}", pbrest.Params{"n": visitorid.SaltName}), &secret); err != nil {
		t.Fatalf("installation salt: %v", err)
	}
	salt, _ := hex.DecodeString(secret.Value)
	if len(salt) != 32 || visitor != visitorid.Hash(trackingID, "127.0.0.1", browserUA, salt) {
		t.Errorf("visitorId %s is not keyed by the installation salt %q", visitor, secret.Value)
	}
	if resp, err := http.Get(s.URL + "/api/collections/" + schema.Secrets + "/records"); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusForbidden {
		t.Errorf("anonymous read of %s: %d, want 403", schema.Secrets, resp.StatusCode)
	}

	s.Stop()
	s2 := serve(t, dir, env...)
	if got := s2.Line(t, "demo website trackingId: "); got != trackingID {
		t.Errorf("second run printed trackingId %s, first %s", got, trackingID)
	}
	if again := pageViewVisitor(t, s2.URL, client(t, s2.URL)); again != visitor {
		t.Errorf("the same visitor after a restart has id %s, before %s: the salt did not persist", again, visitor)
	}
	sites = nil
	if _, err := client(t, s2.URL).ListRecords(ctx, schema.Websites, pbrest.ListQuery{}, &sites); err != nil || len(sites) != 2 {
		t.Fatalf("websites after second run = %d, %v; want 2 (demo + added)", len(sites), err)
	}
}

const browserUA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// sendPageView sends a browser beacon's page view of path on the demo
// website (localhost) of the server at url, from the visitor address ip
// (the server trusts a loopback proxy's X-Forwarded-For, so one machine
// can be many visitors), and requires a 2xx answer.
func sendPageView(t *testing.T, url, ip, ua, path string) {
	t.Helper()
	pageViewFrom(t, url, "http://localhost:"+url[strings.LastIndex(url, ":")+1:], ip, ua, path) // the demo website's domain
}

// pageViewFrom sends a page view of origin+path to the server at url,
// from ip ("": the test's own address) with the user agent ua.
func pageViewFrom(t *testing.T, url, origin, ip, ua, path string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/event", strings.NewReader(`{"type":"pageView","url":"`+origin+path+`"}`))
	browsertest.Headers(req.Header, ua)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", origin)
	if ip != "" {
		req.Header.Set("X-Forwarded-For", ip)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("page view: status %d", resp.StatusCode)
	}
}

// pageViewVisitor sends a browser page view to the demo website of the
// server at url and returns the visitorId of the newest session.
func pageViewVisitor(t *testing.T, url string, pb *pbrest.Client) string {
	t.Helper()
	since := time.Now().UTC().Add(-time.Second)
	sendPageView(t, url, "", browserUA, "/pricing")
	var rows []struct {
		Expand struct {
			Visitor struct {
				VisitorID string `json:"visitorId"`
			} `json:"visitor"`
		} `json:"expand"`
	}
	testwait.Until(t, "the page view's session stored", func() bool {
		_, err := pb.ListRecords(context.Background(), schema.Sessions, pbrest.ListQuery{
			Filter: pbrest.Filter("lastActivity >= {:t}", pbrest.Params{"t": since}), Sort: "-lastActivity", PerPage: 1,
			Expand: "visitor",
		}, &rows)
		return err == nil && len(rows) == 1 && rows[0].Expand.Visitor.VisitorID != ""
	})
	return rows[0].Expand.Visitor.VisitorID
}

func TestServeGeneratesASuperuserOnlyOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := serve(t, dir)
	creds := s.Line(t, "superuser created (shown once): ")
	var email, password string
	if _, err := fmt.Sscanf(creds, "email %s password %s", &email, &password); err != nil {
		t.Fatalf("cannot read generated credentials from %q", creds)
	}
	pb, _ := pbrest.New(pbrest.Config{URL: s.URL, Email: email, Password: password})
	if err := pb.Authenticate(context.Background()); err != nil {
		t.Fatalf("generated credentials do not work: %v", err)
	}
	s.Stop()
	s2 := serve(t, dir, "SKOPOS_SIGNUP=on")
	if strings.Contains(s2.Output(), "superuser created") {
		t.Fatal("a second superuser was generated on the second run")
	}
	if code := anonymousSignup(t, s2.URL); code != http.StatusOK {
		t.Errorf("anonymous sign-up with SKOPOS_SIGNUP=on: status %d, want 200", code)
	}
}

// anonymousSignup tries to create a users account without credentials.
func anonymousSignup(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url+"/api/collections/users/records", "application/json",
		strings.NewReader(`{"email":"stranger@example.com","password":"a-long-password-1","passwordConfirm":"a-long-password-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestCommandsFailWithOneLineAndNonZeroExit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unusable domain", []string{"site", "add", "--domain", "exa mple.com", "--dir", dir}, "invalid domain"},
		{"missing domain", []string{"site", "add", "--dir", dir}, "--domain is required"},
		{"unknown flag", []string{"site", "add", "--bogus", "--dir", dir}, "unknown flag"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"serve with an unknown flag", []string{"serve", "--bogus-flag", "--dir", dir}, "serve: unknown flag: --bogus-flag"},
		{"serve --port", []string{"serve", "--port", "8080", "--dir", dir}, "unknown flag: --port"},
		{"missing subcommand", []string{"site", "--dir", dir}, "missing subcommand"},
		{"serve on a bad address", []string{"serve", "--http", "127.0.0.1:99999", "--dir", dir}, "invalid port"},
		{"schema apply without server", []string{"schema", "apply", "--url", "http://127.0.0.1:1", "--email", "a@b.co", "--password", "x"}, "schema apply"},
		{"schema apply without flags", []string{"schema", "apply"}, "required"},
		{"reports send with a bad --now", []string{"reports", "send", "--now", "monday", "--dir", dir}, "--now"},
		{"reports send without SMTP", []string{"reports", "send", "--dir", t.TempDir()}, "SMTP is not enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := run(t, tt.args...)
			if code == 0 {
				t.Fatalf("exit code 0; stderr %q", stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tt.want) {
				t.Fatalf("last stderr line %q does not say %q", last, tt.want)
			}
		})
	}
}

func TestSchemaApplyPreparesAPlainPocketBaseIdempotently(t *testing.T) {
	t.Parallel()
	url := startPlainPocketBase(t)
	args := []string{"schema", "apply", "--url", url, "--email", adminEmail, "--password", adminPassword}

	stdout, stderr, code := run(t, args...)
	if code != 0 {
		t.Fatalf("first apply exited %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "created or updated "+strings.Join(schema.Names, ", ")) || !strings.Contains(stdout, "batch API enabled") {
		t.Fatalf("first apply said %q", stdout)
	}
	ctx := context.Background()
	pb := client(t, url)
	var cols struct {
		Items []collection `json:"items"`
	}
	if err := pb.Do(ctx, "GET", "/api/collections?perPage=500", nil, &cols); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, c := range cols.Items {
		have[c.Name] = true
	}
	for _, name := range schema.Names {
		if !have[name] {
			t.Errorf("%s not created", name)
		}
	}
	var settings struct {
		Batch struct {
			Enabled     bool `json:"enabled"`
			MaxRequests int  `json:"maxRequests"`
		} `json:"batch"`
	}
	if err := pb.Do(ctx, "GET", "/api/settings", nil, &settings); err != nil || !settings.Batch.Enabled || settings.Batch.MaxRequests != 1000 {
		t.Errorf("batch settings after apply = %+v (%v); want enabled, 1000", settings.Batch, err)
	}

	stdout, stderr, code = run(t, args...)
	if code != 0 || strings.TrimSpace(stdout) != "schema apply: no changes" {
		t.Fatalf("second apply: exit %d, stdout %q, stderr %q; want no changes", code, stdout, stderr)
	}
}

// startPlainPocketBase runs a bare PocketBase process with a superuser.
func startPlainPocketBase(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(plainPB, "superuser", "upsert", adminEmail, adminPassword, "--dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, out)
	}
	addr := proctest.FreeAddr(t)
	cmd := exec.Command(plainPB, "serve", "--http", addr, "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	url := "http://" + addr
	deadline := time.Now().Add(testwait.Timeout())
	for {
		resp, err := http.Get(url + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("plain PocketBase did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRetentionRunCommand(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := run(t, "retention", "run", "--dir", t.TempDir())
	if code != 0 {
		t.Fatalf("retention run exited %d: %s", code, stderr)
	}
	// a fresh data dir has no website with a retention limit: nothing to delete
	if strings.TrimSpace(stdout) != "" {
		t.Errorf("retention run on an empty dir printed %q", stdout)
	}
}

// TestServeLimitsPasswordGuessing: PocketBase's auth endpoints answer 429
// to the 6th attempt within a minute from one address.
func TestServeLimitsPasswordGuessing(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	try := func() int {
		resp, err := http.Post(s.URL+"/api/collections/_superusers/auth-with-password", "application/json",
			strings.NewReader(`{"identity":"`+adminEmail+`","password":"wrong-password"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 5 {
		if code := try(); code != http.StatusBadRequest {
			t.Fatalf("wrong password %d: status %d, want 400", i+1, code)
		}
	}
	if code := try(); code != http.StatusTooManyRequests {
		t.Fatalf("6th wrong password within a minute: status %d, want 429", code)
	}
}

// TestSchemaApplyLeavesNoLocalDataDir: `skopos schema apply` talks to a
// remote PocketBase only; it must not create ./pb_data where it runs.
func TestSchemaApplyLeavesNoLocalDataDir(t *testing.T) {
	t.Parallel()
	wd := t.TempDir()
	_, stderr, code := proctest.RunIn(t, wd, binary, "schema", "apply", "--url", "http://127.0.0.1:1", "--email", "a@b.co", "--password", "x", "--timeout", "2s")
	if code == 0 {
		t.Fatalf("exit 0 against nothing; stderr %q", stderr)
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 0 {
		t.Fatalf("schema apply left %v in its working directory", entries)
	}
}

// TestServeOnATakenPortFailsBeforeTouchingTheDataDir: one clean line, and
// no data dir or superuser (with a password printed "once") created for
// a server that never ran.
func TestServeOnATakenPortFailsBeforeTouchingTheDataDir(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := filepath.Join(t.TempDir(), "pb")
	stdout, stderr, code := run(t, "serve", "--http", ln.Addr().String(), "--dir", dir)
	if code == 0 || !strings.Contains(stderr, "address already in use") || strings.Count(stderr, "skopos:") != 1 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the data dir was created (%v); stdout %q", err, stdout)
	}
}

// TestSiteAddOnARemoteServer: `skopos site add --url` creates the website
// on that server (SDK-mode users have no local data dir) and prints its
// trackingId, leaving nothing where it runs.
func TestSiteAddOnARemoteServer(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	wd := t.TempDir()
	stdout, stderr, code := proctest.RunIn(t, wd, binary, "site", "add", "--domain", "https://www.Remote.example/x",
		"--url", s.URL, "--email", adminEmail, "--password", adminPassword)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	trackingID := lastLine(stdout)
	var site struct {
		Domain string `json:"domain"`
	}
	if err := client(t, s.URL).FirstRecord(context.Background(), "websites", "trackingId = '"+trackingID+"'", &site); err != nil || site.Domain != "remote.example" {
		t.Fatalf("the server has %+v (%v) for trackingId %q", site, err, trackingID)
	}
	if entries, _ := os.ReadDir(wd); len(entries) != 0 {
		t.Errorf("site add --url left %v in its working directory", entries)
	}
	// a refusal comes back as one line
	_, stderr, code = proctest.RunIn(t, wd, binary, "site", "add", "--domain", "remote.example",
		"--url", s.URL, "--email", adminEmail, "--password", adminPassword)
	if code == 0 || !strings.Contains(lastLine(stderr), "already tracked") {
		t.Errorf("the same domain again: exit %d, %q", code, stderr)
	}
}

// TestServeStoresReferenceNamesAndRoundedDurations: black-box, a page
// view from an Android tablet and one from the Google app on iOS are
// stored as tablet and GSA; a session of about 1.6 s is counted as its
// elapsed time rounded once (2 s), not as a difference of clock seconds.
func TestServeStoresReferenceNamesAndRoundedDurations(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	pb := client(t, s.URL)
	ctx := context.Background()
	send := func(ip, ua, path string) { t.Helper(); sendPageView(t, s.URL, ip, ua, path) }
	const (
		tablet = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		gsa    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/321.0.645817380 Mobile/15E148 Safari/604.1"
	)
	type session struct {
		Browser, Device, EntryPath string
		StartedAt                  string `json:"startedAt"`
		LastActivity               string `json:"lastActivity"`
		EventCount                 int    `json:"eventCount"`
	}
	var rows []session
	list := func() bool {
		rows = nil
		_, err := pb.ListRecords(ctx, schema.Sessions, pbrest.ListQuery{Sort: "-eventCount", PerPage: 10}, &rows)
		return err == nil
	}
	const pbTime = "2006-01-02 15:04:05.000Z"
	send("198.51.100.1", tablet, "/tablet")
	send("198.51.100.2", gsa, "/gsa")
	// a session of 1.6 s: its second page view goes once the server's
	// clock, as the stored start shows, is 1.6 s past the first
	send("198.51.100.3", browserUA, "/one")
	testwait.Until(t, "the first page view stored and 1.6 s past", func() bool {
		if !list() {
			return false
		}
		for _, r := range rows {
			if start, err := time.Parse(pbTime, r.StartedAt); err == nil && r.EntryPath == "/one" {
				return time.Since(start) >= 1600*time.Millisecond
			}
		}
		return false
	})
	send("198.51.100.3", browserUA, "/two")
	testwait.Until(t, "the three sessions stored", func() bool {
		return list() && len(rows) == 3 && rows[0].EventCount == 2
	})
	byPath := map[string]session{}
	for _, r := range rows {
		byPath[r.EntryPath] = r
	}
	if r := byPath["/tablet"]; r.Device != "tablet" || r.Browser != "Chrome" {
		t.Errorf("Android tablet stored as %s / %s, want Chrome / tablet", r.Browser, r.Device)
	}
	if r := byPath["/gsa"]; r.Browser != "GSA" || r.Device != "mobile" {
		t.Errorf("Google app on iOS stored as %s / %s, want GSA / mobile", r.Browser, r.Device)
	}
	one := byPath["/one"]
	start, err1 := time.Parse(pbTime, one.StartedAt)
	last, err2 := time.Parse(pbTime, one.LastActivity)
	if err1 != nil || err2 != nil {
		t.Fatalf("session times %q %q", one.StartedAt, one.LastActivity)
	}
	elapsed := last.Sub(start)
	want := int((elapsed + 500*time.Millisecond) / time.Second)
	var sums []struct {
		DurationSeconds int `json:"durationSeconds"`
	}
	if _, err := pb.ListRecords(ctx, schema.DashSum, pbrest.ListQuery{}, &sums); err != nil || len(sums) != 1 {
		t.Fatalf("dash_sum rows %v, %v; want one day", sums, err)
	}
	t.Logf("session of %v stored with durationSeconds %d", elapsed, sums[0].DurationSeconds)
	if sums[0].DurationSeconds != want || (elapsed < 1700*time.Millisecond && want != 2) {
		t.Errorf("durationSeconds = %d for a session of %v, want %d", sums[0].DurationSeconds, elapsed, want)
	}
}

// TestServeReadsExtraBotPatterns: black-box, SKOPOS_BOT_PATTERNS names a
// file of patterns that make more user agents bots without a code change;
// a pattern that does not compile stops the start with one line naming it.
func TestServeReadsExtraBotPatterns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	patterns := filepath.Join(dir, "bots.txt")
	if err := os.WriteFile(patterns, []byte("# our own uptime checker\nZorgWidget/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, filepath.Join(dir, "pb"), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword,
		"SKOPOS_BOT_PATTERNS="+patterns)
	pb := client(t, s.URL)
	send := func(ip, ua, path string) { t.Helper(); sendPageView(t, s.URL, ip, ua, path) }
	send("198.51.100.1", browserUA+" ZorgWidget/1.0", "/checked")
	send("198.51.100.2", browserUA, "/marker")
	var rows []struct {
		EntryPath string `json:"entryPath"`
	}
	testwait.Until(t, "the marker's session stored", func() bool {
		rows = nil
		_, err := pb.ListRecords(context.Background(), schema.Sessions, pbrest.ListQuery{}, &rows)
		return err == nil && len(rows) > 0
	})
	// both were accepted before the writer's next flush: once the marker
	// is stored, the other would be too
	if len(rows) != 1 || rows[0].EntryPath != "/marker" {
		t.Errorf("sessions %+v, want only /marker (ZorgWidget is a bot by the patterns file)", rows)
	}

	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("fine\nzorg(\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--http", "127.0.0.1:0", "--dir", filepath.Join(dir, "pb2"))
	cmd.Env = append(os.Environ(), "SKOPOS_BOT_PATTERNS="+bad)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "zorg(") || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
		t.Errorf("serve with a bad pattern: %v, output %q; want exit 2 and one line naming the pattern", err, out)
	}
}
