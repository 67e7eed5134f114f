package seo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Options configure an Analyzer. The zero value works.
type Options struct {
	// Client makes every request. The server passes its safe client, which
	// refuses private addresses and caps redirects, time and body size; tests
	// pass one that trusts their local server. Default: a client with a 30 s
	// timeout.
	Client *http.Client
	// MaxLinks is how many distinct internal links are requested to find
	// broken ones. Default 20; negative checks none.
	MaxLinks int
	// Now gives the time of LastAnalyzed and LoadTime. Default time.Now.
	Now func() time.Time
}

// Analyzer fetches and analyzes sites. It is safe for concurrent use; how
// many analyses run at once is the caller's decision.
type Analyzer struct {
	client   *http.Client
	maxLinks int
	now      func() time.Time
	maxBody  int // bytes read of any body; tests lower it
}

// DefaultMaxLinks is the number of internal links checked when
// Options.MaxLinks is 0, the reference's.
const DefaultMaxLinks = 20

// linkConcurrency bounds the link checks in flight, to stay polite to the
// analyzed server.
const linkConcurrency = 4

// New returns an Analyzer with o's defaults filled in.
func New(o Options) *Analyzer {
	a := &Analyzer{client: o.Client, maxLinks: o.MaxLinks, now: o.Now, maxBody: maxBody}
	if a.client == nil {
		a.client = &http.Client{Timeout: 30 * time.Second}
	}
	switch {
	case a.maxLinks == 0:
		a.maxLinks = DefaultMaxLinks
	case a.maxLinks < 0:
		a.maxLinks = 0
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// ErrInvalidURL is returned for a site address that is not an absolute
// http or https URL.
var ErrInvalidURL = errors.New("seo: invalid site URL")

// ErrUnreachable is returned when the home page cannot be fetched, or
// answers with an error status; nothing can be analyzed then.
var ErrUnreachable = errors.New("seo: home page unreachable")

// Analyze fetches siteURL's home page and analyzes it. A URL without a
// scheme is taken as https. An https URL that cannot be fetched is retried
// over http (no HTTPS is itself a finding); an http URL is fetched as
// given, and counts as HTTPS only if it redirects there.
//
// Beside the home page it requests robots.txt, the sitemaps robots.txt
// names and /sitemap.xml, and up to MaxLinks internal links (HEAD, then GET
// when HEAD fails, 4 at a time). Their failures become findings or
// AnalysisWarnings, never errors. The result is scored without PageSpeed
// scores; call ApplyPageSpeed to add them.
//
// The error wraps ErrInvalidURL, ErrUnreachable or ctx's error.
func (a *Analyzer) Analyze(ctx context.Context, siteURL string) (*Result, error) {
	u, err := normalize(siteURL)
	if err != nil {
		return nil, err
	}
	res := &Result{URL: u.String(), LastAnalyzed: a.now(), AnalysisWarnings: []string{}}
	home, err := a.fetchHomeWithFallback(ctx, u)
	if err != nil {
		return nil, err
	}
	final := home.url
	p := extract(home.body, final)
	t := p.technical
	t.HasSSL = final.Scheme == "https"
	t.FinalURL, t.StatusCode, t.HTTPSError, t.Truncated = final.String(), home.status, home.httpsError, home.truncated
	t.ContentType = home.header.Get("Content-Type")
	t.ContentEncoding = home.encoding
	t.Compression = home.encoding != "" && home.encoding != "identity"
	t.CacheControl = home.header.Get("Cache-Control")
	t.Caching = t.CacheControl != "" || home.header.Get("Expires") != ""
	if t.StructuredDataTypes == nil {
		t.StructuredDataTypes = []string{}
	}
	res.MetaTags, res.SocialMetaTags, res.Headings, res.Images, res.Links = p.meta, p.social, p.headings, p.images, p.links
	res.LoadTime, res.PageSize = home.loadTime.Milliseconds(), int64(len(home.body))
	if home.httpsError != "" {
		res.warn("HTTPS failed, analyzed over HTTP: " + home.httpsError)
	}
	if home.truncated {
		res.warn(fmt.Sprintf("The home page is larger than %d KiB; only its beginning was analyzed.", a.maxBody>>10))
	}
	if ct := strings.ToLower(t.ContentType); ct != "" && !strings.Contains(ct, "html") {
		res.warn("The home page is served as " + t.ContentType + ", not HTML.")
	}

	origin := &url.URL{Scheme: final.Scheme, Host: final.Host, Path: "/"}
	robots := a.fetchRobots(ctx, origin, res)
	t.HasRobotsTxt, t.RobotsDisallowAll = robots.found, robots.disallowAll
	t.Sitemaps = a.checkSitemaps(ctx, origin, robots.sitemaps, res)
	for _, s := range t.Sitemaps {
		t.HasSitemap = t.HasSitemap || s.Kind != ""
	}
	res.TechnicalSEO = t
	res.Links.Checked, res.Links.Broken = a.checkLinks(ctx, p.toCheck)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("seo: analysis of %s: %w", u, err)
	}
	res.normalizeLists()
	res.ApplyPageSpeed(nil)
	return res, nil
}

// normalize makes siteURL an absolute http(s) URL with a path.
func normalize(siteURL string) (*url.URL, error) {
	s := strings.TrimSpace(siteURL)
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrInvalidURL, siteURL, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return nil, fmt.Errorf("%w: %q: want http(s)://host/", ErrInvalidURL, siteURL)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// normalizeLists turns absent lists into empty ones, so that the JSON of a
// Result has [] rather than null wherever the reference had arrays.
func (r *Result) normalizeLists() {
	for _, l := range []*[]string{&r.Headings.H1, &r.Headings.H2, &r.Headings.H3, &r.Headings.H4, &r.Headings.H5, &r.Headings.H6,
		&r.Headings.SkippedLevels, &r.Images.MissingAlt, &r.Images.EmptyAlt, &r.Links.EmptyAnchors} {
		if *l == nil {
			*l = []string{}
		}
	}
	if r.Images.PoorQualityAlt == nil {
		r.Images.PoorQualityAlt = []ImageAlt{}
	}
	if r.Images.Oversized == nil {
		r.Images.Oversized = []OversizedImage{}
	}
	if r.Links.Broken == nil {
		r.Links.Broken = []BrokenLink{}
	}
	if r.Links.SuspiciousLinks == nil {
		r.Links.SuspiciousLinks = []SuspiciousLink{}
	}
	if r.TechnicalSEO.Sitemaps == nil {
		r.TechnicalSEO.Sitemaps = []SitemapCheck{}
	}
}
