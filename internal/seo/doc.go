// Package seo analyzes a website's home page the way a search engine would
// see it and scores the result, so a site owner learns which of the page's
// defects cost them visibility and how to fix each one.
//
// Usage:
//
//	a := seo.New(seo.Options{Client: safeClient})
//	res, err := a.Analyze(ctx, "https://www.example.com/")
//	if err != nil {
//		return err // the home page could not be fetched at all
//	}
//	res.ApplyPageSpeed(scores) // nil when no PageSpeed Insights key is configured
//	fmt.Println(res.Score, res.Label, len(res.Recommendations))
//
// The analyzer fetches the home page (https first), robots.txt, the
// sitemaps, and a bounded number of internal links; everything else is
// derived from what it fetched, with a real HTML parser and never with
// regular expressions on markup, because the page is attacker-controlled
// input. Page text (titles, headings, alt texts) is kept verbatim as data:
// escaping it is the job of whoever renders it.
//
// The stored shape follows the reference dashboard's seo_data row (metaTags,
// technicalSeo, images, links, ...) so an installation migrated from it
// reads its last analysis unchanged. The score, its label and the
// recommendations are derived from those fields alone (see
// Result.ApplyPageSpeed), so they can be recomputed from a stored row.
//
// The package does no network policy of its own: the caller hands in the
// one safe HTTP client of the server, which refuses private addresses and
// caps redirects, time and body size.
package seo
