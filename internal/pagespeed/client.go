package pagespeed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The strategies Run accepts: which device Lighthouse emulates.
const (
	Mobile  = "mobile"
	Desktop = "desktop"
)

// The defaults of Client's zero fields.
const (
	DefaultBaseURL       = "https://www.googleapis.com"
	DefaultTimeout       = 45 * time.Second
	DefaultRetries       = 2
	DefaultBackoff       = time.Second
	DefaultMaxRetryAfter = 30 * time.Second
)

// maxAnswer bounds the answer read: a full Lighthouse report with its
// screenshots runs to a few MiB.
const maxAnswer = 32 << 20

// The errors Run fails with; errors.Is finds them.
var (
	// ErrNoKey: Run was called without an API key; the scores are
	// "N/A" and nothing was sent.
	ErrNoKey = errors.New("pagespeed: no API key")
	// ErrQuota: the API still answered 429 (quota or rate limit) after
	// every retry.
	ErrQuota = errors.New("pagespeed: API quota exceeded")
	// ErrKeyRefused: the API refused the key (403, or 400 naming the
	// key): wrong, revoked, or not enabled for PageSpeed Insights.
	ErrKeyRefused = errors.New("pagespeed: the API key was refused")
	// ErrBadAnswer: the answer was not the API's JSON, or had no
	// lighthouseResult.
	ErrBadAnswer = errors.New("pagespeed: malformed answer")
)

// Client runs PageSpeed Insights. The zero value works, with the
// documented defaults; a Client is safe for concurrent use.
type Client struct {
	// BaseURL is the API's origin; default "https://www.googleapis.com"
	// (SKOPOS_PAGESPEED_URL in the server, for a local stand-in).
	BaseURL string
	// HTTP sends the requests; default a plain client that relies on
	// Timeout.
	HTTP *http.Client
	// Timeout bounds each attempt, the answer's body included; default
	// 45 s.
	Timeout time.Duration
	// Retries is how many times a timed-out, 429 or 5xx attempt is
	// repeated; default 2, negative for none.
	Retries int
	// Backoff is the wait before the first retry, doubled before each
	// next one, unless the API sends Retry-After; default 1 s.
	Backoff time.Duration
	// MaxRetryAfter caps the wait a Retry-After header asks for;
	// default 30 s.
	MaxRetryAfter time.Duration
}

// Run asks the API for pageURL's scores with strategy Mobile or Desktop
// ("" is Mobile), using apiKey. A partial answer (a category without a
// score, a missing metric, Lighthouse's own warnings) is a Result with
// Warnings; an error means no scores at all. Errors never contain the
// key.
func (c *Client) Run(ctx context.Context, pageURL, strategy, apiKey string) (*Result, error) {
	if apiKey == "" {
		return nil, ErrNoKey
	}
	if strategy == "" {
		strategy = Mobile
	}
	if strategy != Mobile && strategy != Desktop {
		return nil, fmt.Errorf("pagespeed: strategy %q: want %q or %q", strategy, Mobile, Desktop)
	}
	res, err := c.retry(ctx, c.endpoint(pageURL, strategy, apiKey))
	if err != nil {
		return nil, &keyless{err: err, key: apiKey}
	}
	res.Strategy = strategy
	return res, nil
}

func (c *Client) endpoint(pageURL, strategy, apiKey string) string {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	q := url.Values{
		"url":      {pageURL},
		"strategy": {strategy},
		"category": {"performance", "accessibility", "best-practices", "seo"},
		"key":      {apiKey},
	}
	return strings.TrimRight(base, "/") + "/pagespeedonline/v5/runPagespeed?" + q.Encode()
}

// retryable is an attempt's failure worth another attempt, and how long
// the API asked to wait first (0: not said).
type retryable struct {
	err   error
	after time.Duration
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

func (c *Client) retry(ctx context.Context, endpoint string) (*Result, error) {
	retries := c.Retries
	if retries == 0 {
		retries = DefaultRetries
	}
	backoff := or(c.Backoff, DefaultBackoff)
	for attempt := 0; ; attempt++ {
		res, err := c.attempt(ctx, endpoint)
		var again *retryable
		if !errors.As(err, &again) {
			return res, err
		}
		if attempt >= retries {
			return nil, fmt.Errorf("%w (%d attempts)", again.err, attempt+1)
		}
		wait := backoff << attempt
		if again.after > 0 {
			wait = min(again.after, or(c.MaxRetryAfter, DefaultMaxRetryAfter))
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("pagespeed: %w, retrying after: %w", ctx.Err(), again.err)
		}
	}
}

func (c *Client) attempt(ctx context.Context, endpoint string) (*Result, error) {
	timeout := or(c.Timeout, DefaultTimeout)
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("pagespeed: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
		resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() == nil && isTimeout(err) {
			return nil, &retryable{err: fmt.Errorf("pagespeed: no answer within %v: %w", timeout, err)}
		}
		return nil, fmt.Errorf("pagespeed: %w", err)
	}
	if len(body) > maxAnswer {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrBadAnswer, maxAnswer)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		return parse(body)
	case code == http.StatusTooManyRequests:
		return nil, &retryable{err: fmt.Errorf("%w: %s", ErrQuota, apiMessage(body)), after: retryAfter(resp.Header)}
	case code >= 500:
		return nil, &retryable{err: fmt.Errorf("pagespeed: the API failed (%d): %s", code, apiMessage(body)), after: retryAfter(resp.Header)}
	case code == http.StatusForbidden, code == http.StatusBadRequest && namesKey(body):
		return nil, fmt.Errorf("%w (%d): %s", ErrKeyRefused, code, apiMessage(body))
	default:
		return nil, fmt.Errorf("pagespeed: the API refused the request (%d): %s", code, apiMessage(body))
	}
}

func or(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// retryAfter reads Retry-After in seconds or as a date; 0 when absent or
// unreadable.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// apiError is the body of a Google API error answer.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	} `json:"error"`
}

// apiMessage is the API's own explanation, or the start of the body
// when it sent none.
func apiMessage(body []byte) string {
	var e apiError
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
		if e.Error.Status != "" {
			msg = e.Error.Status + ": " + msg
		}
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		return "no explanation"
	}
	return msg
}

// namesKey tells a 400 about the key (Google answers an invalid key with
// 400 API_KEY_INVALID) from one about the request.
func namesKey(body []byte) bool {
	var e apiError
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	for _, d := range e.Error.Details {
		if strings.HasPrefix(d.Reason, "API_KEY_") {
			return true
		}
	}
	return strings.Contains(e.Error.Message, "API key")
}

// keyless hides the key in an error's text (a *url.Error quotes the
// whole URL, the API might echo it) and keeps the error for errors.Is.
type keyless struct {
	err error
	key string
}

var keyParam = regexp.MustCompile(`key=[^&\s"]*`)

func (k *keyless) Error() string {
	s := strings.ReplaceAll(k.err.Error(), k.key, "REDACTED")
	s = strings.ReplaceAll(s, url.QueryEscape(k.key), "REDACTED")
	return keyParam.ReplaceAllString(s, "key=REDACTED")
}

func (k *keyless) Unwrap() error { return k.err }
