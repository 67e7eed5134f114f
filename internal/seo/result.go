package seo

import "time"

// Result is one analysis of a site's home page. Its JSON field names are
// those of the reference dashboard's seo_data row, so a row migrated from it
// decodes into a Result; fields the reference lacks are additions.
type Result struct {
	// URL is the address the analysis was asked for, normalised.
	URL               string             `json:"url"`
	MetaTags          MetaTags           `json:"metaTags"`
	SocialMetaTags    SocialMetaTags     `json:"socialMetaTags"`
	TechnicalSEO      TechnicalSEO       `json:"technicalSeo"`
	Headings          Headings           `json:"headings"`
	Images            Images             `json:"images"`
	Links             Links              `json:"links"`
	PerformanceScores *PerformanceScores `json:"performanceScores"`
	LighthouseData    *LighthouseData    `json:"lighthouseData"`
	// AnalysisWarnings are what the analysis could not do (a secondary fetch
	// failed, PageSpeed scores are missing); they are not defects of the page.
	AnalysisWarnings []string `json:"analysisWarnings"`
	// Recommendations are ordered by priority (critical first), then by a
	// fixed order of checks.
	Recommendations []Recommendation `json:"recommendations"`
	// LoadTime is the time from the home page request to its last byte, in
	// milliseconds; the only value that differs between two analyses of the
	// same page.
	LoadTime int64 `json:"loadTime"`
	// PageSize is the size of the home page's HTML after decompression, in
	// bytes.
	PageSize int64 `json:"pageSize"`
	// LastAnalyzed is when the analysis started.
	LastAnalyzed time.Time `json:"lastAnalyzed"`
	// Score is 0–100; see ApplyPageSpeed for how it is computed.
	Score int `json:"score"`
	// Label names the score's band: Excellent, Strong, Good, Needs work or
	// Critical.
	Label string `json:"label"`
	// Categories holds the points of each scored category, keyed meta,
	// social, headings, images, technical and performance.
	Categories map[string]CategoryScore `json:"categories"`
}

// CategoryScore is the points one category earned out of its maximum.
type CategoryScore struct {
	Points int `json:"points"`
	Max    int `json:"max"`
	// NotApplicable is set for performance when no PageSpeed scores are
	// known: the dashboard shows "N/A" and the category is left out of the
	// score.
	NotApplicable bool `json:"notApplicable,omitempty"`
}

// MetaTags are the page's title and document-level meta data. An absent tag
// is an empty string.
type MetaTags struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	Keywords    string `json:"keywords"`
	Canonical   string `json:"canonical"`
	Robots      string `json:"robots"`
	Viewport    string `json:"viewport"`
	Charset     string `json:"charset"`
	Language    string `json:"language"`
	// TitleLength and DescriptionLength count characters (not bytes).
	TitleLength       int `json:"titleLength"`
	DescriptionLength int `json:"descriptionLength"`
}

// SocialMetaTags are the Open Graph (og:*) and Twitter Card (twitter:*)
// properties, keyed without their prefix ("title", "image", "card"). The
// first value of a repeated property wins.
type SocialMetaTags struct {
	OpenGraph map[string]string `json:"openGraph"`
	Twitter   map[string]string `json:"twitter"`
}

// Headings lists the text of each level's headings in document order.
// Headings without text are not listed.
type Headings struct {
	H1 []string `json:"h1"`
	H2 []string `json:"h2"`
	H3 []string `json:"h3"`
	H4 []string `json:"h4"`
	H5 []string `json:"h5"`
	H6 []string `json:"h6"`
	// SkippedLevels names each jump of more than one level between
	// consecutive headings ("h1>h3"), once each, in order of appearance.
	SkippedLevels []string `json:"skippedLevels"`
}

// Images summarises the page's <img> elements. Lists hold at most
// maxListed entries; the counts are exact.
type Images struct {
	Total        int `json:"total"`
	WithAlt      int `json:"withAlt"`
	WithoutAlt   int `json:"withoutAlt"`
	WithoutTitle int `json:"withoutTitle"`
	// MissingAlt lists the sources of images without an alt attribute.
	MissingAlt []string `json:"missingAlt"`
	// EmptyAlt lists the sources of images with alt="" (counted as without
	// alt text, as the reference does).
	EmptyAlt []string `json:"emptyAlt"`
	// PoorQualityAlt lists images whose alt text says nothing: a generic
	// word ("image", "photo2") or a file name.
	PoorQualityAlt []ImageAlt `json:"poorQualityAlt"`
	// Oversized lists images declaring a width or height above 2000 px.
	Oversized []OversizedImage `json:"oversized"`
}

// ImageAlt is an image's source and alt text.
type ImageAlt struct {
	Src string `json:"src"`
	Alt string `json:"alt"`
}

