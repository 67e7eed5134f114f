package seo_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/skopos-go/skopos/internal/seo"
)

func ExampleAnalyzer_Analyze() {
	site := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `<html><head><title>Hello</title></head><body><h1>Hello</h1></body></html>`)
	}))
	defer site.Close()

	a := seo.New(seo.Options{Client: site.Client()})
	res, err := a.Analyze(context.Background(), site.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	// With a PageSpeed Insights key, res.ApplyPageSpeed(scores) adds the
	// performance category; without, it is N/A and the score scaled.
	fmt.Println(res.Score, res.Label)
	for _, r := range res.Recommendations {
		if r.Priority == seo.PriorityCritical {
			fmt.Printf("%s: %s. %s\n", r.Category, r.Title, r.Fix)
		}
	}
	// Output:
	// 42 Critical
	// meta: Missing meta description. Add <meta name="description" content="…"> with 150–160 characters summarising the page.
	// technical: Missing sitemap. Publish /sitemap.xml listing your pages and name it in robots.txt (Sitemap: …).
	// mobile: No viewport meta tag. Add <meta name="viewport" content="width=device-width, initial-scale=1">.
}
