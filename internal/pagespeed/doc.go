// Package pagespeed asks Google PageSpeed Insights (API v5, runPagespeed)
// for a page's Lighthouse scores and main metrics.
//
//	c := &pagespeed.Client{BaseURL: os.Getenv("SKOPOS_PAGESPEED_URL")}
//	res, err := c.Run(ctx, "https://www.example.com/", pagespeed.Mobile, key)
//	if err == nil && res.Scores.Performance != nil {
//		fmt.Println("performance", *res.Scores.Performance, res.Warnings)
//	}
//
// The SEO analysis cannot measure rendering speed itself (that needs a
// browser), so it borrows Lighthouse's through this API. The API is slow
// (tens of seconds), rate-limited and sometimes half-answers, so the
// client bounds each request, retries what is worth retrying, and turns
// a partial answer into a Result with Warnings rather than an error. The
// API key is a user's secret from the vault: it never appears in an
// error's text.
//
// The API's address is operator configuration, not user input, so the
// client uses an ordinary HTTP client, not the guarded one of package
// safefetch.
package pagespeed
