package skopos_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/skopos-go/skopos"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// TestBotPatternsOption: Options.BotPatterns make more user agents bots
// (dropped, counted as "bot"); an invalid pattern fails Init naming it.
func TestBotPatternsOption(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	site := srv.AddWebsite(t, "example.com")
	ctx := context.Background()
	opts := options(srv, site.GetString("trackingId"))
	opts.BotPatterns = []string{"zorg("}
	if _, err := skopos.Init(ctx, opts); !errors.Is(err, skopos.ErrInvalidOption) {
		t.Fatalf("Init with an invalid pattern: %v, want ErrInvalidOption", err)
	}
	opts.BotPatterns = []string{"ZorgWidget/"}
	c, err := skopos.Init(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown(ctx)
	for _, ua := range []string{browsertest.Chrome + " ZorgWidget/1.0", browsertest.Chrome} {
		req := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		req.RemoteAddr = "203.0.113.5:1234"
		browsertest.Headers(req.Header, ua)
		if err := c.TrackAPIEvent(req, []byte(`{"type":"pageView","url":"https://example.com/"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.FlushEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Dropped["bot"] != 1 || st.Stored != 1 {
		t.Errorf("stats %+v, want one bot dropped and one event stored", st)
	}
}
