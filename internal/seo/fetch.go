package seo

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody caps every body read, as the safe client does; kept here too so
// the package is safe with any client (and against gzip bombs, which the
// client cannot see through).
const maxBody = 5 << 20

// home is the fetched home page.
type home struct {
	url        *url.URL // after redirects
	status     int
	header     http.Header
	encoding   string // Content-Encoding of the answer to Accept-Encoding: gzip, br
	body       []byte // decoded HTML
	truncated  bool
	loadTime   time.Duration
	httpsError string // why https failed before the http fallback
}

// fetchHomeWithFallback fetches u, and u over http when u is https and
// cannot be fetched at all.
func (a *Analyzer) fetchHomeWithFallback(ctx context.Context, u *url.URL) (*home, error) {
	h, err := a.fetchHome(ctx, u)
	if err == nil || u.Scheme != "https" || ctx.Err() != nil || errors.Is(err, errStatus) {
		return h, wrapUnreachable(ctx, u, err)
	}
	plain := *u
	plain.Scheme = "http"
	h, err2 := a.fetchHome(ctx, &plain)
	if err2 != nil {
		return nil, fmt.Errorf("%w: %s: %v; over http: %v", ErrUnreachable, u, err, err2)
	}
	h.httpsError = err.Error()
	return h, nil
}

var errStatus = errors.New("error status")

func wrapUnreachable(ctx context.Context, u *url.URL, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("seo: fetching %s: %w", u, ctx.Err())
	}
	return fmt.Errorf("%w: %s: %w", ErrUnreachable, u, err)
}

// fetchHome asks for a compressed page to learn whether the server
// compresses. gzip is decoded here; any other encoding (brotli has no
// decoder in the standard library) proves compression, and the page is
// fetched again uncompressed to be read.
func (a *Analyzer) fetchHome(ctx context.Context, u *url.URL) (*home, error) {
	start := a.now()
	resp, body, truncated, err := a.get(ctx, u.String(), "gzip, br")
	if err != nil {
		return nil, err
	}
	h := &home{url: resp.Request.URL, status: resp.StatusCode, header: resp.Header, truncated: truncated,
		encoding: strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))}
	h.loadTime = a.now().Sub(start)
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("%w %d", errStatus, resp.StatusCode)
	}
	switch h.encoding {
	case "", "identity":
		h.body = body
	case "gzip", "x-gzip":
		var cut bool
		h.body, cut, err = gunzip(body, a.maxBody)
		h.truncated = h.truncated || cut
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
	default:
		plain, plainBody, plainTruncated, err := a.get(ctx, u.String(), "identity")
		if err != nil {
			return nil, fmt.Errorf("uncompressed retry: %w", err)
		}
		if enc := strings.TrimSpace(plain.Header.Get("Content-Encoding")); enc != "" && !strings.EqualFold(enc, "identity") {
			return nil, fmt.Errorf("content encoding %q even when asked for identity", enc)
		}
		h.body, h.truncated = plainBody, plainTruncated
	}
	return h, nil
}

// get requests url. acceptEncoding "" lets the transport negotiate and
// decode gzip itself; anything else is sent as is and the body left as it
// came. The body is read up to a.maxBody.
func (a *Analyzer) get(ctx context.Context, target, acceptEncoding string) (*http.Response, []byte, bool, error) {
	return a.do(ctx, http.MethodGet, target, acceptEncoding, a.maxBody)
}

// do makes one request and reads at most limit bytes of the body.
func (a *Analyzer) do(ctx context.Context, method, target, acceptEncoding string, limit int) (*http.Response, []byte, bool, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, nil, false, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, nil, false, err
	}
	defer resp.Body.Close()
	body, truncated, err := readCapped(resp.Body, limit)
	if err != nil {
		return nil, nil, false, fmt.Errorf("reading %s: %w", target, err)
	}
	return resp, body, truncated, nil
}

// readCapped reads at most limit bytes and says whether there was more.
func readCapped(r io.Reader, limit int) ([]byte, bool, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if len(b) > limit {
		return b[:limit], true, nil
	}
	return b, false, err
}

// gunzip decodes at most limit bytes; a truncated input (the transfer
// itself was capped) yields what decoded before the cut.
func gunzip(b []byte, limit int) ([]byte, bool, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, false, err
	}
	out, truncated, err := readCapped(zr, limit)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return out, true, nil
	}
	return out, truncated, err
}
