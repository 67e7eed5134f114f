package seo

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Recommendation categories.
const (
	CategoryMeta        = "meta"
	CategorySecurity    = "security"
	CategoryTechnical   = "technical"
	CategoryMobile      = "mobile"
	CategoryContent     = "content"
	CategoryImages      = "images"
	CategoryLinks       = "links"
	CategoryPerformance = "performance"
)

// largeHTML is the HTML size above which the document itself slows the
// first paint; images and scripts are PageSpeed's business.
const largeHTML = 1 << 20

// recommend lists what to fix, derived from the result's fields only, so
// it can be recomputed from a stored row. Within a priority, the order is
// that of the checks below.
func (r *Result) recommend() []Recommendation {
	rs := &recommendations{list: []Recommendation{}}
	r.recommendMeta(rs)
	r.recommendSite(rs)
	r.recommendPage(rs)
	slices.SortStableFunc(rs.list, func(a, b Recommendation) int { return rank(a.Priority) - rank(b.Priority) })
	return rs.list
}

type recommendations struct{ list []Recommendation }

func (rs *recommendations) add(priority, category, title, description, fix string) {
	rs.list = append(rs.list, Recommendation{Priority: priority, Category: category, Title: title, Description: description, Fix: fix})
}

// recommendMeta covers the title, description and other meta tags, Open
// Graph and Twitter Card.
func (r *Result) recommendMeta(rs *recommendations) {
	m := r.MetaTags
	switch n := m.titleLen(); titleFit(n) {
	case fitMissing:
		rs.add(PriorityCritical, CategoryMeta, "Missing title tag",
			"The page has no <title>; search results show it as the link text.",
			"Add a <title> of 50–60 characters naming the page and its main keyword.")
	case fitTooShort:
		rs.add(PriorityHigh, CategoryMeta, "Title tag too short",
			fmt.Sprintf("The title has %d characters; 50–60 use the room search results give it.", n),
			"Lengthen the title to 50–60 characters with the page's main keyword.")
	case fitShort:
		rs.add(PriorityLow, CategoryMeta, "Title tag a little short",
			fmt.Sprintf("The title has %d characters; 50–60 is best.", n),
			"Add a few words to the title to reach 50–60 characters.")
	case fitLong:
		rs.add(PriorityMedium, CategoryMeta, "Title tag too long",
			fmt.Sprintf("The title has %d characters; search results cut it after about 60.", n),
			"Shorten the title to 50–60 characters, most important words first.")
	}
	switch n := m.descriptionLen(); descriptionFit(n) {
	case fitMissing:
		rs.add(PriorityCritical, CategoryMeta, "Missing meta description",
			"The page has no meta description; search engines pick a snippet themselves.",
			`Add <meta name="description" content="…"> with 150–160 characters summarising the page.`)
	case fitTooShort:
		rs.add(PriorityHigh, CategoryMeta, "Meta description too short",
			fmt.Sprintf("The description has %d characters; 150–160 is best.", n),
			"Expand the meta description to 150–160 characters.")
	case fitShort:
		rs.add(PriorityLow, CategoryMeta, "Meta description a little short",
			fmt.Sprintf("The description has %d characters; 150–160 is best.", n),
			"Add a few words to the meta description to reach 150–160 characters.")
	case fitLong:
		rs.add(PriorityMedium, CategoryMeta, "Meta description too long",
			fmt.Sprintf("The description has %d characters; search results cut it after about 160.", n),
			"Shorten the meta description to 150–160 characters.")
	}
	if m.Canonical == "" {
		rs.add(PriorityHigh, CategoryMeta, "Missing canonical URL",
			"Without a canonical URL, variants of the address (www, trailing slash, parameters) compete as duplicates.",
			`Add <link rel="canonical" href="…"> with the page's preferred address.`)
	}
	if hasToken(m.Robots, "noindex") {
		rs.add(PriorityHigh, CategoryMeta, "Page asks not to be indexed",
			fmt.Sprintf("The robots meta tag says %q, so search engines leave the home page out.", m.Robots),
			`Remove "noindex" from the robots meta tag if the page should appear in search results.`)
	}
	if m.Charset == "" {
		rs.add(PriorityLow, CategoryMeta, "No character set declared",
			"Browsers and crawlers may guess the encoding wrong and garble text.",
			`Add <meta charset="utf-8"> as the first element of <head>.`)
	}
	if m.Language == "" {
		rs.add(PriorityLow, CategoryMeta, "No page language",
			"The <html> element has no lang attribute, which search engines and screen readers use.",
			`Add a lang attribute, e.g. <html lang="en">.`)
	}
	if missing := missingKeys(r.SocialMetaTags.OpenGraph, "title", "description", "image", "url"); len(missing) > 0 {
		rs.add(PriorityMedium, CategoryMeta, "Open Graph tags incomplete",
			"Missing "+strings.Join(prefixed("og:", missing), ", ")+"; shared links show a poor preview.",
			`Add <meta property="og:…" content="…"> for each missing tag.`)
	}
	if r.SocialMetaTags.Twitter["card"] == "" {
		rs.add(PriorityLow, CategoryMeta, "No Twitter Card",
			"Without twitter:card, links shared on X show no rich preview.",
			`Add <meta name="twitter:card" content="summary_large_image">.`)
	}
}

