package dashboard_test

// The SEO card of the site page and the SEO page over HTTP: the owner
// sees an analysis stored as the runner stores it, other accounts and
// shared links do not; "Run analysis" asks the real seorun queue (CSRF,
// strategy, one run a minute with 429); an analyzed site's hostile texts
// come out escaped and never as links.

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/seo"
	"github.com/skopos-go/skopos/internal/seorun"
	"github.com/skopos-go/skopos/schema"
)

// use replaces the dashboard handler; its sessions go with the old one,
// so call it before logging in.
func (e *env) use(o dashboard.Options) {
	h := dashboard.Handler(e.app, o)
	e.handler.Store(&h)
}

// seoStored are the seo_data fields that hold a part of seo.Result as
// JSON, by its JSON names.
var seoStored = []string{"metaTags", "socialMetaTags", "technicalSeo", "headings", "images", "links",
	"performanceScores", "lighthouseData", "analysisWarnings", "recommendations"}

// saveAnalysis stores res as site's seo_data row with the job's status,
// the way the runner does: each part marshalled from the seo.Result.
func saveAnalysis(t *testing.T, app core.App, site *core.Record, res seo.Result, status, errMsg string) *core.Record {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var parts map[string]json.RawMessage
	if err := json.Unmarshal(b, &parts); err != nil {
		t.Fatal(err)
	}
	fields := map[string]any{"website": site.Id, "status": status, "error": errMsg, "strategy": "mobile",
		"requestedAt": time.Now().Add(-time.Hour).UTC(), "score": res.Score, "label": res.Label,
		"lastAnalyzed": res.LastAnalyzed, "loadTime": res.LoadTime, "pageSize": res.PageSize}
	for _, f := range seoStored {
		fields[f] = string(parts[f])
	}
	return pbtest.Save(t, app, schema.SEOData, fields)
}

func saveHistory(t *testing.T, app core.App, site *core.Record, at time.Time, score int, label string, perf, critical, high int) {
	t.Helper()
	pbtest.Save(t, app, schema.SEOHistory, map[string]any{"website": site.Id, "analyzedAt": at.UTC(), "strategy": "mobile",
		"score": score, "label": label, "performance": perf, "hasPerformance": perf > 0, "critical": critical, "high": high})
}

func intp(v int) *int { return &v }

// goodResult is a well-kept site's analysis with PageSpeed scores.
func goodResult() seo.Result {
	return seo.Result{
		URL:            "https://shop.seo.example/",
		MetaTags:       seo.MetaTags{Title: "Shop — handmade mugs", TitleLength: 20, Description: "Mugs made by hand.", DescriptionLength: 18, Viewport: "width=device-width", Charset: "utf-8", Language: "en"},
		SocialMetaTags: seo.SocialMetaTags{OpenGraph: map[string]string{"title": "Shop OG title", "image": "https://shop.seo.example/og.png"}, Twitter: map[string]string{"card": "summary"}},
		TechnicalSEO: seo.TechnicalSEO{HasRobotsTxt: true, HasSitemap: true, HasSSL: true, HasStructuredData: true, MobileResponsive: true,
			Compression: true, ContentEncoding: "br", Caching: true, CacheControl: "max-age=600", FinalURL: "https://shop.seo.example/", StatusCode: 200,
			StructuredDataTypes: []string{"Organization"}, StructuredDataBlocks: 1},
		Headings: seo.Headings{H1: []string{"Handmade mugs"}, H2: []string{"Bestsellers", "About us"}},
		Images:   seo.Images{Total: 3, WithAlt: 2, WithoutAlt: 1, MissingAlt: []string{"/img/hero.jpg"}},
		Links:    seo.Links{Total: 12, Internal: 10, External: 2, Checked: 10, Broken: []seo.BrokenLink{{URL: "https://shop.seo.example/old", StatusCode: 404}}},
		PerformanceScores: &seo.PerformanceScores{Performance: intp(87), Accessibility: intp(95), BestPractices: intp(100), SEO: intp(92),
			Metrics: seo.PerformanceMetrics{FCP: "1.2 s", LCP: "2.1 s", TBT: "150 ms", CLS: "0.05", SI: "1.9 s"}, Strategy: "mobile"},
		AnalysisWarnings: []string{"sitemap.xml answered slowly"},
		Recommendations: []seo.Recommendation{
			{Priority: seo.PriorityCritical, Category: "links", Title: "Broken internal link", Description: "1 internal link answers 404.", Fix: "Fix or remove the link to /old."},
			{Priority: seo.PriorityHigh, Category: "images", Title: "Image without alt text", Description: "1 image has no alt attribute.", Fix: "Describe each image in its alt attribute."},
			{Priority: seo.PriorityLow, Category: "meta", Title: "No keywords", Description: "Harmless.", Fix: "Nothing to do."},
		},
		LoadTime: 321, PageSize: 48_200, LastAnalyzed: time.Date(2025, 3, 4, 10, 20, 30, 0, time.UTC), Score: 91, Label: seo.LabelExcellent,
	}
}

