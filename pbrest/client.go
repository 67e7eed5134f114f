package pbrest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultTimeout is the timeout of the HTTP client used for REST calls when
// [Config.HTTPClient] is nil.
const DefaultTimeout = 30 * time.Second

// maxErrorBody caps how much of an error answer is read.
const maxErrorBody = 1 << 20

// Config configures a [Client]. URL is required; the other fields have
// usable zero values.
type Config struct {
	// URL is the base URL of the PocketBase server, e.g.
	// "http://127.0.0.1:8090". A trailing slash is ignored. Required.
	URL string
	// Email and Password are the credentials of a superuser (a record of
	// the _superusers collection). When Email is empty, requests are sent
	// without an Authorization header, i.e. as a guest.
	Email    string
	Password string
	// HTTPClient sends the REST calls. Default: a client with a
	// [DefaultTimeout] timeout. Realtime connections reuse its Transport,
	// Jar and CheckRedirect but never its Timeout: they are long-lived.
	HTTPClient *http.Client
	// Logger receives debug logs of authentication and realtime
	// reconnects. Default: [slog.Default].
	Logger *slog.Logger
}

// Client is a PocketBase REST and realtime client authenticated as a
// superuser. It is safe for concurrent use by multiple goroutines.
//
// The superuser token is cached and renewed before it expires. When a
// request is rejected because the token became invalid (e.g. the
// superuser's password changed), the client authenticates again and
// retries that request once. No other failure is retried: use
// [IsTransient] to decide whether to retry.
type Client struct {
	base     string
	email    string
	password string
	hc       *http.Client
	sse      *http.Client
	log      *slog.Logger

	authGroup singleflight.Group
	mu        sync.Mutex
	tok       token // guarded by mu

	batchMu  sync.Mutex
	batchMax int // cached batch.maxRequests, 0 = unknown; guarded by batchMu
}

// New returns a Client for cfg. It validates cfg and does no I/O; call
// [Client.Authenticate] to check the credentials early.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("pbrest: Config.URL is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("pbrest: invalid Config.URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("pbrest: invalid Config.URL %q: scheme must be http or https", cfg.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("pbrest: invalid Config.URL %q: missing host", cfg.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("pbrest: invalid Config.URL %q: must not have a query or fragment", cfg.URL)
	}
	if cfg.Email != "" && cfg.Password == "" {
		return nil, errors.New("pbrest: Config.Password is required when Config.Email is set")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// a transport of our own, so that CloseIdleConnections releases
		// our connections without touching the rest of the program's
		hc = &http.Client{Timeout: DefaultTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{
		base:     strings.TrimRight(cfg.URL, "/"),
		email:    cfg.Email,
		password: cfg.Password,
		hc:       hc,
		sse: &http.Client{
			Transport:     hc.Transport,
			CheckRedirect: hc.CheckRedirect,
			Jar:           hc.Jar,
		},
		log: log,
	}, nil
}

// CloseIdleConnections closes the keep-alive connections the client is not
// using (see [http.Client.CloseIdleConnections]), so that a program that is
// done with PocketBase keeps no connection goroutines running.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// URL returns the server's base URL without a trailing slash.
func (c *Client) URL() string { return c.base }

// Do sends an authenticated JSON request and decodes the JSON answer into
// out. path is relative to the base URL, starts with "/" and may carry a
// query string (escape its values, e.g. with [url.Values]). body is
// encoded with [json.Marshal]; nil sends no body. out is passed to
// [json.Unmarshal]; nil discards the answer.
//
// Answers with a status of 400 or above are returned as [*Error].
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("pbrest: path %q must start with /", path)
	}
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("pbrest: %s %s: encode body: %w", method, stripQuery(path), err)
		}
	}
	var hdr http.Header
	if payload != nil {
		hdr = jsonHeader
	}
	return c.do(ctx, method, path, payload, hdr, out)
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// DoRaw is Do with a body sent as is, with the given headers (for
// instance Content-Type and Content-Encoding). body may be nil.
func (c *Client) DoRaw(ctx context.Context, method, path string, body []byte, header http.Header, out any) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("pbrest: path %q must start with /", path)
	}
	return c.do(ctx, method, path, body, header, out)
}

func (c *Client) do(ctx context.Context, method, path string, payload []byte, hdr http.Header, out any) error {
	if c.email == "" {
		return c.send(ctx, method, path, payload, hdr, "", out)
	}

	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	err = c.send(ctx, method, path, payload, hdr, tok, out)
	if !c.tokenRejected(ctx, err, tok) {
		return err
	}
	c.log.DebugContext(ctx, "pbrest: token rejected, authenticating again",
		"method", method, "path", stripQuery(path))
	c.dropToken(tok)
	if tok, err = c.token(ctx); err != nil {
		return err
	}
	return c.send(ctx, method, path, payload, hdr, tok, out)
}

// send does one HTTP exchange.
func (c *Client) send(ctx context.Context, method, path string, payload []byte, hdr http.Header, tok string, out any) error {
	p := stripQuery(path)
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("pbrest: %s %s: %w", method, p, err)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	if tok != "" {
		req.Header.Set("Authorization", tok)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &transportError{method: method, path: p, err: err}
	}
	defer resp.Body.Close()

	if resp.StatusCode >= 400 {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		if err != nil && len(b) == 0 {
			// The status alone classifies the error; the body is a bonus.
			c.log.DebugContext(ctx, "pbrest: reading error body", "error", err)
		}
		return newError(method, p, resp.StatusCode, b)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return &transportError{method: method, path: p, err: fmt.Errorf("read body: %w", err)}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("pbrest: %s %s: decode answer: %w", method, p, err)
	}
	return nil
}

func stripQuery(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}

// recordsPath returns /api/collections/{collection}/records[/{id}].
func recordsPath(collection string, id ...string) string {
	p := "/api/collections/" + url.PathEscape(collection) + "/records"
	for _, s := range id {
		p += "/" + url.PathEscape(s)
	}
	return p
}