// OversizedImage is an image whose declared size exceeds 2000 px; an
// attribute that is absent or not a number is 0.
type OversizedImage struct {
	Src    string `json:"src"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// Links summarises the page's <a href> elements. Lists hold at most
// maxListed entries; the counts are exact.
type Links struct {
	Total    int `json:"total"`
	Internal int `json:"internal"`
	External int `json:"external"`
	// Other counts links that are neither http nor https (mailto:, tel:).
	Other    int `json:"other"`
	Nofollow int `json:"nofollow"`
	// Checked is how many distinct internal links were requested to find
	// broken ones.
	Checked int `json:"checked"`
	// Broken lists the checked internal links that failed, sorted by URL.
	Broken []BrokenLink `json:"broken"`
	// EmptyAnchors lists the href of links without text, image alt text,
	// aria-label or title.
	EmptyAnchors []string `json:"emptyAnchors"`
	// SuspiciousLinks lists placeholder links ("", "#", javascript:) and
	// hrefs that are not URLs.
	SuspiciousLinks []SuspiciousLink `json:"suspiciousLinks"`
}

// BrokenLink is an internal link that answered with a status of 400 or more
// (StatusCode) or could not be fetched (Error).
type BrokenLink struct {
	URL        string `json:"url"`
	StatusCode int    `json:"statusCode,omitempty"`
	Error      string `json:"error,omitempty"`
}

// SuspiciousLink is a link that leads nowhere, and why.
type SuspiciousLink struct {
	Href   string `json:"href"`
	Reason string `json:"reason"`
}

// TechnicalSEO holds the site-level checks.
type TechnicalSEO struct {
	HasRobotsTxt bool `json:"hasRobotsTxt"`
	HasSitemap   bool `json:"hasSitemap"`
	// HasSSL is true when the home page was finally served over https
	// (directly or through a redirect).
	HasSSL            bool `json:"hasSSL"`
	HasStructuredData bool `json:"hasStructuredData"`
	// MobileResponsive is true when the page declares a viewport.
	MobileResponsive bool `json:"mobileResponsive"`
	// PageSpeed is the PageSpeed Insights performance score, if known.
	PageSpeed         *int   `json:"pageSpeed"`
	PageSpeedStrategy string `json:"pageSpeedStrategy"`
	// Compression is true when the home page came gzip, brotli or otherwise
	// content-encoded in answer to Accept-Encoding: gzip, br.
	Compression bool `json:"compression"`
	// Caching is true when the home page carries Cache-Control or Expires.
	Caching bool `json:"caching"`

	FinalURL        string `json:"finalUrl"`
	StatusCode      int    `json:"statusCode"`
	ContentType     string `json:"contentType"`
	ContentEncoding string `json:"contentEncoding"`
	CacheControl    string `json:"cacheControl"`
	// HTTPSError is why the https request failed when the analysis fell
	// back to http.
	HTTPSError string `json:"httpsError,omitempty"`
	// Truncated is set when the home page exceeded the body cap and only its
	// beginning was analyzed.
	Truncated bool `json:"truncated,omitempty"`
	// RobotsDisallowAll is true when robots.txt forbids the whole site to
	// every crawler (User-agent: * with Disallow: /).
	RobotsDisallowAll bool `json:"robotsDisallowAll"`
	// Sitemaps are the sitemaps tried: those robots.txt names, then
	// /sitemap.xml.
	Sitemaps []SitemapCheck `json:"sitemaps"`
	// StructuredDataTypes are the distinct JSON-LD @type values, sorted.
	StructuredDataTypes []string `json:"structuredDataTypes"`
	// StructuredDataBlocks counts JSON-LD scripts; StructuredDataErrors
	// those that are not valid JSON.
	StructuredDataBlocks int `json:"structuredDataBlocks"`
	StructuredDataErrors int `json:"structuredDataErrors"`
	// Microdata is true when the page uses itemscope or RDFa (vocab,
	// typeof) attributes.
	Microdata bool `json:"microdata"`
}

// SitemapCheck is the outcome of fetching one sitemap.
type SitemapCheck struct {
	URL        string `json:"url"`
	StatusCode int    `json:"statusCode"`
	// Kind is "urlset" or "sitemapindex" when the sitemap parsed.
	Kind string `json:"kind,omitempty"`
	// Entries counts its <url> (or <sitemap>) elements.
	Entries int    `json:"entries"`
	Error   string `json:"error,omitempty"`
}

// Recommendation is one thing to fix, with how.
type Recommendation struct {
	// Priority is critical, high, medium or low.
	Priority string `json:"priority"`
	// Category is meta, security, technical, mobile, content, images, links
	// or performance.
	Category string `json:"category"`
	// Title names the problem. Its JSON name is the reference's "issue", so
	// migrated recommendations keep their titles.
	Title       string `json:"issue"`
	Description string `json:"description"`
	// Fix is the remedy in one line.
	Fix string `json:"fix"`
}

// Priorities, in order of urgency.
const (
	PriorityCritical = "critical"
	PriorityHigh     = "high"
	PriorityMedium   = "medium"
	PriorityLow      = "low"
)

// maxListed caps every list of a Result so that a page with thousands of
// images or links still makes a small row; the counts stay exact.
const maxListed = 50
