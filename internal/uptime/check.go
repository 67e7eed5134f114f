package uptime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/skopos-go/skopos/internal/safefetch"
)

// Limits of one check.
const (
	// MaxTimeout bounds one attempt; CheckOptions.Timeout is capped to it.
	MaxTimeout = 30 * time.Second
	// Retries is how many times a timed-out attempt is tried again.
	Retries = 2
	// MaxRead is how much of a body a check reads (and counts) before it
	// stops: enough to know the page is served, not to download it.
	MaxRead = 1 << 20
)

// CheckOptions configure Check. The zero value is the reference's check.
type CheckOptions struct {
	// Timeout bounds one attempt. Default and maximum MaxTimeout (30 s).
	Timeout time.Duration
	// RetryDelay is the pause before a timed-out attempt is tried again.
	// Default 1 s.
	RetryDelay time.Duration
	// Sleep waits d or until ctx ends (then it returns ctx's error).
	// Default a timer; tests pass one that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now stamps Result.Time. Default time.Now. Response times are
	// measured with the real clock whatever Now is.
	Now func() time.Time
	// UserAgent, when set, replaces the client's user agent.
	UserAgent string
}

func (o CheckOptions) withDefaults() CheckOptions {
	if o.Timeout <= 0 || o.Timeout > MaxTimeout {
		o.Timeout = MaxTimeout
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Result is one check, as an uptime_checks row stores it.
type Result struct {
	// IsUp: the final response (after redirects) had a status 200–399.
	IsUp bool
	// StatusCode is the final response's status; 0 when none came.
	StatusCode int
	// ResponseTime is the duration of the last attempt in milliseconds:
	// until the body was read (at most MaxRead bytes).
	ResponseTime int64
	// Error says why the check is down, short and for people: "timeout",
	// "connection refused", "HTTP 500", "unknown host", the safe client's
	// refusal of a private address, … Empty when up.
	Error string
	// SSL: the final URL was https and its TLS handshake completed.
	SSL bool
	// CertExpiry is the leaf certificate's NotAfter (https only; also
	// when verification failed, as for an expired certificate); zero
	// when no certificate was seen.
	CertExpiry time.Time
	// ContentLength is the number of body bytes read, at most MaxRead.
	ContentLength int64
	// Time is when the check started (CheckOptions.Now).
	Time time.Time
}

// Check fetches rawURL with client the way the reference dashboard does:
// a GET following redirects (the client's redirect policy), up when the
// final status is 200–399. An attempt that times out is tried again up
// to Retries times, RetryDelay apart; any other failure is final. An
// http:// URL that fails without a status is tried once more over
// https://; its answer is the result when it has a status, otherwise the
// http failure is. The body is read up to MaxRead bytes and discarded.
//
// client should be the safe client (safefetch.NewClient), which refuses
// private addresses unless told otherwise.
func Check(ctx context.Context, client *http.Client, rawURL string, o CheckOptions) Result {
	o = o.withDefaults()
	start := o.Now()
	r := attempts(ctx, client, rawURL, o)
	if r.StatusCode == 0 && ctx.Err() == nil && len(rawURL) > 7 && strings.EqualFold(rawURL[:7], "http://") {
		if s, _ := attempt(ctx, client, "https://"+rawURL[7:], o); s.StatusCode != 0 {
			r = s
		}
	}
	r.Time = start
	return r
}

// attempts tries rawURL until it does not time out, at most 1+Retries
// times.
func attempts(ctx context.Context, client *http.Client, rawURL string, o CheckOptions) Result {
	for i := 0; ; i++ {
		r, timedOut := attempt(ctx, client, rawURL, o)
		if !timedOut || i == Retries || ctx.Err() != nil {
			return r
		}
		if o.Sleep(ctx, o.RetryDelay) != nil {
			return r
		}
	}
}

// attempt is one GET of rawURL within o.Timeout.
func attempt(ctx context.Context, client *http.Client, rawURL string, o CheckOptions) (r Result, timedOut bool) {
	actx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Result{Error: "invalid URL"}, false
	}
	if o.UserAgent != "" {
		req.Header.Set("User-Agent", o.UserAgent)
	}
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		r.ResponseTime = time.Since(began).Milliseconds()
		r.CertExpiry = unverifiedExpiry(err)
		timedOut = isTimeout(err) && ctx.Err() == nil
		r.Error = describe(err, timedOut)
		return r, timedOut
	}
	// A body cut short (a timeout while reading, a reset) still came with
	// a status: the server answered, and the status decides.
	r.ContentLength, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxRead))
	resp.Body.Close()
	r.ResponseTime = time.Since(began).Milliseconds()
	r.StatusCode = resp.StatusCode
	r.IsUp = resp.StatusCode >= 200 && resp.StatusCode < 400
	if !r.IsUp {
		r.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	if resp.Request != nil && resp.Request.URL.Scheme == "https" && resp.TLS != nil && resp.TLS.HandshakeComplete {
		r.SSL = true
		if len(resp.TLS.PeerCertificates) > 0 {
			r.CertExpiry = resp.TLS.PeerCertificates[0].NotAfter.UTC()
		}
	}
	return r, false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// unverifiedExpiry is the expiry of a certificate that failed
// verification, so that an expired one is recorded (and warned about).
func unverifiedExpiry(err error) time.Time {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) && len(cv.UnverifiedCertificates) > 0 {
		return cv.UnverifiedCertificates[0].NotAfter.UTC()
	}
	return time.Time{}
}

// maxError bounds Result.Error (the column holds 1024).
const maxError = 300

// describe turns a failed request's error into Result.Error.
func describe(err error, timedOut bool) string {
	var (
		dns *net.DNSError
		cv  *tls.CertificateVerificationError
	)
	switch {
	case timedOut || isTimeout(err):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, safefetch.ErrForbiddenAddress):
		// the innermost error that is the refusal reads as the
		// operator's answer (which address, and the setting to change)
		for e := err; e != nil; e = errors.Unwrap(e) {
			if errors.Is(e, safefetch.ErrForbiddenAddress) {
				err = e
			}
		}
		return clip(err.Error())
	case errors.Is(err, safefetch.ErrTooManyRedirects):
		return "too many redirects"
	case errors.Is(err, safefetch.ErrScheme):
		return "redirect to a URL that is neither http nor https"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dns):
		if dns.IsNotFound {
			return "unknown host"
		}
		return clip("DNS: " + dns.Err)
	case errors.As(err, &cv):
		return clip("TLS certificate: " + cv.Err.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clip(err.Error())
}

func clip(s string) string {
	if len(s) <= maxError {
		return s
	}
	return strings.ToValidUTF8(s[:maxError], "") + "…"
}
