package seo

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// checkLinks requests the first maxLinks of urls and returns how many it
// checked and those that failed, sorted by URL.
func (a *Analyzer) checkLinks(ctx context.Context, urls []string) (int, []BrokenLink) {
	urls = urls[:min(len(urls), a.maxLinks)]
	results := make([]*BrokenLink, len(urls))
	sem := make(chan struct{}, linkConcurrency)
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = a.checkLink(ctx, u)
		})
	}
	wg.Wait()
	var broken []BrokenLink
	for _, b := range results {
		if b != nil {
			broken = append(broken, *b)
		}
	}
	slices.SortFunc(broken, func(x, y BrokenLink) int { return strings.Compare(x.URL, y.URL) })
	return len(urls), capList(broken)
}

// checkLink tries HEAD first, the cheap way; servers that refuse or
// mishandle HEAD get a GET.
func (a *Analyzer) checkLink(ctx context.Context, target string) *BrokenLink {
	resp, _, _, err := a.do(ctx, http.MethodHead, target, "", 0)
	if err != nil || resp.StatusCode >= 400 {
		// The status is all that matters: the body is not read.
		resp, _, _, err = a.do(ctx, http.MethodGet, target, "", 0)
	}
	switch {
	case err != nil:
		return &BrokenLink{URL: target, Error: clip(err.Error())}
	case resp.StatusCode >= 400:
		return &BrokenLink{URL: target, StatusCode: resp.StatusCode}
	}
	return nil
}
