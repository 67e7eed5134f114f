package main_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/adopt/adopttest"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/pbrest"
	"github.com/skopos-go/skopos/schema"
)

// The fixture's reference values (its README.md).
const (
	nodeEncryptionKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	nodeVaultKey      = "AIzafOotymAxKQ4R8DOBxygoetHhLVCW7AQwKAO"
	returningIP       = "198.51.100.77"
)

func openDB(t *testing.T, dir string) *dbx.DB {
	t.Helper()
	db, err := dbx.Open("sqlite", filepath.Join(dir, "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// nodeVisitor adds, as the Node SDK would have, a visitor of the fixture's
// site (its unsalted id of returningIP and browserUA) with one session and
// page view two days ago; it returns the site's trackingId and the
// visitor's record id.
func nodeVisitor(t *testing.T, db *dbx.DB) (trackingID, visitor string) {
	t.Helper()
	var site string
	if err := db.NewQuery("SELECT id, trackingId FROM websites").Row(&site, &trackingID); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().AddDate(0, 0, -2).Format("2006-01-02 15:04:05.000Z")
	visitor = "nodevisitor0001"
	for _, q := range []string{
		`INSERT INTO visitors (id, website, visitorId, created, updated) VALUES ({:v}, {:w}, {:vid}, {:at}, {:at})`,
		`INSERT INTO sessions (id, website, visitor, browser, os, device, entryPath, exitPath, isNewVisitor, created, updated)
			VALUES ('nodesession0001', {:w}, {:v}, 'Firefox', 'Linux', 'desktop', '/', '/', 1, {:at}, {:at})`,
		`INSERT INTO events (id, session, type, path, created, updated) VALUES ('nodeevent000001', 'nodesession0001', 'pageView', '/', {:at}, {:at})`,
	} {
		if _, err := db.NewQuery(q).Bind(dbx.Params{"v": visitor, "w": site, "at": at,
			"vid": visitorid.Hash(trackingID, returningIP, browserUA, nil)}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	return trackingID, visitor
}

// TestServeAdoptsASkoposNodeDataDir is issue 30's black-box check: serve
// starts on a copy of a Skopos Node data dir, every day's page views and
// visits from the stats API equal the raw rows (or daily_stats), the
// reference's rows are unchanged, a returning visitor continues its id,
// and the reference's ENCRYPTION_KEY opens its vault key.
func TestServeAdoptsASkoposNodeDataDir(t *testing.T) {
	t.Parallel()
	dir := adopttest.CopyFixture(t)
	db := openDB(t, dir)
	tid, visitor := nodeVisitor(t, db)
	tables := adopttest.ReferenceTables(t, db)
	before := adopttest.ReferenceRows(t, db, tables)
	want := adopttest.Expected(t, db)
	_ = db.Close()

	var gotKey atomic.Value
	ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey.Store(r.URL.Query().Get("key"))
		http.Error(w, "enough", http.StatusTooManyRequests)
	}))
	defer ps.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<!doctype html><title>Home</title>`))
	}))
	defer home.Close()
	s := serve(t, dir, "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword, "SKOPOS_UPTIME=off",
		"SKOPOS_RATE_LIMIT=off", "ENCRYPTION_KEY="+nodeEncryptionKey, "SKOPOS_PAGESPEED_URL="+ps.URL, "SKOPOS_FETCH_PRIVATE=on")
	for _, line := range []string{"backup of the data dir as it was written", "adopted the Skopos Node installation", "visitor ids: compatible"} {
		if !strings.Contains(s.Output(), line) {
			t.Errorf("the start-up output does not say %q:\n%s", line, s.Output())
		}
	}
	if zips, _ := filepath.Glob(filepath.Join(dir, "backups", "skopos-adopt-*.zip")); len(zips) != 1 {
		t.Errorf("backups %v; want one", zips)
	}
	db = openDB(t, dir)
	after := adopttest.ReferenceRows(t, db, tables)
	for table, h := range before {
		if after[table] != h {
			t.Errorf("table %s: the reference's rows changed", table)
		}
	}

	// every day, from the stats API
	pb := client(t, s.URL)
	var got statsAnswer
	getJSON(t, pb, "/api/skopos/stats", map[string][]string{"site": {tid}, "from": {"2026-10-01"}, "to": {time.Now().UTC().Format(time.DateOnly)}}, &got)
	days := map[string]adopttest.Day{}
	for _, p := range got.Series {
		if p.PageViews+p.Visitors > 0 {
			days[p.Time[:10]] = adopttest.Day{PageViews: p.PageViews, Sessions: p.Visitors}
		}
	}
	adopttest.SameDays(t, days, want)

	// the Node SDK's visitor comes back: the same visitor, a second session
	var n int
	_ = db.NewQuery("SELECT COUNT(*) FROM visitors").Row(&n)
	body, _ := json.Marshal(map[string]any{"type": "pageView", "url": "https://example.com/back"})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/event", bytes.NewReader(body))
	browsertest.Headers(req.Header, browserUA)
	req.Header.Set("Origin", "https://example.com")
	req.Header.Set("X-Forwarded-For", returningIP)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var seq int
	var isNew bool
	testwait.Until(t, "the returning visitor's event", func() bool {
		return db.NewQuery(`SELECT s.seq, s.isNewVisitor FROM events e JOIN sessions s ON s.id = e.session
			WHERE e.path = '/back' AND s.visitor = {:v}`).Bind(dbx.Params{"v": visitor}).Row(&seq, &isNew) == nil
	})
	var m int
	_ = db.NewQuery("SELECT COUNT(*) FROM visitors").Row(&m)
	if seq != 2 || isNew || m != n {
		t.Errorf("returning visitor: session seq %d, new %v, visitors %d → %d; want its second session, not new, no new visitor", seq, isNew, n, m)
	}

	// the reference's vault key, opened with its ENCRYPTION_KEY, reaches
	// PageSpeed when the owner's site is analyzed
	var site struct {
		ID string `json:"id"`
	}
	ctx := context.Background()
	if err := pb.FirstRecord(ctx, schema.Websites, pbrest.Filter("trackingId = {:t}", pbrest.Params{"t": tid}), &site); err != nil {
		t.Fatal(err)
	}
	if err := pb.UpdateRecord(ctx, schema.Websites, site.ID, map[string]any{"url": home.URL}, nil); err != nil {
		t.Fatal(err)
	}
	if err := pb.Do(ctx, http.MethodPost, "/api/skopos/seo/analyze", map[string]any{"site": tid}, nil); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "PageSpeed asked with the vault key", func() bool { k, _ := gotKey.Load().(string); return k != "" })
	if k := gotKey.Load().(string); k != nodeVaultKey {
		t.Errorf("PageSpeed received key %q; the fixture's vault holds %q", k, nodeVaultKey)
	}
}

// TestAdoptionKilledMidwayFinishesOnRestart: a larger Node data dir (the
// fixture's events copied 5 times), serve killed -9 while it fills the
// events, started again: every day equals the raw rows, with one backup.
func TestAdoptionKilledMidwayFinishesOnRestart(t *testing.T) {
	t.Parallel()
	dir := adopttest.CopyFixture(t)
	db := openDB(t, dir)
	for i := range 5 {
		if _, err := db.NewQuery(`INSERT INTO events (id, session, type, path, eventName, eventData, created, updated)
			SELECT substr(id, 1, 11) || printf('%04d', {:i}), session, type, path, eventName, eventData, created, updated
			FROM events WHERE length(id) = 15 AND id NOT GLOB '*[0-9][0-9][0-9][0-9]'`).Bind(dbx.Params{"i": i}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	want := adopttest.Expected(t, db)
	_ = db.Close()
	env := []string{"SKOPOS_ADMIN_EMAIL=" + adminEmail, "SKOPOS_ADMIN_PASSWORD=" + adminPassword, "SKOPOS_UPTIME=off"}
	// batches of 100 rows: the kill lands with some 90 batches to go
	first := startServe(t, dir, append(env, "SKOPOS_ADOPT_BATCH_ROWS=100")...)
	first.WaitOutput(t, "filling events.website", 2*time.Minute)
	first.Kill()
	if strings.Contains(first.Output(), "adopted the Skopos Node installation") {
		t.Fatal("the adoption finished before the kill: the test needs more rows")
	}
	s := serve(t, dir, env...)
	if !strings.Contains(s.Output(), "adopted the Skopos Node installation") {
		t.Errorf("the restart does not finish the adoption:\n%s", s.Output())
	}
	db = openDB(t, dir)
	adopttest.SameDays(t, adopttest.Summarized(t, db), want)
	if zips, _ := filepath.Glob(filepath.Join(dir, "backups", "skopos-adopt-*.zip")); len(zips) != 1 {
		t.Errorf("backups %v; want one", zips)
	}
}

// TestMigrateDryRunChangesNothing: `skopos migrate --dry-run` says what
// the adoption would do and leaves the file byte for byte as it was.
func TestMigrateDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	dir := adopttest.CopyFixture(t)
	sum := func() [32]byte {
		b, err := os.ReadFile(filepath.Join(dir, "data.db"))
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()
	out, errOut, code := run(t, "migrate", "--dir", dir, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"a Skopos Node installation", "fill sessions.seq: 366 rows", "3 days from daily_stats"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run does not say %q:\n%s", want, out)
		}
	}
	if sum() != before {
		t.Error("the dry run changed data.db")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the dry run left files: %v", entries)
	}
	if out, errOut, code = run(t, "migrate", "--dir", dir); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: exit %d: %s %s", code, out, errOut)
	}
	if out, _, _ = run(t, "migrate", "--dir", dir, "--dry-run"); !strings.Contains(out, "not a Skopos Node installation to adopt") {
		t.Errorf("after the migration the dry run says:\n%s", out)
	}
}
