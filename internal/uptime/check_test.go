package uptime

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/safefetch"
	"github.com/skopos-go/skopos/internal/testwait"
)

// Behaviours of a target.
const (
	serveUp      int32 = iota // 200 "hello"
	serveDown                 // 500
	serveHang                 // no answer until the request's context ends
	serveHold                 // no answer until released
	serveHangFew              // hang the first hang attempts, then up
)

// target is a local website whose behaviour a test switches, counting the
// requests it gets and how many it serves at once.
type target struct {
	mode     atomic.Int32
	hangs    atomic.Int64 // for serveHangFew: how many attempts still hang
	hits     atomic.Int64
	cur, max atomic.Int64
	release  chan struct{}
	once     sync.Once
}

func newTarget() *target { return &target{release: make(chan struct{})} }

func (s *target) Release() { s.once.Do(func() { close(s.release) }) }

func (s *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	n := s.cur.Add(1)
	defer s.cur.Add(-1)
	for m := s.max.Load(); n > m && !s.max.CompareAndSwap(m, n); m = s.max.Load() {
	}
	if r.URL.Path == "/old" {
		http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		return
	}
	switch s.mode.Load() {
	case serveDown:
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	case serveHang:
		<-r.Context().Done()
		return
	case serveHold:
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	case serveHangFew:
		if s.hangs.Add(-1) >= 0 {
			<-r.Context().Done()
			return
		}
	}
	_, _ = w.Write([]byte("hello"))
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func localClient() *http.Client {
	return safefetch.NewClient(safefetch.Options{AllowPrivate: true, Timeout: testwait.Timeout()})
}

// noSleep records the retry pauses instead of waiting them out.
type noSleep struct {
	mu     sync.Mutex
	pauses []time.Duration
}

func (n *noSleep) Sleep(_ context.Context, d time.Duration) error {
	n.mu.Lock()
	n.pauses = append(n.pauses, d)
	n.mu.Unlock()
	return nil
}

func TestCheckAnswers(t *testing.T) {
	tg := newTarget()
	srv := serve(t, tg)
	big := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, 3*MaxRead))
	}))
	closed := httptest.NewServer(tg)
	closed.Close()
	ctx := context.Background()
	at := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	o := CheckOptions{Now: func() time.Time { return at }}

	r := Check(ctx, localClient(), srv.URL+"/", o)
	if !r.IsUp || r.StatusCode != 200 || r.Error != "" || r.ContentLength != 5 || r.SSL || !r.Time.Equal(at) {
		t.Errorf("up: %+v", r)
	}
	r = Check(ctx, localClient(), srv.URL+"/old", o)
	if !r.IsUp || r.StatusCode != 200 {
		t.Errorf("301 → 200: %+v", r)
	}
	tg.mode.Store(serveDown)
	if r = Check(ctx, localClient(), srv.URL+"/", o); r.IsUp || r.StatusCode != 500 || r.Error != "HTTP 500" {
		t.Errorf("500: %+v", r)
	}
	// the https fallback of an http URL that fails is refused too
	if r = Check(ctx, localClient(), closed.URL+"/", o); r.IsUp || r.StatusCode != 0 || r.Error != "connection refused" {
		t.Errorf("closed: %+v", r)
	}
	if r = Check(ctx, localClient(), big.URL+"/", o); !r.IsUp || r.ContentLength != MaxRead {
		t.Errorf("3 MiB body: read %d bytes, want %d (%+v)", r.ContentLength, MaxRead, r)
	}
	public := safefetch.NewClient(safefetch.Options{Timeout: testwait.Timeout()})
	if r = Check(ctx, public, srv.URL+"/", o); r.IsUp || !strings.Contains(r.Error, "SKOPOS_FETCH_PRIVATE") {
		t.Errorf("private address with the public client: %+v", r)
	}
	if r = Check(ctx, localClient(), "http://%zz", o); r.IsUp || r.Error != "invalid URL" {
		t.Errorf("bad URL: %+v", r)
	}
}