// recommendSite covers HTTPS, sitemaps, robots.txt, structured data and
// the viewport.
func (r *Result) recommendSite(rs *recommendations) {
	t := r.TechnicalSEO
	if !t.HasSSL {
		d := "The site is not served over HTTPS; browsers mark it insecure and search engines rank it lower."
		if t.HTTPSError != "" {
			d += " The HTTPS request failed: " + t.HTTPSError
		}
		rs.add(PriorityCritical, CategorySecurity, "No HTTPS", d,
			"Install a TLS certificate (e.g. Let's Encrypt) and redirect http to https.")
	}

	if !t.HasSitemap {
		d := "No sitemap was found"
		if bad := unparsedSitemaps(t.Sitemaps); len(bad) > 0 {
			d += " (" + strings.Join(bad, "; ") + ")"
		}
		rs.add(PriorityCritical, CategoryTechnical, "Missing sitemap", d+"; search engines discover pages more slowly.",
			"Publish /sitemap.xml listing your pages and name it in robots.txt (Sitemap: …).")
	}
	switch {
	case !t.HasRobotsTxt:
		rs.add(PriorityHigh, CategoryTechnical, "Missing robots.txt",
			"No robots.txt was found to guide crawlers and point them to the sitemap.",
			"Add /robots.txt with a User-agent: * group and a Sitemap: line.")
	case t.RobotsDisallowAll:
		rs.add(PriorityCritical, CategoryTechnical, "robots.txt blocks every crawler",
			`robots.txt says "Disallow: /" for all user agents, so search engines crawl nothing.`,
			`Remove "Disallow: /" from the User-agent: * group of robots.txt.`)
	}
	if !t.HasStructuredData {
		rs.add(PriorityMedium, CategoryTechnical, "No structured data",
			"No JSON-LD or microdata describes the page, so it cannot get rich results.",
			`Add a <script type="application/ld+json"> block, e.g. an Organization or WebSite.`)
	}
	if t.StructuredDataErrors > 0 {
		rs.add(PriorityMedium, CategoryTechnical, "Structured data does not parse",
			fmt.Sprintf("%d JSON-LD block(s) are not valid JSON and are ignored by search engines.", t.StructuredDataErrors),
			"Validate the JSON-LD blocks (e.g. with the Rich Results Test) and fix their syntax.")
	}

	if !t.MobileResponsive {
		rs.add(PriorityCritical, CategoryMobile, "No viewport meta tag",
			"Without a viewport the page renders at desktop width on phones; indexing is mobile-first.",
			`Add <meta name="viewport" content="width=device-width, initial-scale=1">.`)
	}
}

