package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The live stream of `skopos serve` (GET /api/skopos/live) delivers a
// page view sent to the event endpoint after the subscription, as one
// data line, within 2 seconds.
func TestServeLiveStreamDeliversANewEvent(t *testing.T) {
	t.Parallel()
	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword)
	pb := client(t, s.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("live: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	next := func(within time.Duration) string {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended")
			}
			return l
		case <-time.After(within):
			t.Fatalf("no line within %v", within)
		}
		return ""
	}
	if l := next(10 * time.Second); l != "event: snapshot" {
		t.Fatalf("first line %q, want the snapshot", l)
	}

	sent := time.Now()
	sendPageView(t, s.URL, "198.51.100.40", browserUA, "/live-now")
	deadline := time.Now().Add(2 * time.Second)
	for {
		l := next(time.Until(deadline))
		if !strings.HasPrefix(l, "data: ") || strings.Contains(l, `"activeVisitors"`) {
			continue // the snapshot's data, blank lines, comments
		}
		var ev struct {
			Type, Path, Browser string
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "pageView" || ev.Path != "/live-now" || ev.Browser == "" {
			t.Errorf("live event %s", l)
		}
		t.Logf("page view on the live stream %v after it was sent", time.Since(sent))
		return
	}
}
