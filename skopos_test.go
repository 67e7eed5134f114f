package skopos_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema/collections"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// startClient starts a PocketBase with a website for example.com and a
// Client for it, shut down when the test ends.
func startClient(t *testing.T) (*pbtest.Server, *core.Record, *skopos.Client) {
	t.Helper()
	srv := pbtest.Start(t, pbtest.Options{})
	site := srv.AddWebsite(t, "example.com")
	c, err := skopos.Init(context.Background(), options(srv, site.GetString("trackingId")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	return srv, site, c
}

func options(srv *pbtest.Server, site string) skopos.Options {
	return skopos.Options{SiteID: site, PocketBaseURL: srv.URL, AdminEmail: srv.Email, AdminPassword: srv.Password}
}

func TestInitReportsEachFailureDistinctly(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	site := srv.AddWebsite(t, "example.com")
	bad := srv.AddWebsite(t, "example.org")
	bad.Set("domain", "exa mple") // unusable, saved behind the validator's back
	if err := srv.App().SaveNoValidate(bad); err != nil {
		t.Fatal(err)
	}
	plain := pbtest.Start(t, pbtest.Options{Plain: true})
	noBatch := pbtest.Start(t, pbtest.Options{Plain: true, Setup: func(app core.App) error {
		_, err := collections.Apply(app)
		return err
	}})

	tid := site.GetString("trackingId")
	tests := []struct {
		name string
		opts func() skopos.Options
		want error
	}{
		{"no site", func() skopos.Options { o := options(srv, tid); o.SiteID = " "; return o }, skopos.ErrMissingOption},
		{"no url", func() skopos.Options { o := options(srv, tid); o.PocketBaseURL = ""; return o }, skopos.ErrMissingOption},
		{"only email", func() skopos.Options { o := options(srv, tid); o.AdminPassword = ""; return o }, skopos.ErrMissingOption},
		{"negative interval", func() skopos.Options { o := options(srv, tid); o.BatchInterval = -time.Second; return o }, skopos.ErrInvalidOption},
		{"negative batch size", func() skopos.Options { o := options(srv, tid); o.MaxBatchSize = -1; return o }, skopos.ErrInvalidOption},
		{"bad proxy", func() skopos.Options { o := options(srv, tid); o.TrustedProxies = []string{"10.0.0.0/99"}; return o }, skopos.ErrInvalidOption},
		{"wrong password", func() skopos.Options { o := options(srv, tid); o.AdminPassword = "nope-nope-nope"; return o }, skopos.ErrAuthFailed},
		{"unreachable", func() skopos.Options { o := options(srv, tid); o.PocketBaseURL = "http://127.0.0.1:1"; return o }, skopos.ErrUnreachable},
		{"unknown site", func() skopos.Options { return options(srv, "doesnotexist123") }, skopos.ErrWebsiteNotFound},
		{"hostile site id", func() skopos.Options { return options(srv, `x" || trackingId != "`) }, skopos.ErrWebsiteNotFound},
		{"unusable domain", func() skopos.Options { return options(srv, bad.GetString("trackingId")) }, skopos.ErrInvalidDomain},
		{"schema missing", func() skopos.Options { return options(plain, tid) }, skopos.ErrSchemaMissing},
		{"batch disabled", func() skopos.Options { return options(noBatch, tid) }, skopos.ErrBatchDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
			defer cancel()
			c, err := skopos.Init(ctx, tt.opts())
			if !errors.Is(err, tt.want) {
				if c != nil {
					_ = c.Shutdown(ctx)
				}
				t.Fatalf("Init = %v; want %v", err, tt.want)
			}
		})
	}
}

func TestClientRecordsEventsAndItsVersion(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()
	site := srv.AddWebsite(t, "example.com")
	other := srv.AddWebsite(t, "shop.example.net")
	ctx := context.Background()
	c, err := skopos.Init(ctx, options(srv, site.GetString("trackingId")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)

	got, _ := app.FindRecordById(schema.Websites, site.Id)
	if got.GetString("sdkVersion") != skopos.Version {
		t.Errorf("sdkVersion = %q, want %q", got.GetString("sdkVersion"), skopos.Version)
	}

	req := httptest.NewRequest(http.MethodPost, "/api/event", nil)
	req.RemoteAddr = "203.0.113.5:1234"
	browsertest.Headers(req.Header, "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	if err := c.TrackAPIEvent(req, []byte(`{"type":"pageView","url":"https://www.example.com/x"}`)); err != nil {
		t.Fatal(err)
	}
	err = c.TrackAPIEvent(req, []byte(`{"type":"pageView","url":"https://example.com/","screenWidth":"1920"}`))
	if !errors.Is(err, skopos.ErrInvalidPayload) || !strings.Contains(err.Error(), "screenWidth") {
		t.Errorf("numeric string screenWidth: %v; want ErrInvalidPayload naming the field", err)
	}
	if err := c.TrackAPIEvent(req, []byte(`{"type":"pageView","url":"https://evil.example/"}`)); err != nil {
		t.Errorf("foreign domain: %v; want nil (filtered, counted)", err)
	}
	srvReq := httptest.NewRequest(http.MethodPost, "/auth/register?email=a@b.c", nil)
	srvReq.RemoteAddr = "203.0.113.5:1234"
	if err := c.TrackServerEvent(srvReq, "user_signup", map[string]any{"plan": "free"}); err != nil {
		t.Fatal(err)
	}
	if err := c.TrackServerEvent(srvReq, "order", nil, skopos.WithSite(other.GetString("trackingId"))); err != nil {
		t.Fatal(err)
	}
	if err := c.TrackServerEvent(srvReq, "ghost", nil, skopos.WithSite("nosuchsite00000")); err != nil {
		t.Fatal(err)
	}
	if err := c.TrackServerEvent(srvReq, "", nil); !errors.Is(err, skopos.ErrInvalidPayload) {
		t.Errorf("empty server event name: %v; want ErrInvalidPayload", err)
	}
	if err := c.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}

	countWhere := func(collection string, where dbx.Expression) int {
		var n int
		if err := app.DB().Select("count(*)").From(collection).Where(where).Row(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := countWhere(schema.Events, dbx.HashExp{"website": site.Id}); n != 2 {
		t.Errorf("events on the client's site = %d, want 2 (page view + server event)", n)
	}
	if n := countWhere(schema.Events, dbx.HashExp{"website": other.Id, "eventName": "order"}); n != 1 {
		t.Errorf("WithSite event on the other site = %d, want 1", n)
	}
	if n := countWhere(schema.Sessions, dbx.HashExp{"website": other.Id}); n != 1 {
		t.Errorf("sessions on the other site = %d, want 1 (its own website record)", n)
	}
	if n := countWhere(schema.Events, dbx.HashExp{"path": "/auth/register"}); n != 2 {
		t.Errorf("server events stored without their query string = %d, want 2", n)
	}
	st := c.Stats()
	if st.Dropped["invalid"] != 2 || st.Dropped["domain"] != 1 || st.Dropped["unknown_site"] != 1 || st.Stored != 3 {
		t.Errorf("stats = %+v", st)
	}
	if c.PocketBase() == nil {
		t.Error("PocketBase() = nil")
	}
}

func TestHandlerAnswersPerSpec(t *testing.T) {
	t.Parallel()
	_, _, c := startClient(t)
	ctx := context.Background()
	h := httptest.NewServer(c.Handler())
	defer h.Close()

	tests := []struct {
		name, method, ctype, body string
		want                      int
	}{
		{"page view", "POST", "application/json", `{"type":"pageView","url":"https://example.com/"}`, 204},
		{"sendBeacon text/plain", "POST", "text/plain;charset=UTF-8", `{"type":"pageView","url":"https://example.com/b"}`, 204},
		{"filtered", "POST", "application/json", `{"type":"pageView","url":"https://other.org/"}`, 204},
		{"malformed", "POST", "application/json", `{"type":`, 400},
		{"invalid", "POST", "application/json", `{"type":"click","url":"https://example.com/"}`, 400},
		{"too large", "POST", "application/json", `{"type":"pageView","url":"https://example.com/","x":"` + strings.Repeat("a", 64<<10) + `"}`, 413},
		{"GET", "GET", "", "", 405},
		{"preflight", "OPTIONS", "", "", 204},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, h.URL, strings.NewReader(tt.body))
		browsertest.Headers(req.Header, "")
		if tt.ctype != "" {
			req.Header.Set("Content-Type", tt.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		if tt.want == 400 && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: error body is not JSON", tt.name)
		}
	}
	for _, cors := range []struct {
		origin, want string
	}{
		{"https://www.example.com", "https://www.example.com"},
		{"https://shop.example.com", "https://shop.example.com"},
		{"https://evil.example", ""},
	} {
		req, _ := http.NewRequest("OPTIONS", h.URL, nil)
		req.Header.Set("Origin", cors.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != cors.want {
			t.Errorf("preflight from %s: Allow-Origin %q, want %q", cors.origin, got, cors.want)
		}
		if cors.want != "" && resp.Header.Get("Access-Control-Allow-Headers") != "Content-Type" {
			t.Errorf("preflight from %s: no Allow-Headers", cors.origin)
		}
	}
	if err := c.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Stored != 2 {
		t.Errorf("stored = %d, want 2", st.Stored)
	}
}

func TestTwoClientsInOneProcessDoNotInterfere(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	s1 := srv.AddWebsite(t, "one.example")
	s2 := srv.AddWebsite(t, "two.example")
	ctx := context.Background()
	c1, err := skopos.Init(ctx, options(srv, s1.GetString("trackingId")))
	if err != nil {
		t.Fatal(err)
	}
	o2 := options(srv, s2.GetString("trackingId"))
	o2.Debug = true
	c2, err := skopos.Init(ctx, o2)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	browsertest.Headers(req.Header, "")
	_ = c1.TrackAPIEvent(req, []byte(`{"type":"pageView","url":"https://one.example/"}`))
	_ = c1.TrackAPIEvent(req, []byte(`{"type":"pageView","url":"https://two.example/"}`)) // foreign for c1
	if err := c1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c2.TrackAPIEvent(req, []byte(`{"type":"pageView","url":"https://two.example/"}`)); err != nil {
		t.Fatalf("c2 after c1's Shutdown: %v", err)
	}
	if err := c2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if a, b := c1.Stats(), c2.Stats(); a.Stored != 1 || a.Dropped["domain"] != 1 || b.Stored != 1 || len(b.Dropped) != 0 {
		t.Errorf("c1 %+v, c2 %+v", a, b)
	}
}