func TestSEOPages(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@seo.example", "ada-password-123")
	addUser(t, e.app, "bob@seo.example", "bob-password-123")
	site := addSite(t, e.app, "Shop", "shop.seo.example", ada.Id)
	bare := addSite(t, e.app, "Bare", "bare.seo.example", ada.Id)
	saveAnalysis(t, e.app, site, goodResult(), seorun.Done, "")
	now := time.Now()
	saveHistory(t, e.app, site, now.Add(-48*time.Hour), 62, seo.LabelGood, 0, 2, 3)
	saveHistory(t, e.app, site, now.Add(-time.Hour), 91, seo.LabelExcellent, 87, 1, 1)

	// the real queue, never started: a request stays pending
	runner := seorun.New(e.app, seorun.Options{Run: func(context.Context, seorun.Job) (*seorun.Outcome, error) {
		return nil, errors.New("not run in this test")
	}})
	t.Cleanup(func() { _ = runner.Close(context.Background()) })
	var calls []string
	e.use(dashboard.Options{SEO: func(s *core.Record, strategy string) (time.Duration, error) {
		calls = append(calls, s.Id+" "+strategy)
		return runner.Request(s, strategy)
	}})
	c := e.client(t)
	c.mustLogin("ada@seo.example", "ada-password-123")
	seoPath := "/dashboard/sites/" + site.Id + "/seo"

	t.Run("the site page's SEO card", func(t *testing.T) {
		r := c.get("/dashboard/sites/" + site.Id)
		card := between(r.body, `id="card-seo"`, "</section>")
		for _, want := range []string{`stroke-dasharray="91 100"`, `aria-label="SEO score 91 of 100"`, ">Excellent<",
			"2025-03-04 10:20:30 UTC", `id="seo-critical">1<`, `id="seo-high">1<`, `id="seo-performance">87<`,
			`id="seo-https">Yes<`, `id="seo-sitemap">Yes<`, `id="seo-mobile">Yes<`, `href="` + seoPath + `" id="seo-link">SEO details</a>`} {
			if !strings.Contains(card, want) {
				t.Errorf("SEO card lacks %q\n%s", want, card)
			}
		}
		if strings.Contains(card, "style=") {
			t.Error("inline style in the SEO card (CSP forbids it)")
		}
		r = c.get("/dashboard/sites/" + bare.Id)
		if card := between(r.body, `id="card-seo"`, "</section>"); !strings.Contains(card, "Not analyzed yet.") || strings.Contains(card, "<svg") {
			t.Errorf("card of a site never analyzed:\n%s", card)
		}
	})

	t.Run("the SEO page", func(t *testing.T) {
		r := c.get(seoPath)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("SEO page: %d\n%s", r.StatusCode, r.body)
		}
		recs := between(r.body, `id="recommendations"`, "</section>")
		crit, high, low := strings.Index(recs, `id="prio-critical"`), strings.Index(recs, `id="prio-high"`), strings.Index(recs, `id="prio-low"`)
		if crit < 0 || high < crit || low < high || strings.Contains(recs, `id="prio-medium"`) {
			t.Errorf("recommendations not grouped critical, high, low (no medium): %d %d %d\n%s", crit, high, low, recs)
		}
		for _, want := range []string{"Broken internal link", "Fix: Fix or remove the link to /old.", ">links<",
			// findings of every check
			"Shop — handmade mugs", "og:title", "Shop OG title", "twitter:card", "Bestsellers", "/img/hero.jpg",
			"https://shop.seo.example/old</span> — HTTP 404", `id="tech-https">Yes`, "max-age=600", "Organization",
			`id="tech-load">321 ms`, `id="tech-size">48.2 kB`,
			// PageSpeed, warnings, history, the form
			`id="ps-performance">87<`, "2.1 s", "150 ms", "sitemap.xml answered slowly",
			`<polyline points="0.0,11.4 100.0,2.7"/>`, `name="strategy"`, `<option value="desktop">`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("SEO page lacks %q", want)
			}
		}
		hist := between(r.body, `id="history"`, "</section>")
		if i, j := strings.Index(hist, ">91<"), strings.Index(hist, ">62<"); i < 0 || j < i {
			t.Errorf("history not newest first:\n%s", hist)
		}
		if strings.Contains(r.body, `href="https://shop.seo.example/old"`) {
			t.Error("an analyzed URL became a link")
		}
		r = c.get("/dashboard/sites/" + bare.Id + "/seo")
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Not analyzed yet.") || !strings.Contains(r.body, "No analysis has finished yet.") {
			t.Errorf("SEO page of a site never analyzed: %d\n%s", r.StatusCode, r.body)
		}
	})

	t.Run("run analysis", func(t *testing.T) {
		c.get(seoPath)
		if r := c.post(seoPath, url.Values{"strategy": {"desktop"}, "csrf": {"forged"}}); r.StatusCode != http.StatusForbidden || len(calls) != 0 {
			t.Fatalf("POST with a wrong CSRF token: %d, %d calls", r.StatusCode, len(calls))
		}
		r := c.post(seoPath, url.Values{"strategy": {"desktop"}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != seoPath+"?queued=1" {
			t.Fatalf("run: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		if len(calls) != 1 || calls[0] != site.Id+" desktop" {
			t.Errorf("Options.SEO calls %q", calls)
		}
		row, err := e.app.FindFirstRecordByData(schema.SEOData, "website", site.Id)
		if err != nil || row.GetString("status") != seorun.Pending || row.GetString("strategy") != "desktop" {
			t.Fatalf("queued job: %v %v", row, err)
		}
		r = c.get(seoPath + "?queued=1")
		if !strings.Contains(r.body, `id="queued"`) || !strings.Contains(r.body, `id="seo-running">Analysis running…`) ||
			!strings.Contains(r.body, `<option value="desktop" selected>`) || !strings.Contains(r.body, `id="seo-performance">87<`) {
			t.Errorf("after the request the page lacks the notice, the running state or the last analysis\n%s", r.body)
		}
		if card := between(c.get("/dashboard/sites/"+site.Id).body, `id="card-seo"`, "</section>"); !strings.Contains(card, "Analysis running…") {
			t.Errorf("card while running:\n%s", card)
		}

		r = c.post(seoPath, url.Values{"strategy": {"mobile"}})
		if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" ||
			!strings.Contains(r.body, `id="run-error">This website was analyzed less than a minute ago. Try again in `) {
			t.Errorf("second run within a minute: %d, Retry-After %q\n%s", r.StatusCode, r.Header.Get("Retry-After"), r.body)
		}
		r = c.post("/dashboard/sites/"+bare.Id+"/seo", url.Values{"strategy": {"tablet"}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Choose the mobile or the desktop strategy.") {
			t.Errorf("unknown strategy: %d", r.StatusCode)
		}
	})

	t.Run("failed analysis", func(t *testing.T) {
		if _, err := e.app.DB().Update(schema.SEOData, dbx.Params{"status": seorun.Failed, "error": "dial tcp: <refused>"},
			dbx.HashExp{"website": site.Id}).Execute(); err != nil {
			t.Fatal(err)
		}
		card := between(c.get("/dashboard/sites/"+site.Id).body, `id="card-seo"`, "</section>")
		if !strings.Contains(card, `role="alert" id="seo-error">The last analysis failed: dial tcp: &lt;refused&gt;`) || !strings.Contains(card, ">Excellent<") {
			t.Errorf("card after a failure (keeps the last analysis):\n%s", card)
		}
	})

	t.Run("other accounts and shared links", func(t *testing.T) {
		b := e.client(t)
		b.mustLogin("bob@seo.example", "bob-password-123")
		n := len(calls)
		for _, r := range []resp{b.get(seoPath), b.post(seoPath, url.Values{"strategy": {"mobile"}})} {
			if r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "Handmade") {
				t.Errorf("another user: %d", r.StatusCode)
			}
		}
		if len(calls) != n {
			t.Error("another user's POST reached Options.SEO")
		}
		link := createShare(t, c, site.Id, url.Values{"name": {"public"}})
		r, err := http.Get(e.srv.URL + link)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, r)
		if r.StatusCode != http.StatusOK || !strings.Contains(body, `class="kpis"`) || strings.Contains(body, "card-seo") || strings.Contains(body, "/seo") {
			t.Errorf("shared link: %d, SEO card or link shown", r.StatusCode)
		}
	})

	t.Run("SEO analysis off", func(t *testing.T) {
		e.use(dashboard.Options{})
		c := e.client(t)
		c.mustLogin("ada@seo.example", "ada-password-123")
		r := c.get(seoPath)
		if !strings.Contains(r.body, `id="seo-off"`) || strings.Contains(r.body, `id="run-form"`) {
			t.Errorf("SEO off: the page offers to run\n%s", r.body)
		}
		if r := c.post(seoPath, url.Values{"strategy": {"mobile"}}); r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("POST with SEO off: %d", r.StatusCode)
		}
	})
}

