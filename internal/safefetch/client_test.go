package safefetch

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/testwait"
)

// countingServer starts h on 127.0.0.1 and counts the requests it got.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

// loopbackOnly lets the client reach the test servers on 127.0.0.1 and
// nothing else private.
var loopbackOnly = Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}

func get(t *testing.T, c *http.Client, u string) (string, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func wantURLError(t *testing.T, err, target error) {
	t.Helper()
	var ue *url.Error
	if !errors.As(err, &ue) || !errors.Is(err, target) {
		t.Fatalf("err = %v; want a *url.Error wrapping %v", err, target)
	}
}

func TestRefusesLoopbackBeforeAnythingReachesTheServer(t *testing.T) {
	srv, n := countingServer(t, ok)
	_, err := get(t, NewClient(Options{}), srv.URL)
	wantURLError(t, err, ErrForbiddenAddress)
	for _, part := range []string{"safefetch: refused 127.0.0.1 (loopback)", "SKOPOS_FETCH_PRIVATE=on"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not say %q", err, part)
		}
	}
	if got := n.Load(); got != 0 {
		t.Errorf("server got %d requests; want 0", got)
	}
}

func TestRefusesLocalhostByName(t *testing.T) {
	srv, n := countingServer(t, ok)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	_, err := get(t, NewClient(Options{}), "http://localhost:"+port+"/")
	wantURLError(t, err, ErrForbiddenAddress)
	if got := n.Load(); got != 0 {
		t.Errorf("server got %d requests; want 0", got)
	}
}

func TestAllowPrivateReachesLoopback(t *testing.T) {
	srv, _ := countingServer(t, ok)
	body, err := get(t, NewClient(Options{AllowPrivate: true}), srv.URL)
	if err != nil || body != "ok" {
		t.Fatalf("got %q, %v; want ok", body, err)
	}
}

func TestAllowReachesOnlyItsRanges(t *testing.T) {
	srv, n := countingServer(t, ok)
	if body, err := get(t, NewClient(loopbackOnly), srv.URL); err != nil || body != "ok" {
		t.Fatalf("Allow 127.0.0.1/32: got %q, %v; want ok", body, err)
	}
	other := Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}
	_, err := get(t, NewClient(other), srv.URL)
	wantURLError(t, err, ErrForbiddenAddress)
	if got := n.Load(); got != 1 {
		t.Errorf("server got %d requests; want only the allowed one", got)
	}
}

func TestRedirectToAForbiddenAddressIsRefused(t *testing.T) {
	target, targetHits := countingServer(t, ok)
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot bind 127.0.0.2: %v", err)
	}
	origin := httptest.NewUnstartedServer(http.RedirectHandler(target.URL+"/secret", http.StatusFound))
	origin.Listener.Close()
	origin.Listener = ln
	origin.Start()
	t.Cleanup(origin.Close)

	c := NewClient(Options{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}})
	_, err = get(t, c, origin.URL)
	wantURLError(t, err, ErrForbiddenAddress)
	if !strings.Contains(err.Error(), "refused 127.0.0.1 (loopback)") {
		t.Errorf("error %q does not name the redirect's address", err)
	}
	if got := targetHits.Load(); got != 0 {
		t.Errorf("redirect target got %d requests; want 0", got)
	}
}

// redirects answers /hops/N with a redirect to /hops/N-1, and /hops/0 with
// the User-Agent headers every hop saw.
func redirects(t *testing.T) *httptest.Server {
	var (
		mu     sync.Mutex
		agents []string
	)
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		agents = append(agents, r.UserAgent())
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hops/"))
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/hops/%d", n-1), http.StatusFound)
			return
		}
		io.WriteString(w, strings.Join(agents, ","))
		agents = nil
	})
	return srv
}

func TestRedirectsCappedAtMaxRedirects(t *testing.T) {
	srv := redirects(t)
	c := NewClient(loopbackOnly)
	if _, err := get(t, c, srv.URL+"/hops/5"); err != nil {
		t.Fatalf("5 redirects: %v; want followed", err)
	}
	_, err := get(t, c, srv.URL+"/hops/6")
	wantURLError(t, err, ErrTooManyRedirects)

	two := loopbackOnly
	two.MaxRedirects = 2
	if _, err := get(t, NewClient(two), srv.URL+"/hops/2"); err != nil {
		t.Fatalf("MaxRedirects 2, 2 redirects: %v", err)
	}
	_, err = get(t, NewClient(two), srv.URL+"/hops/3")
	wantURLError(t, err, ErrTooManyRedirects)
}

func TestUserAgentOnEveryHop(t *testing.T) {
	srv := redirects(t)
	if got, err := get(t, NewClient(loopbackOnly), srv.URL+"/hops/2"); err != nil || got != strings.Repeat(DefaultUserAgent+",", 2)+DefaultUserAgent {
		t.Errorf("default: hops saw %q, %v", got, err)
	}
	o := loopbackOnly
	o.UserAgent = "Skopos-SEO/1.2.3"
	if got, err := get(t, NewClient(o), srv.URL+"/hops/1"); err != nil || got != "Skopos-SEO/1.2.3,Skopos-SEO/1.2.3" {
		t.Errorf("Options.UserAgent: hops saw %q, %v", got, err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/hops/1", nil)
	req.Header.Set("User-Agent", "caller/1")
	resp, err := NewClient(o).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, _ := io.ReadAll(resp.Body); string(got) != "caller/1,caller/1" {
		t.Errorf("caller's own User-Agent: hops saw %q", got)
	}
}

func TestBodyCappedAtMaxBody(t *testing.T) {
	const max = 1000
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if r.URL.Query().Get("gzip") != "" {
			// Small on the wire, past the limit once decoded.
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(bytes.Repeat([]byte("a"), n))
			zw.Close()
			return
		}
		w.Write(bytes.Repeat([]byte("a"), n))
	})
	o := loopbackOnly
	o.MaxBody = max
	c := NewClient(o)
	if body, err := get(t, c, srv.URL+"/?n=1000"); err != nil || len(body) != max {
		t.Errorf("body of MaxBody: got %d bytes, %v; want all", len(body), err)
	}
	body, err := get(t, c, srv.URL+"/?n=1001")
	if !errors.Is(err, ErrBodyTooLarge) || len(body) != max {
		t.Errorf("body of MaxBody+1: got %d bytes, %v; want %d and ErrBodyTooLarge", len(body), err, max)
	}
	if _, err := get(t, c, srv.URL+"/?n=100000&gzip=1"); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("gzip body decoding past MaxBody: %v; want ErrBodyTooLarge", err)
	}
}

func TestRefusesOtherSchemes(t *testing.T) {
	c := NewClient(loopbackOnly)
	_, err := get(t, c, "ftp://example.com/file")
	wantURLError(t, err, ErrScheme)

	srv, _ := countingServer(t, http.RedirectHandler("ftp://example.com/file", http.StatusFound).ServeHTTP)
	_, err = get(t, c, srv.URL)
	wantURLError(t, err, ErrScheme)
}

func TestTimeoutBoundsTheRequest(t *testing.T) {
	release := make(chan struct{})
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for the handler

	o := loopbackOnly
	o.Timeout = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() {
		_, err := get(t, NewClient(o), srv.URL)
		done <- err
	}()
	select {
	case err := <-done:
		var ue *url.Error
		if !errors.As(err, &ue) || !ue.Timeout() {
			t.Fatalf("err = %v; want a timeout", err)
		}
	case <-time.After(testwait.Timeout()):
		t.Fatal("Options.Timeout not honoured")
	}
}