// recommendPage covers headings, images, links and performance.
func (r *Result) recommendPage(rs *recommendations) {
	t, im, ln, h := r.TechnicalSEO, r.Images, r.Links, r.Headings
	switch {
	case len(h.H1) == 0:
		rs.add(PriorityCritical, CategoryContent, "Missing H1 heading",
			"The page has no H1 saying what it is about.",
			"Add exactly one <h1> with the page's main topic.")
	case len(h.H1) > 1:
		rs.add(PriorityHigh, CategoryContent, "Multiple H1 headings",
			fmt.Sprintf("The page has %d H1 headings; one states the topic clearly.", len(h.H1)),
			"Keep one <h1> and turn the others into <h2>.")
	}
	if len(h.H2) == 0 {
		rs.add(PriorityMedium, CategoryContent, "No H2 headings",
			"The content has no H2 sections for readers and crawlers to follow.",
			"Structure the content with <h2> headings for its main sections.")
	}
	if len(h.SkippedLevels) > 0 {
		rs.add(PriorityLow, CategoryContent, "Heading levels skipped",
			"Heading levels jump ("+strings.Join(h.SkippedLevels, ", ")+"), which breaks the outline.",
			"Use heading levels in order without gaps (h1, then h2, then h3).")
	}

	if im.Total > 0 && im.WithAlt < im.Total {
		coverage, priority := 100*im.WithAlt/im.Total, PriorityMedium
		if coverage < 50 {
			priority = PriorityHigh
		}
		rs.add(priority, CategoryImages,
			count(im.WithoutAlt, "image", "images")+" without alt text",
			fmt.Sprintf("Alt text coverage is %d%%; screen readers and image search rely on it.", coverage),
			"Add an alt attribute describing each meaningful image.")
	}
	if len(im.PoorQualityAlt) > 0 {
		rs.add(PriorityMedium, CategoryImages, "Generic alt text",
			count(len(im.PoorQualityAlt), "image has", "images have")+" alt text that says nothing (like \"image\" or a file name).",
			"Describe what each image shows in its alt text.")
	}
	if len(im.Oversized) > 0 {
		rs.add(PriorityMedium, CategoryPerformance, "Oversized images",
			count(len(im.Oversized), "image is", "images are")+" declared larger than 2000 px.",
			"Resize images to their display size and serve srcset variants.")
	}

	if len(ln.Broken) > 0 {
		rs.add(PriorityHigh, CategoryLinks, "Broken internal links",
			fmt.Sprintf("%d of %d checked internal links fail.", len(ln.Broken), ln.Checked),
			"Fix or remove the links listed under broken links.")
	}
	if len(ln.EmptyAnchors) > 0 {
		rs.add(PriorityMedium, CategoryLinks, "Links without anchor text",
			count(len(ln.EmptyAnchors), "link has", "links have")+" no text for crawlers and screen readers.",
			"Give each link visible text, an image with alt text, or an aria-label.")
	}
	if len(ln.SuspiciousLinks) > 0 {
		rs.add(PriorityLow, CategoryLinks, "Placeholder links",
			count(len(ln.SuspiciousLinks), "link leads", "links lead")+" nowhere (\"#\", javascript: or an invalid URL).",
			"Use real URLs for links, and <button> for actions.")
	}

	if !t.Compression {
		rs.add(PriorityHigh, CategoryPerformance, "No compression",
			"The home page was sent uncompressed although gzip and brotli were accepted.",
			"Enable gzip or brotli compression for HTML, CSS and JavaScript on the server.")
	}
	if !t.Caching {
		rs.add(PriorityMedium, CategoryPerformance, "No cache headers",
			"The home page has no Cache-Control or Expires header.",
			"Send Cache-Control (e.g. no-cache for HTML, max-age with hashed names for assets).")
	}
	if r.PageSize > largeHTML {
		rs.add(PriorityMedium, CategoryPerformance, "Large HTML document",
			fmt.Sprintf("The HTML is %d KiB; it delays the first paint.", r.PageSize/1024),
			"Move inline data, styles and scripts out of the HTML and paginate long content.")
	}
	if p := t.PageSpeed; p != nil {
		switch {
		case *p < 50:
			rs.add(PriorityCritical, CategoryPerformance, "Poor performance score",
				fmt.Sprintf("PageSpeed Insights rates performance %d/100.", *p),
				"Work through PageSpeed's opportunities: image sizes, render-blocking resources, JavaScript.")
		case *p < 80:
			rs.add(PriorityMedium, CategoryPerformance, "Performance could be better",
				fmt.Sprintf("PageSpeed Insights rates performance %d/100.", *p),
				"Optimise assets and remove render-blocking resources.")
		}
	}
}

func rank(priority string) int {
	return slices.Index([]string{PriorityCritical, PriorityHigh, PriorityMedium, PriorityLow}, priority)
}

func missingKeys(m map[string]string, keys ...string) []string {
	var out []string
	for _, k := range keys {
		if m[k] == "" {
			out = append(out, k)
		}
	}
	return out
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

func unparsedSitemaps(checks []SitemapCheck) []string {
	var out []string
	for _, c := range checks {
		if c.Error != "" {
			out = append(out, c.URL+": "+c.Error)
		}
	}
	return out
}

// hasToken reports whether a comma- or space-separated list contains tok,
// ignoring case.
func hasToken(list, tok string) bool {
	return slices.ContainsFunc(strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }),
		func(f string) bool { return strings.EqualFold(f, tok) })
}

// count is "1 image" or "3 images": recommendations are read by people.
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