// between is the part of s from the first start to the next end after it
// ("" when start is absent).
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// seoHostile are texts an analyzed site controls; none may run or link.
var seoHostile = []string{
	`<script>window.__xss=1</script>`,
	`"><img src=x onerror="window.__xss=1">`,
	`javascript:window.__xss=1`,
	`'><svg onload=window.__xss=1>`,
}

// hostileLabel fits seo_data.label (32 characters).
const hostileLabel = `"><svg onload=window.__xss=1>`

// hostileResult is an analysis of a site whose every text is hostile.
func hostileResult() seo.Result {
	h := seoHostile
	res := goodResult()
	res.URL = "https://evil.seo.example/"
	res.MetaTags = seo.MetaTags{Title: h[0], Description: h[1], Keywords: h[3], Canonical: h[2], Robots: h[1], Viewport: h[3], Charset: h[0], Language: h[1]}
	res.SocialMetaTags = seo.SocialMetaTags{OpenGraph: map[string]string{"title": h[1], h[0]: h[3], "url": h[2]}, Twitter: map[string]string{"card": h[0]}}
	res.Headings = seo.Headings{H1: []string{h[0], h[1]}, H2: []string{h[3]}, H3: []string{h[2]}, SkippedLevels: []string{h[1]}}
	res.Images = seo.Images{Total: 4, WithoutAlt: 4, MissingAlt: []string{h[2], h[1]}, EmptyAlt: []string{h[0]},
		PoorQualityAlt: []seo.ImageAlt{{Src: h[2], Alt: h[1]}, {Src: h[3], Alt: h[0]}}, Oversized: []seo.OversizedImage{{Src: h[1], Width: 4000}}}
	res.Links = seo.Links{Total: 4, Broken: []seo.BrokenLink{{URL: h[2], StatusCode: 404}, {URL: h[1], Error: h[0]}},
		EmptyAnchors: []string{h[2]}, SuspiciousLinks: []seo.SuspiciousLink{{Href: h[2], Reason: h[1]}}}
	res.TechnicalSEO.FinalURL, res.TechnicalSEO.HTTPSError, res.TechnicalSEO.CacheControl = h[2], h[1], h[0]
	res.TechnicalSEO.StructuredDataTypes = []string{h[3]}
	res.TechnicalSEO.Sitemaps = []seo.SitemapCheck{{URL: h[2], Error: h[1]}}
	res.AnalysisWarnings = []string{h[0]}
	res.Recommendations = []seo.Recommendation{{Priority: seo.PriorityCritical, Category: h[3], Title: h[0], Description: h[1], Fix: h[2]},
		{Priority: h[1], Category: "meta", Title: h[3], Fix: h[0]}}
	res.Label = hostileLabel
	return res
}

