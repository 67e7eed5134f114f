package main_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/ssetest"
	"github.com/skopos-go/skopos/internal/testwait"
)

// The live stream of `skopos serve` (GET /api/skopos/live) delivers a
// page view sent to the event endpoint after the subscription, as one
// data line, within 2 seconds.
func TestServeLiveStreamDeliversANewEvent(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	pb := client(t, s.URL)
	ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
	defer cancel()
	trackingID := s.Line(t, "demo website trackingId: ")
	var auth struct {
		Token string `json:"token"`
	}
	if err := pb.Do(ctx, http.MethodPost, "/api/collections/_superusers/auth-with-password",
		map[string]string{"identity": adminEmail, "password": adminPassword}, &auth); err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/skopos/live?site="+trackingID, nil)
	req.Header.Set("Authorization", auth.Token)
	status, msgs := ssetest.Open(t, nil, req)
	if status != http.StatusOK {
		t.Fatalf("live: %d", status)
	}
	if m := ssetest.Next(t, msgs, testwait.Timeout()); m.Event != "snapshot" {
		t.Fatalf("first message %+v, want the snapshot", m)
	}

	sent := time.Now()
	sendPageView(t, s.URL, "198.51.100.40", browserUA, "/live-now")
	m := ssetest.Next(t, msgs, testwait.Timeout())
	var ev struct {
		Type, Path, Browser string
	}
	if err := json.Unmarshal([]byte(m.Data), &ev); m.Event != "" || err != nil {
		t.Fatalf("message %+v, want a stored event", m)
	}
	if ev.Type != "pageView" || ev.Path != "/live-now" || ev.Browser == "" {
		t.Errorf("live event %s", m.Data)
	}
	t.Logf("page view on the live stream %v after it was sent", time.Since(sent))
}
