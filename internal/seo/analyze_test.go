package seo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

const perfectHome = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Skopos Test Bakery: Fresh Sourdough Bread Every Morning</title>
<meta name="description" content="Skopos Test Bakery bakes sourdough, rye and spelt loaves by hand every night and delivers them warm to your door before breakfast, six days a week, all year.">
<link rel="canonical" href="{{site}}/">
<meta property="og:title" content="Skopos Test Bakery">
<meta property="og:description" content="Fresh sourdough bread every morning.">
<meta property="og:image" content="{{site}}/img/loaf.jpg">
<meta property="og:url" content="{{site}}/">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="Skopos Test Bakery">
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"Bakery","name":"Skopos Test Bakery"},{"@type":["WebSite","Thing"]}]}</script>
</head>
<body>
<h1>Fresh sourdough, delivered</h1>
<h2>Our breads</h2>
<h3>Sourdough</h3>
<h2>Delivery</h2>
<img src="/img/loaf.jpg" alt="A sourdough loaf on a wooden board" title="Sourdough" width="800" height="600">
<a href="/about">About us</a>
<a href="/contact#form"><img src="/img/mail.png" alt="Contact us" title="Contact"></a>
<a href="https://example.org/flour" rel="nofollow">Our flour mill</a>
<a href="mailto:bread@example.org">Write to us</a>
</body>
</html>`

func perfectSite() site {
	return site{
		"/":            withHeader("Cache-Control", "public, max-age=300", gzipped(htmlPage(perfectHome))),
		"/robots.txt":  serve("text/plain", "User-agent: *\nDisallow: /admin/\n\nSitemap: {{site}}/sitemap.xml\n"),
		"/sitemap.xml": serve("application/xml", `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>{{site}}/</loc></url><url><loc>{{site}}/about</loc></url></urlset>`),
		"/about":       htmlPage("<title>About</title>"),
		"/contact":     htmlPage("<title>Contact</title>"),
	}
}

func TestNearPerfectSiteScoresExcellent(t *testing.T) {
	srv := perfectSite().start(t, true)
	res := analyze(t, srv, srv.URL)

	if res.Score < 90 || res.Label != LabelExcellent {
		t.Errorf("without PageSpeed: score %d %q, want >= 90 Excellent; categories %+v", res.Score, res.Label, res.Categories)
	}
	if !res.Categories["performance"].NotApplicable {
		t.Errorf("performance category without PageSpeed = %+v, want N/A", res.Categories["performance"])
	}
	if c := critical(res); len(c) > 0 {
		t.Errorf("critical recommendations on a near-perfect site: %v", c)
	}
	ts := res.TechnicalSEO
	if !ts.HasSSL || !ts.HasSitemap || !ts.HasRobotsTxt || !ts.Compression || ts.ContentEncoding != "gzip" || !ts.Caching || !ts.HasStructuredData {
		t.Errorf("technical checks = %+v", ts)
	}
	if want := []string{"Bakery", "Thing", "WebSite"}; !slices.Equal(ts.StructuredDataTypes, want) {
		t.Errorf("structured data types = %v, want %v", ts.StructuredDataTypes, want)
	}
	if res.Links.Checked != 2 || len(res.Links.Broken) != 0 {
		t.Errorf("links checked %d, broken %v; want 2 checked, none broken", res.Links.Checked, res.Links.Broken)
	}
	golden(t, srv, res, "perfect")

	again := analyze(t, srv, srv.URL)
	a, _ := json.Marshal(res)
	b, _ := json.Marshal(again)
	if string(a) != string(b) {
		t.Errorf("two analyses of the same page differ:\n%s\n%s", a, b)
	}

	res.ApplyPageSpeed(&PageSpeedScores{Strategy: "mobile", Performance: intPtr(92), Accessibility: intPtr(100), BestPractices: intPtr(96), SEO: intPtr(100),
		FCP: floatPtr(812), LCP: floatPtr(1530.4), TBT: floatPtr(40), CLS: floatPtr(0.0123), SpeedIndex: floatPtr(1200), FetchTime: "2026-03-01T12:00:00.000Z"})
	if res.Score < 90 || res.Categories["performance"].Points != 9 {
		t.Errorf("with PageSpeed 92: score %d, performance %+v; want >= 90 and 9 points", res.Score, res.Categories["performance"])
	}
	if slices.Contains(res.AnalysisWarnings, noPageSpeedWarning) {
		t.Errorf("N/A warning kept after PageSpeed scores arrived: %v", res.AnalysisWarnings)
	}
	golden(t, srv, res, "perfect_pagespeed")
}

func TestBarePageGetsTheCriticalRecommendationsOfItsDefects(t *testing.T) {
	srv := site{
		"/":            htmlPage("<html><body><p>Hello</p></body></html>"),
		"/sitemap.xml": serve("application/xml", `<urlset><url><loc>{{site}}/</loc></url></urlset>`),
	}.start(t, true)
	res := analyze(t, srv, srv.URL+"/")

	want := []string{"meta: Missing title tag", "meta: Missing meta description", "mobile: No viewport meta tag", "content: Missing H1 heading"}
	if got := critical(res); !slices.Equal(got, want) {
		t.Errorf("critical recommendations = %q, want %q", got, want)
	}
	for _, r := range res.Recommendations {
		if r.Fix == "" || strings.Contains(r.Fix, "\n") {
			t.Errorf("recommendation %q has no one-line fix: %q", r.Title, r.Fix)
		}
	}
	if res.Label != LabelCritical && res.Label != LabelNeedsWork {
		t.Errorf("bare page: score %d %q", res.Score, res.Label)
	}
	golden(t, srv, res, "bare")
}

func TestBrokenInternalLinksAreFound(t *testing.T) {
	srv := site{
		"/": htmlPage(`<title>Links</title><a href="/ok">ok</a> <a href="/missing">missing</a> <a href="/error">error</a>
			<a href="/no-head">no head</a> <a href="/ok#again">ok again</a> <a href="{{site}}/">home</a>`),
		"/ok":    htmlPage("fine"),
		"/error": status(http.StatusInternalServerError),
		"/no-head": func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			_, _ = w.Write([]byte("fine with GET"))
		},
	}.start(t, true)
	res := analyze(t, srv, srv.URL)

	want := []BrokenLink{{URL: srv.URL + "/error", StatusCode: 500}, {URL: srv.URL + "/missing", StatusCode: 404}}
	if !slices.Equal(res.Links.Broken, want) || res.Links.Checked != 4 {
		t.Errorf("broken = %+v (checked %d), want %+v (checked 4: the page itself and a repeated link are skipped)", res.Links.Broken, res.Links.Checked, want)
	}
	if r := findRec(res, "Broken internal links"); r == nil || r.Priority != PriorityHigh || r.Category != CategoryLinks {
		t.Errorf("broken links recommendation = %+v", r)
	}
	golden(t, srv, res, "broken_links")
}

func TestMaxLinksBoundsTheLinksChecked(t *testing.T) {
	srv := site{"/": htmlPage(`<a href="/a">a</a><a href="/b">b</a><a href="/c">c</a>`)}.start(t, true)
	for _, tc := range []struct{ maxLinks, checked int }{{0, 3}, {2, 2}, {-1, 0}} {
		res, err := New(Options{Client: srv.Client(), MaxLinks: tc.maxLinks}).Analyze(context.Background(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if res.Links.Checked != tc.checked || len(res.Links.Broken) != tc.checked {
			t.Errorf("MaxLinks %d: checked %d, broken %d; want %d", tc.maxLinks, res.Links.Checked, len(res.Links.Broken), tc.checked)
		}
	}
}

func TestHTTPOnlySiteIsCriticallyInsecure(t *testing.T) {
	srv := site{"/": htmlPage(`<title>Plain</title>`)}.start(t, false)
	res := analyze(t, srv, srv.URL)
	if res.TechnicalSEO.HasSSL || !slices.Contains(critical(res), "security: No HTTPS") {
		t.Errorf("http site: hasSSL %v, critical %v", res.TechnicalSEO.HasSSL, critical(res))
	}
	golden(t, srv, res, "http_only")

	// Asked for https, the site falls back to http and says why.
	res = analyze(t, srv, strings.Replace(srv.URL, "http://", "https://", 1))
	ts := res.TechnicalSEO
	if ts.HasSSL || ts.HTTPSError == "" || !strings.HasPrefix(ts.FinalURL, "http://") {
		t.Errorf("https to an http-only site: %+v", ts)
	}
	if r := findRec(res, "No HTTPS"); r == nil || r.Priority != PriorityCritical || !strings.Contains(r.Description, ts.HTTPSError) {
		t.Errorf("No HTTPS recommendation = %+v", r)
	}
	if !slices.ContainsFunc(res.AnalysisWarnings, func(w string) bool { return strings.HasPrefix(w, "HTTPS failed") }) {
		t.Errorf("warnings = %q, want the HTTPS failure", res.AnalysisWarnings)
	}
}

func TestHTTPRedirectedToHTTPSCountsAsHTTPS(t *testing.T) {
	secure := site{"/": htmlPage(`<title>Secure</title>`)}.start(t, true)
	plain := site{"/": func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, secure.URL+"/", http.StatusMovedPermanently)
	}}.start(t, false)
	res, err := New(Options{Client: secure.Client()}).Analyze(context.Background(), plain.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !res.TechnicalSEO.HasSSL || res.TechnicalSEO.FinalURL != secure.URL+"/" {
		t.Errorf("after redirect to https: hasSSL %v, final %s", res.TechnicalSEO.HasSSL, res.TechnicalSEO.FinalURL)
	}
}

func TestUnreachableHomePageIsAnError(t *testing.T) {
	down := site{}.start(t, true)
	client := down.Client()
	down.Close()
	if _, err := New(Options{Client: client}).Analyze(context.Background(), down.URL); !errors.Is(err, ErrUnreachable) {
		t.Errorf("closed server: err = %v, want ErrUnreachable", err)
	}

	failing := site{"/": status(http.StatusInternalServerError)}.start(t, true)
	_, err := New(Options{Client: failing.Client()}).Analyze(context.Background(), failing.URL)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "500") {
		t.Errorf("home page 500: err = %v, want ErrUnreachable naming the status", err)
	}

	for _, bad := range []string{"ftp://example.com/", "https://", "http://user:pw@example.com/", "https://exa mple.com/"} {
		if _, err := New(Options{}).Analyze(context.Background(), bad); !errors.Is(err, ErrInvalidURL) {
			t.Errorf("Analyze(%q): err = %v, want ErrInvalidURL", bad, err)
		}
	}
}

func TestBrotliCountsAsCompressedAndThePageIsReadUncompressed(t *testing.T) {
	srv := site{"/": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "br") {
			w.Header().Set("Content-Encoding", "br")
			_, _ = w.Write([]byte{0x8b, 0x02, 0x80, 0xff}) // not HTML: must not be parsed
			return
		}
		_, _ = w.Write([]byte(`<title>Brotli bakery</title>`))
	}}.start(t, true)
	res := analyze(t, srv, srv.URL)
	if ts := res.TechnicalSEO; !ts.Compression || ts.ContentEncoding != "br" || res.MetaTags.Title != "Brotli bakery" {
		t.Errorf("brotli: compression %v %q, title %q", ts.Compression, ts.ContentEncoding, res.MetaTags.Title)
	}
	if findRec(res, "No compression") != nil {
		t.Error("brotli page told to enable compression")
	}
}

func TestRobotsAndSitemapFindings(t *testing.T) {
	index := `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>{{site}}/a.xml</loc></sitemap></sitemapindex>`
	cases := []struct {
		name                         string
		site                         site
		robots, disallowAll, sitemap bool
		wantCritical                 string
		wantWarning                  string
	}{
		{name: "sitemap named by robots.txt", site: site{
			"/robots.txt":     serve("text/plain", "User-agent: *\nAllow: /\nSitemap: /maps/index.xml\n"),
			"/maps/index.xml": serve("application/xml", index),
		}, robots: true, sitemap: true},
		{name: "robots.txt blocks everything", site: site{
			"/robots.txt":  serve("text/plain", "User-agent: Googlebot\nDisallow:\n\nUser-agent: *\nDisallow: / # closed\n"),
			"/sitemap.xml": serve("application/xml", index),
		}, robots: true, disallowAll: true, sitemap: true, wantCritical: "technical: robots.txt blocks every crawler"},
		{name: "catch-all app answers HTML everywhere", site: site{
			"/robots.txt":  htmlPage("<!doctype html><title>App</title>"),
			"/sitemap.xml": htmlPage("<!doctype html><title>App</title>"),
		}, wantCritical: "technical: Missing sitemap", wantWarning: "robots.txt answered with an HTML page, not a robots file."},
		{name: "robots.txt fails", site: site{
			"/robots.txt": status(http.StatusServiceUnavailable),
		}, wantCritical: "technical: Missing sitemap", wantWarning: "robots.txt answered HTTP 503."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.site["/"] = htmlPage(`<title>Robots</title>`)
			srv := tc.site.start(t, true)
			res := analyze(t, srv, srv.URL)
			ts := res.TechnicalSEO
			if ts.HasRobotsTxt != tc.robots || ts.RobotsDisallowAll != tc.disallowAll || ts.HasSitemap != tc.sitemap {
				t.Errorf("robots %v disallowAll %v sitemap %v; want %v %v %v (sitemaps %+v)", ts.HasRobotsTxt, ts.RobotsDisallowAll, ts.HasSitemap, tc.robots, tc.disallowAll, tc.sitemap, ts.Sitemaps)
			}
			if tc.wantCritical != "" && !slices.Contains(critical(res), tc.wantCritical) {
				t.Errorf("critical = %q, want %q among them", critical(res), tc.wantCritical)
			}
			if tc.wantWarning != "" && !slices.Contains(res.AnalysisWarnings, tc.wantWarning) {
				t.Errorf("warnings = %q, want %q", res.AnalysisWarnings, tc.wantWarning)
			}
		})
	}
}

func TestBodiesAreCapped(t *testing.T) {
	const limit = 64 << 10
	huge := "<title>Big</title>" + strings.Repeat("<p>filler</p>", 2*limit/len("<p>filler</p>"))
	for name, h := range map[string]http.HandlerFunc{
		"plain":         htmlPage(huge),
		"gzip bomb too": gzipped(htmlPage(huge)), // small on the wire, over the cap once decoded
	} {
		t.Run(name, func(t *testing.T) {
			srv := site{"/": h}.start(t, true)
			a := New(Options{Client: srv.Client()})
			a.maxBody = limit
			res, err := a.Analyze(context.Background(), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if !res.TechnicalSEO.Truncated || res.PageSize != limit || res.MetaTags.Title != "Big" {
				t.Errorf("truncated %v, page size %d (cap %d), title %q", res.TechnicalSEO.Truncated, res.PageSize, limit, res.MetaTags.Title)
			}
			if !slices.ContainsFunc(res.AnalysisWarnings, func(w string) bool { return strings.Contains(w, "only its beginning") }) {
				t.Errorf("warnings = %q", res.AnalysisWarnings)
			}
		})
	}
}