// TestSEOHostileAnalysis: every text of a hostile analysis comes out
// escaped, as text: no element, attribute or link of its making.
func TestSEOHostileAnalysis(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Evil", "evil.seo.example", "")
	saveAnalysis(t, e.app, site, hostileResult(), seorun.Failed, seoHostile[1])
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	for _, path := range []string{"/dashboard/sites/" + site.Id, "/dashboard/sites/" + site.Id + "/seo"} {
		r := c.get(path)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, r.StatusCode, r.body)
		}
		for _, bad := range []string{"<script>window", "<img src=x", "<svg onload", `onerror="`, `href="javascript:`,
			`class="seo-label &#34;`, "band-&"} {
			if strings.Contains(r.body, bad) {
				t.Errorf("%s holds %q", path, bad)
			}
		}
		// the label is stored text: shown escaped, never a class
		if !strings.Contains(r.body, `<p class="seo-label band-none" id="seo-label">`+html.EscapeString(hostileLabel)+`</p>`) {
			t.Errorf("%s: the hostile label is not shown escaped with no band", path)
		}
	}
	body := c.get("/dashboard/sites/" + site.Id + "/seo").body
	for _, h := range seoHostile {
		if !strings.Contains(body, html.EscapeString(h)) {
			t.Errorf("the SEO page does not show %q as text", h)
		}
	}
	if n := strings.Count(body, "<a "); n != strings.Count(body, `<a href="/dashboard`)+strings.Count(body, `<a class="skip" href="#main"`)+strings.Count(body, `<a class="brand" href="/dashboard/"`) {
		t.Errorf("a link that is not the dashboard's own: %d links", n)
	}
}

