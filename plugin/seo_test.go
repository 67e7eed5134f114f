package plugin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/servicekeys"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/vault"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

const vaultHex = "6b3a55e0261b0304143f805a24924d0c1c44524821305f31d9277843b8a10f4e"

// defectiveSite is a local site whose home page has a title and a
// viewport but no meta description and no H1, no robots.txt and no
// sitemap; it counts every request it gets.
func defectiveSite(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>A small local shop selling handmade ceramic cups and bowls</title></head>
<body><h2>Cups</h2><p>Hello.</p><img src="/cup.png" alt="A blue ceramic cup"></body></html>`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// pageSpeedStub answers like the PageSpeed Insights API and records the
// keys it received.
func pageSpeedStub(t *testing.T) (*httptest.Server, func() []string) {
	fixture, err := os.ReadFile("../internal/pagespeed/testdata/runpagespeed.json")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.URL.Query().Get("key"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixture)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), keys...) }
}

func seoRow(app core.App, siteID string) *core.Record {
	rec, err := app.FindFirstRecordByData(schema.SEOData, "website", siteID)
	if err != nil {
		return nil
	}
	return rec
}

func waitSEO(t *testing.T, app core.App, siteID string, states ...string) *core.Record {
	t.Helper()
	var rec *core.Record
	testwait.Until(t, "the SEO analysis to end", func() bool {
		rec = seoRow(app, siteID)
		if rec == nil {
			return false
		}
		for _, s := range states {
			if rec.GetString("status") == s {
				return true
			}
		}
		return false
	})
	return rec
}

// The "done when": creating a website stores an analysis whose
// score and critical recommendations match the site's defects; the
// PageSpeed stub receives the owner's vault key and its scores appear;
// the database holds no plaintext key.
func TestCreatingAWebsiteStoresItsAnalysisWithTheVaultKey(t *testing.T) {
	t.Parallel()
	site, _ := defectiveSite(t)
	ps, received := pageSpeedStub(t)
	srv := startEmbeddedWith(t, plugin.Config{FetchPrivate: true, EncryptionKey: vaultHex,
		SEO: plugin.SEOConfig{PageSpeedURL: ps.URL, PageSpeedKey: "env-fallback-key"}})
	app := srv.App()
	token, uid := tokenUser(t, app, "owner@example.com")
	k, _ := vault.ParseKey(vaultHex)
	v, _ := vault.New(k)
	owner, _ := app.FindRecordById(schema.Users, uid)
	const secret = "AIzaSy-owner-pagespeed-key-4242"
	if _, err := servicekeys.Add(app, v, owner, servicekeys.PageSpeed, "mine", secret); err != nil {
		t.Fatal(err)
	}

	id := pbtest.Save(t, app, schema.Websites, map[string]any{"name": "Shop", "domain": "shop.example", "url": site.URL, "user": uid}).Id
	rec := waitSEO(t, app, id, "done", "failed")
	if rec.GetString("status") != "done" {
		t.Fatalf("analysis %s: %s", rec.GetString("status"), rec.GetString("error"))
	}
	if got := received(); len(got) != 1 || got[0] != secret {
		t.Fatalf("PageSpeed received keys %q, want the owner's vault key once", got)
	}
	var recs []struct {
		Priority, Category string
		Title              string `json:"issue"`
	}
	if err := rec.UnmarshalJSONField("recommendations", &recs); err != nil {
		t.Fatal(err)
	}
	critical := map[string]bool{}
	for _, r := range recs {
		if r.Priority == "critical" {
			critical[strings.ToLower(r.Title)] = true
		}
	}
	has := func(words ...string) bool {
		for title := range critical {
			ok := true
			for _, w := range words {
				ok = ok && strings.Contains(title, w)
			}
			if ok {
				return true
			}
		}
		return false
	}
	for _, want := range [][]string{{"description"}, {"h1"}, {"https"}, {"sitemap"}} {
		if !has(want...) {
			t.Errorf("no critical recommendation about %v in %v", want, critical)
		}
	}
	if has("title") || has("viewport") {
		t.Errorf("critical recommendations for what the page has: %v", critical)
	}
	score := rec.GetInt("score")
	if score <= 0 || score >= 75 || rec.GetString("label") == "" {
		t.Errorf("score %d %q for a page missing its description, H1, HTTPS and sitemap", score, rec.GetString("label"))
	}
	var perf struct {
		Performance *int `json:"performance"`
	}
	if err := rec.UnmarshalJSONField("performanceScores", &perf); err != nil || perf.Performance == nil {
		t.Fatalf("no PageSpeed performance score stored: %v", err)
	}
	// no plaintext key anywhere in the database file's vault rows
	var stored []string
	if err := app.DB().Select("encryptedKey").From(schema.ServiceKeys).Column(&stored); err != nil {
		t.Fatal(err)
	}
	for _, s := range stored {
		if strings.Contains(s, secret) {
			t.Fatal("plaintext key in api_keys")
		}
	}
	if keys, _ := servicekeys.List(app, owner); keys[0].UsageCount != 1 {
		t.Fatalf("use count %d, want 1", keys[0].UsageCount)
	}

	// the REST API: the analysis and its history; a new run is accepted
	// once, then refused for a minute
	code, body := call(t, "GET", srv.URL+plugin.SEOPath+"?site="+trackingID(t, app, id), token, "")
	var got struct {
		Status   string         `json:"status"`
		Analysis map[string]any `json:"analysis"`
		History  []struct {
			Score int `json:"score"`
		} `json:"history"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil || got.Status != "done" || got.Analysis["score"] == nil || len(got.History) != 1 || got.History[0].Score != score {
		t.Fatalf("GET seo: %d %s", code, body)
	}
	if strings.Contains(body, secret) {
		t.Fatal("the key in an API answer")
	}
	other, _ := tokenUser(t, app, "other@example.com")
	if code, _ := call(t, "GET", srv.URL+plugin.SEOPath+"?site="+trackingID(t, app, id), other, ""); code != 404 {
		t.Fatalf("another user reads the analysis: %d", code)
	}
	req := `{"site":"` + trackingID(t, app, id) + `","strategy":"desktop"}`
	if code, body := call(t, "POST", srv.URL+plugin.SEOAnalyzePath, other, req); code != 404 {
		t.Fatalf("another user starts an analysis: %d %s", code, body)
	}
	if code, body := call(t, "POST", srv.URL+plugin.SEOAnalyzePath, token, `{"site":"`+trackingID(t, app, id)+`","strategy":"tablet"}`); code != 400 {
		t.Fatalf("strategy tablet: %d %s", code, body)
	}
	// the creation's request was less than a minute ago
	if code, body := call(t, "POST", srv.URL+plugin.SEOAnalyzePath, token, req); code != 429 {
		t.Fatalf("a second run within a minute: %d %s", code, body)
	}
}

// Without FetchPrivate a site on 127.0.0.1 is refused with a clear reason
// and nothing is fetched.
func TestAnAnalysisOfALoopbackSiteIsRefusedWithoutFetchPrivate(t *testing.T) {
	t.Parallel()
	site, hits := defectiveSite(t)
	srv := startEmbedded(t)
	app := srv.App()
	rec := pbtest.Save(t, app, schema.Websites, map[string]any{"name": "Local", "domain": "local.example", "url": site.URL})
	row := waitSEO(t, app, rec.Id, "done", "failed")
	msg := row.GetString("error")
	if row.GetString("status") != "failed" || !strings.Contains(msg, "127.0.0.1") || !strings.Contains(msg, "SKOPOS_FETCH_PRIVATE") {
		t.Fatalf("analysis %s: %q", row.GetString("status"), msg)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the site got %d requests", n)
	}
}

func trackingID(t *testing.T, app core.App, id string) string {
	t.Helper()
	rec, err := app.FindRecordById(schema.Websites, id)
	if err != nil {
		t.Fatal(err)
	}
	return rec.GetString("trackingId")
}
