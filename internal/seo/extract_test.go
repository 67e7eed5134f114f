package seo

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestHostileTextIsKeptAsData(t *testing.T) {
	doc := `<html><head><title><script>alert(1)</script> &lt;b&gt;</title>
	<meta name="description" content="&quot;><script>alert(2)</script>">
	<meta property="og:title" content="<img src=x onerror=alert(3)>"></head>
	<body><h1>Hi <script>alert(4)</script>&lt;script&gt;there</h1>
	<img src="x.png" alt="<script>alert(5)</script>">
	<a href="javascript:alert(6)"><b></b></a></body></html>`
	p := extract([]byte(doc), mustURL(t, "https://site.test/"))
	checks := map[string][2]string{
		"title":       {p.meta.Title, "<script>alert(1)</script> <b>"},
		"description": {p.meta.Description, `"><script>alert(2)</script>`},
		"og:title":    {p.social.OpenGraph["title"], "<img src=x onerror=alert(3)>"},
		"h1":          {strings.Join(p.headings.H1, "|"), "Hi <script>there"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want the text %q", name, c[0], c[1])
		}
	}
	if p.images.WithAlt != 1 || p.images.Total != 1 {
		t.Errorf("images = %+v", p.images)
	}
	if want := []SuspiciousLink{{Href: "javascript:alert(6)", Reason: "javascript: link"}}; !slices.Equal(p.links.SuspiciousLinks, want) {
		t.Errorf("suspicious = %+v", p.links.SuspiciousLinks)
	}
	if len(p.toCheck) != 0 {
		t.Errorf("a javascript: link was queued for fetching: %v", p.toCheck)
	}
}

func TestImageChecks(t *testing.T) {
	doc := `<img src="/a.jpg" alt="A baker shaping dough" title="t">
	<img src="/b.jpg">
	<img src="/c.jpg" alt="">
	<img src="/d.jpg" alt="Photo 2">
	<img src="/e.jpg" alt="IMG_2041.JPG">
	<img src="/uploads/dsc0042.jpg?v=3" alt="DSC0042">
	<img src="/f.jpg" alt="Logo of the bakery" width="2400" height="100%">
	<img src="/g.jpg" alt="Wide view of the oven" width="2000px" height="2000">`
	im := extract([]byte(doc), mustURL(t, "https://site.test/")).images
	if im.Total != 8 || im.WithAlt != 6 || im.WithoutAlt != 2 || im.WithoutTitle != 7 {
		t.Errorf("counts = %+v", im)
	}
	if !slices.Equal(im.MissingAlt, []string{"/b.jpg"}) || !slices.Equal(im.EmptyAlt, []string{"/c.jpg"}) {
		t.Errorf("missing %v, empty %v", im.MissingAlt, im.EmptyAlt)
	}
	var poor []string
	for _, p := range im.PoorQualityAlt {
		poor = append(poor, p.Alt)
	}
	if want := []string{"Photo 2", "IMG_2041.JPG", "DSC0042"}; !slices.Equal(poor, want) {
		t.Errorf("poor alt = %q, want %q", poor, want)
	}
	if want := []OversizedImage{{Src: "/f.jpg", Width: 2400}}; !slices.Equal(im.Oversized, want) {
		t.Errorf("oversized = %+v, want %+v (2000 itself is not over)", im.Oversized, want)
	}
}

func TestLinkChecks(t *testing.T) {
	doc := `<head><base href="/blog/"></head>
	<a href="post-1">Post</a>
	<a href="https://SITE.test/about" rel="author NoFollow">About</a>
	<a href="https://other.test/">Other</a>
	<a href="mailto:a@site.test">Mail</a>
	<a href="#">Top</a>
	<a href=" JavaScript:void(0) ">Menu</a>
	<a href="http://[::1">Bad</a>
	<a href="/x"><img src="i.png" alt=""></a>
	<a href="/y" aria-label="Next page"></a>
	<a name="anchor-without-href">not a link</a>`
	ln := extract([]byte(doc), mustURL(t, "https://site.test/")).links
	got := []int{ln.Total, ln.Internal, ln.External, ln.Other, ln.Nofollow, len(ln.SuspiciousLinks)}
	if want := []int{9, 4, 1, 1, 1, 3}; !slices.Equal(got, want) {
		t.Errorf("total, internal, external, other, nofollow, suspicious = %v, want %v", got, want)
	}
	if !slices.Equal(ln.EmptyAnchors, []string{"/x"}) {
		t.Errorf("empty anchors = %q", ln.EmptyAnchors)
	}
	p := extract([]byte(doc), mustURL(t, "https://site.test/"))
	want := []string{"https://site.test/blog/post-1", "https://SITE.test/about", "https://site.test/x", "https://site.test/y"}
	if !slices.Equal(p.toCheck, want) {
		t.Errorf("links to check = %q, want %q", p.toCheck, want)
	}
}

func TestHeadingsAndStructuredData(t *testing.T) {
	doc := `<h1>One</h1><h3>Three</h3><h2>  Two
	words </h2><h4></h4><h6>Six</h6><svg><title>drawing</title></svg>
	<script type="application/ld+json">[{"@type":"Person"},{"@type":["Person","Author"]}]</script>
	<script type=" Application/LD+JSON ">{"@type": </script>
	<div itemscope itemtype="https://schema.org/Thing"></div>`
	p := extract([]byte(doc), mustURL(t, "https://site.test/"))
	h := p.headings
	if !slices.Equal(h.H2, []string{"Two words"}) || len(h.H4) != 0 || !slices.Equal(h.SkippedLevels, []string{"h1>h3", "h2>h4", "h4>h6"}) {
		t.Errorf("headings = %+v", h)
	}
	if p.meta.Title != "" {
		t.Errorf("an SVG title became the page title: %q", p.meta.Title)
	}
	ts := p.technical
	if ts.StructuredDataBlocks != 2 || ts.StructuredDataErrors != 1 || !slices.Equal(ts.StructuredDataTypes, []string{"Author", "Person"}) || !ts.Microdata || !ts.HasStructuredData {
		t.Errorf("structured data = %+v", ts)
	}
}