// TestWebsiteHomePageURL: the add and edit forms take the home page URL,
// which the record hook checks (its refusal shows at the field) and
// defaults to https://<domain>/.
func TestWebsiteHomePageURL(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	r := c.get("/dashboard/websites")
	if !strings.Contains(r.body, `<label for="url">Home page URL (optional)</label>`) || !strings.Contains(r.body, `placeholder="https://www.example.com/"`) {
		t.Fatalf("the add form lacks the home page URL\n%s", r.body)
	}
	r = c.post("/dashboard/websites", url.Values{"domain": {"url.example"}, "url": {"ftp://url.example/"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="url-err">The home page URL must start with https:// or http://.`) ||
		!strings.Contains(r.body, `aria-invalid="true"`) || !strings.Contains(r.body, `value="ftp://url.example/"`) {
		t.Errorf("bad URL: %d\n%s", r.StatusCode, r.body)
	}
	home := func(domain string) (*core.Record, string) {
		t.Helper()
		rec, err := e.app.FindFirstRecordByData(schema.Websites, "domain", domain)
		if err != nil {
			t.Fatal(err)
		}
		return rec, rec.GetString("url")
	}
	if r := c.post("/dashboard/websites", url.Values{"domain": {"url.example"}, "url": {"http://localhost:8081"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", r.StatusCode, r.body)
	}
	rec, got := home("url.example")
	if got != "http://localhost:8081/" {
		t.Errorf("stored url %q", got)
	}
	edit := "/dashboard/websites/" + rec.Id
	if r := c.get(edit); !strings.Contains(r.body, `id="url" name="url" type="url" inputmode="url" value="http://localhost:8081/"`) {
		t.Errorf("the edit form does not show the URL\n%s", r.body)
	}
	form := url.Values{"name": {"URL"}, "domain": {"url.example"}, "timezone": {""}, "reportFrequency": {"none"}}
	form.Set("url", "https://user:pw@url.example/")
	if r := c.post(edit, form); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="url-err">The home page URL must not contain a user name or password.`) {
		t.Errorf("edit with a bad URL: %d", r.StatusCode)
	}
	form.Set("url", "")
	if r := c.post(edit, form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", r.StatusCode, r.body)
	}
	if _, got := home("url.example"); got != "https://url.example/" {
		t.Errorf("emptied url stored as %q, want the default", got)
	}
}