func TestCheckRetriesTimeoutsTwice(t *testing.T) {
	tg := newTarget()
	tg.mode.Store(serveHang)
	srv := serve(t, tg)
	var ns noSleep
	r := Check(context.Background(), localClient(), srv.URL+"/", CheckOptions{Timeout: 100 * time.Millisecond, Sleep: ns.Sleep})
	// three attempts at the server; the https fallback fails its TLS
	// handshake before any handler runs
	if r.IsUp || r.Error != "timeout" || r.StatusCode != 0 {
		t.Errorf("result %+v", r)
	}
	if got := tg.hits.Load(); got != 1+Retries {
		t.Errorf("%d attempts, want %d", got, 1+Retries)
	}
	if len(ns.pauses) != Retries || ns.pauses[0] != time.Second || ns.pauses[1] != time.Second {
		t.Errorf("pauses %v, want 2 × 1s", ns.pauses)
	}

	// a timeout then an answer: up on the second attempt
	tg.hits.Store(0)
	tg.hangs.Store(1)
	tg.mode.Store(serveHangFew)
	ns = noSleep{}
	r = Check(context.Background(), localClient(), srv.URL+"/", CheckOptions{Timeout: 200 * time.Millisecond, Sleep: ns.Sleep})
	if !r.IsUp || tg.hits.Load() != 2 || len(ns.pauses) != 1 {
		t.Errorf("timeout then up: %+v after %d attempts, %d pauses", r, tg.hits.Load(), len(ns.pauses))
	}

	// a 500 is an answer: not retried
	tg.hits.Store(0)
	tg.mode.Store(serveDown)
	if r = Check(context.Background(), localClient(), srv.URL+"/", CheckOptions{Sleep: ns.Sleep}); r.Error != "HTTP 500" || tg.hits.Load() != 1 {
		t.Errorf("500: %+v after %d attempts", r, tg.hits.Load())
	}
}

// tlsOnly closes a connection whose first byte is not a TLS handshake,
// so that http:// to a TLS server fails without a status (Go's server
// would otherwise answer it with a 400).
type tlsOnly struct{ net.Listener }

func (l tlsOnly) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffed{Conn: c, r: bufio.NewReader(c)}, nil
}

type sniffed struct {
	net.Conn
	r       *bufio.Reader
	checked bool
}

func (c *sniffed) Read(p []byte) (int, error) {
	if !c.checked {
		c.checked = true
		if b, err := c.r.Peek(1); err != nil || b[0] != 0x16 {
			c.Conn.Close()
			return 0, net.ErrClosed
		}
	}
	return c.r.Read(p)
}

func tlsTarget(t *testing.T, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = tlsOnly{srv.Listener}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Timeout = testwait.Timeout()
	return srv, client
}

func TestCheckFallsBackToHTTPS(t *testing.T) {
	tg := newTarget()
	srv, client := tlsTarget(t, tg)
	plain := "http://" + strings.TrimPrefix(srv.URL, "https://") + "/"
	r := Check(context.Background(), client, plain, CheckOptions{})
	want := srv.Certificate().NotAfter.UTC()
	if !r.IsUp || r.StatusCode != 200 || !r.SSL || !r.CertExpiry.Equal(want) {
		t.Errorf("http → https: %+v (cert expiry want %v)", r, want)
	}
	if tg.hits.Load() != 1 {
		t.Errorf("%d requests served, want the https one", tg.hits.Load())
	}
	// the https URL itself: SSL and the certificate, no fallback needed
	if r = Check(context.Background(), client, srv.URL+"/", CheckOptions{}); !r.IsUp || !r.SSL || !r.CertExpiry.Equal(want) {
		t.Errorf("https: %+v", r)
	}
	// a client that does not trust the certificate: down, with the
	// certificate's expiry still recorded
	r = Check(context.Background(), localClient(), srv.URL+"/", CheckOptions{})
	if r.IsUp || r.SSL || !strings.HasPrefix(r.Error, "TLS certificate: ") || !r.CertExpiry.Equal(want) {
		t.Errorf("untrusted: %+v", r)
	}
}