func TestParseRobots(t *testing.T) {
	cases := []struct {
		body        string
		disallowAll bool
		sitemaps    []string
	}{
		{"User-agent: *\nDisallow: /", true, nil},
		{"user-agent: *\ndisallow: /\nallow: /public", false, nil},
		{"User-agent: Googlebot\nUser-agent: *\nDisallow: /\n", true, nil},
		{"User-agent: *\nDisallow: /private\n", false, nil},
		{"User-agent: Badbot\nDisallow: /\n\nUser-agent: *\nDisallow:\n", false, nil},
		{"Sitemap: https://a.test/s1.xml\nSITEMAP: /s2.xml # second\nSitemap: https://a.test/s1.xml\n", false, []string{"https://a.test/s1.xml", "/s2.xml"}},
	}
	for _, tc := range cases {
		r := parseRobots([]byte(tc.body))
		if r.disallowAll != tc.disallowAll || !slices.Equal(r.sitemaps, tc.sitemaps) {
			t.Errorf("parseRobots(%q) = %+v, want disallowAll %v sitemaps %q", tc.body, r, tc.disallowAll, tc.sitemaps)
		}
	}
}

func TestParseSitemap(t *testing.T) {
	cases := []struct {
		body, kind string
		entries    int
		bad        bool
	}{
		{`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>a</loc></url><url><loc>b</loc></url></urlset>`, "urlset", 2, false},
		{`<sitemapindex><sitemap><loc>a</loc></sitemap></sitemapindex>`, "sitemapindex", 1, false},
		{`<urlset><url><loc>a</loc></url>`, "", 0, true},
		{`<!doctype html><html></html>`, "", 0, true},
		{`<rss></rss>`, "", 0, true},
		{``, "", 0, true},
	}
	for _, tc := range cases {
		kind, n, err := parseSitemap([]byte(tc.body), maxBody)
		if kind != tc.kind || n != tc.entries || (err != nil) != tc.bad {
			t.Errorf("parseSitemap(%q) = %q %d %v", tc.body, kind, n, err)
		}
	}
}

// Lists stay bounded whatever the page holds.
func TestListsAreCapped(t *testing.T) {
	doc := strings.Repeat(`<img src="x.png"><a href="#"></a><h2>h</h2>`, 3*maxListed+1)
	p := extract([]byte(doc), mustURL(t, "https://site.test/"))
	if p.images.Total != 3*maxListed+1 || len(p.images.MissingAlt) != maxListed || len(p.links.SuspiciousLinks) != maxListed || len(p.headings.H2) != maxListed {
		t.Errorf("images %d (%d listed), suspicious %d, h2 %d", p.images.Total, len(p.images.MissingAlt), len(p.links.SuspiciousLinks), len(p.headings.H2))
	}
	long := strings.Repeat("ü", 3*maxText)
	p = extract([]byte("<title>"+long+"</title>"), mustURL(t, "https://site.test/"))
	if p.meta.TitleLength != 3*maxText || charCount(p.meta.Title) != maxText || !utf8.ValidString(p.meta.Title) {
		t.Errorf("long title: length %d, kept %d characters", p.meta.TitleLength, charCount(p.meta.Title))
	}
}

func FuzzExtract(f *testing.F) {
	for _, seed := range []string{
		perfectHome,
		"",
		"<title>",
		"<a href='%zz'><img alt></a>",
		"<base href='::'><a href='x'>x</a>",
		`<script type="application/ld+json">{"@graph":[1,{"@type":[null,"A"]}]}</script>`,
		"<h1><h2><h3></h1><svg><h1>x</h1></svg><math><title>y</title></math>",
		"<img width='99999999999999999999' height='-5'>",
		"<meta http-equiv='Content-Type' content='text/html; charset=\"ISO-8859-1\"'><meta charset=''>",
		"\xff\xfe<title>\x00\xc3</title>",
	} {
		f.Add([]byte(seed))
	}
	base, _ := url.Parse("https://site.test/dir/page")
	f.Fuzz(func(t *testing.T, doc []byte) {
		p := extract(doc, base)
		im, ln := p.images, p.links
		if im.WithAlt+im.WithoutAlt != im.Total || len(im.MissingAlt)+len(im.EmptyAlt) > im.WithoutAlt {
			t.Fatalf("image counts inconsistent: %+v", im)
		}
		if ln.Internal+ln.External+ln.Other+len(ln.SuspiciousLinks) > ln.Total || len(p.toCheck) > ln.Internal {
			t.Fatalf("link counts inconsistent: %+v, %d to check", ln, len(p.toCheck))
		}
		for _, u := range p.toCheck {
			if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
				t.Fatalf("non-http link queued: %q", u)
			}
		}
		r := &Result{MetaTags: p.meta, SocialMetaTags: p.social, Headings: p.headings, Images: im, Links: ln, TechnicalSEO: p.technical}
		r.ApplyPageSpeed(nil)
		if r.Score < 0 || r.Score > 100 {
			t.Fatalf("score %d", r.Score)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}
