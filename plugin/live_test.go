package plugin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/live"
	"github.com/skopos-go/skopos/internal/ssetest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
)

// openLive subscribes to the live stream over HTTP (ssetest.Open).
func openLive(t *testing.T, url, token, trackingID string) (int, <-chan ssetest.Msg) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+plugin.LivePath+"?site="+trackingID, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	return ssetest.Open(t, nil, req)
}

func TestLiveStreamPushesStoredEvents(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	site := srv.AddWebsite(t, "live.example")
	other := srv.AddWebsite(t, "elsewhere.example")
	token := superuserToken(t, srv)

	if code, _ := openLive(t, srv.URL, "", site.GetString("trackingId")); code != http.StatusUnauthorized {
		t.Errorf("no auth: %d, want 401", code)
	}
	userTok, userID, _ := strings.Cut(userToken(t, srv, srv.URL, "live-owner@example.com"), " ")
	other.Set("user", userID)
	if err := app.Save(other); err != nil {
		t.Fatal(err)
	}
	if code, _ := openLive(t, srv.URL, userTok, site.GetString("trackingId")); code != http.StatusNotFound {
		t.Errorf("another owner's site: %d, want 404", code)
	}
	if code, _ := openLive(t, srv.URL, token, "no-such-site"); code != http.StatusNotFound {
		t.Errorf("unknown site: %d, want 404", code)
	}

	// an owner's stream of its own site, and the superuser's of the other
	code, own := openLive(t, srv.URL, userTok, other.GetString("trackingId"))
	if code != http.StatusOK {
		t.Fatalf("owner's own site: %d", code)
	}
	code, ch := openLive(t, srv.URL, token, site.GetString("trackingId"))
	if code != http.StatusOK {
		t.Fatalf("superuser: %d", code)
	}
	for _, c := range []<-chan ssetest.Msg{ch, own} {
		m := ssetest.Next(t, c, testwait.Timeout())
		var snap live.Snapshot
		if m.Event != "snapshot" || json.Unmarshal([]byte(m.Data), &snap) != nil || snap.ActiveVisitors != 0 {
			t.Fatalf("first message %+v, want an empty snapshot", m)
		}
	}

	sent := time.Now()
	post(t, srv, `{"type":"pageView","url":"https://live.example/pricing","referrer":"https://news.example/item"}`,
		map[string]string{"X-Forwarded-For": "198.51.100.9"})
	m := ssetest.Next(t, ch, testwait.Timeout())
	latency := time.Since(sent)
	t.Logf("stored event reached the live stream %v after it was sent", latency)
	var ev live.Event
	if err := json.Unmarshal([]byte(m.Data), &ev); err != nil || m.Event != "" {
		t.Fatalf("message %+v: %v", m, err)
	}
	if ev.Type != "pageView" || ev.Path != "/pricing" || ev.Browser != "Firefox" || ev.Device == "" ||
		ev.Referrer == "" || ev.Country == "" || len(ev.Visitor) != 12 || ev.Session == "" || ev.Time.IsZero() {
		t.Errorf("live event %+v", ev)
	}

	post(t, srv, `{"type":"custom","name":"signup","url":"https://live.example/pricing"}`,
		map[string]string{"X-Forwarded-For": "198.51.100.9"})
	m = ssetest.Next(t, ch, testwait.Timeout())
	var ev2 live.Event
	if err := json.Unmarshal([]byte(m.Data), &ev2); err != nil || ev2.EventName != "signup" || ev2.Type != "custom" ||
		ev2.Session != ev.Session || ev2.Visitor != ev.Visitor {
		t.Errorf("custom event %+v (%v), after %+v", ev2, err, ev)
	}
	// the other site's stream saw none of it
	select {
	case m := <-own:
		t.Errorf("other site's stream got %+v", m)
	default:
	}

	// a new stream's snapshot has the visitor on its page
	_, again := openLive(t, srv.URL, token, site.GetString("trackingId"))
	var snap live.Snapshot
	if m := ssetest.Next(t, again, testwait.Timeout()); json.Unmarshal([]byte(m.Data), &snap) != nil || snap.ActiveVisitors != 1 ||
		len(snap.Pages) != 1 || snap.Pages[0].Key != "/pricing" || len(snap.Referrers) != 1 {
		t.Errorf("snapshot %+v", snap)
	}

	// server shutdown ends the open streams
	stopped := time.Now()
	srv.Stop()
	for _, c := range []<-chan ssetest.Msg{ch, own, again} {
		select {
		case _, open := <-c:
			for open {
				_, open = <-c
			}
		case <-time.After(testwait.Timeout()):
			t.Fatal("a live stream outlived the server")
		}
	}
	t.Logf("streams ended %v after the shutdown began", time.Since(stopped))
}

// TestLiveStreamsAreCappedPerCaller: a caller may hold
// live.MaxCallerStreams streams at once; the next is refused with 429,
// while another caller still gets one.
func TestLiveStreamsAreCappedPerCaller(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	site := srv.AddWebsite(t, "live-cap.example")
	token := superuserToken(t, srv)
	tid := site.GetString("trackingId")
	for i := 1; i <= live.MaxCallerStreams; i++ {
		if code, _ := openLive(t, srv.URL, token, tid); code != http.StatusOK {
			t.Fatalf("stream %d: %d, want 200", i, code)
		}
	}
	if code, _ := openLive(t, srv.URL, token, tid); code != http.StatusTooManyRequests {
		t.Fatalf("stream %d of one caller: %d, want 429", live.MaxCallerStreams+1, code)
	}
	userTok, userID, _ := strings.Cut(userToken(t, srv, srv.URL, "live-cap@example.com"), " ")
	site.Set("user", userID)
	if err := srv.App().Save(site); err != nil {
		t.Fatal(err)
	}
	if code, _ := openLive(t, srv.URL, userTok, tid); code != http.StatusOK {
		t.Fatalf("another caller's stream: %d, want 200", code)
	}
}
