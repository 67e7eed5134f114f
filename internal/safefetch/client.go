package safefetch

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// The errors a fetch fails with; errors.Is finds them through the
// *url.Error the client returns.
var (
	// ErrForbiddenAddress: the host resolved to (or redirected to) an
	// address Forbidden refuses. The error's text names the address and
	// the reason.
	ErrForbiddenAddress = errors.New("safefetch: forbidden address")
	// ErrTooManyRedirects: more than Options.MaxRedirects redirects.
	ErrTooManyRedirects = errors.New("safefetch: too many redirects")
	// ErrBodyTooLarge: reading the response body went past
	// Options.MaxBody. The bytes before the limit were delivered.
	ErrBodyTooLarge = errors.New("safefetch: response body too large")
	// ErrScheme: a URL, or a redirect's target, is neither http nor
	// https.
	ErrScheme = errors.New("safefetch: only http and https URLs are fetched")
)

// The defaults of Options' zero fields.
const (
	DefaultMaxRedirects = 5
	DefaultMaxBody      = 5 << 20
	DefaultTimeout      = 30 * time.Second
	DefaultUserAgent    = "Skopos-SEO/dev"
)

// Options configures NewClient. The zero value is a client for public
// websites with the documented defaults.
type Options struct {
	// AllowPrivate lets the client connect to every address class:
	// loopback, private, link-local and the rest (SKOPOS_FETCH_PRIVATE=on
	// in the server). Off by default.
	AllowPrivate bool
	// Allow lists ranges the client may connect to even when AllowPrivate
	// is off: one intranet range, or a test server's address.
	Allow []netip.Prefix
	// MaxRedirects is how many redirects one request follows; the next
	// fails with ErrTooManyRedirects. Default 5.
	MaxRedirects int
	// MaxBody is how many bytes of a response body can be read; reading
	// more fails with ErrBodyTooLarge. Default 5 MiB. It counts the body
	// as the caller reads it, after transparent gzip decoding.
	MaxBody int64
	// Timeout bounds the whole request: connecting, redirects, headers
	// and reading the body. Default 30 s.
	Timeout time.Duration
	// UserAgent is sent on every request, redirects included, unless the
	// request sets its own User-Agent header. Default "Skopos-SEO/dev";
	// the server passes "Skopos-SEO/" + its version.
	UserAgent string
}

func (o Options) withDefaults() Options {
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	return o
}

// NewClient returns an HTTP client that connects only to the addresses
// Forbidden allows (or Options allows), on every hop, with the limits of
// o. Each call builds its own transport: keep the client and reuse it so
// that connections are reused too.
func NewClient(o Options) *http.Client {
	o = o.withDefaults()
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		// Control sees the address the socket is about to connect to,
		// after resolution and for each address tried, which is the only
		// point where a check cannot be raced by a second DNS answer.
		Control: func(_, address string, _ syscall.RawConn) error {
			return o.check(address)
		},
	}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would connect for us, unchecked
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  min(20*time.Second, o.Timeout),
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           16,
		MaxResponseHeaderBytes: 1 << 20,
	}
	return &http.Client{
		Transport: &roundTripper{next: transport, userAgent: o.UserAgent, maxBody: o.MaxBody},
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, o.MaxRedirects)
			}
			return checkScheme(req)
		},
	}
}

// check refuses to connect to address ("ip:port") unless o allows it.
func (o Options) check(address string) error {
	if o.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read %q: %v", ErrForbiddenAddress, address, err)
	}
	addr := ap.Addr()
	for _, p := range o.Allow {
		if p.Contains(addr.WithZone("")) || p.Contains(addr.WithZone("").Unmap()) {
			return nil
		}
	}
	if reason, bad := Forbidden(addr); bad {
		return &refusal{addr: addr, reason: reason}
	}
	return nil
}

// A refusal is the error of a connection Forbidden refused: it reads as
// the operator's answer and is ErrForbiddenAddress to errors.Is.
type refusal struct {
	addr   netip.Addr
	reason string
}

func (r *refusal) Error() string {
	return fmt.Sprintf("safefetch: refused %s (%s): set SKOPOS_FETCH_PRIVATE=on to allow private targets", r.addr, r.reason)
}

func (r *refusal) Is(target error) bool { return target == ErrForbiddenAddress }

func checkScheme(req *http.Request) error {
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return fmt.Errorf("%w: %q", ErrScheme, s)
	}
	return nil
}

// roundTripper adds what the transport alone cannot: the scheme check
// before anything is dialed, the user agent on every hop and the body cap.
type roundTripper struct {
	next      http.RoundTripper
	userAgent string
	maxBody   int64
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	// A header present but empty is the caller asking for no user agent.
	if _, set := req.Header["User-Agent"]; !set {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", rt.userAgent)
	}
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{body: resp.Body, left: rt.maxBody, max: rt.maxBody}
	return resp, nil
}

// limitedBody reads at most max bytes and then fails, instead of the
// silent end of an io.LimitReader that would make a cut page look whole.
type limitedBody struct {
	body      io.ReadCloser
	left, max int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.tooLarge()
	}
	// One byte beyond the limit tells a body of exactly max bytes from a
	// longer one.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.body.Read(p)
	if int64(n) > b.left {
		n, b.left = int(b.left), -1
		return n, b.tooLarge()
	}
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) tooLarge() error {
	return fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, b.max)
}

func (b *limitedBody) Close() error { return b.body.Close() }
