package plugin_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/internal/wire"
)

func forwardedEvents(trackingID string, n int) []pipeline.Event {
	now := time.Now().UTC().Truncate(time.Millisecond)
	evs := make([]pipeline.Event, n)
	for i := range evs {
		evs[i] = pipeline.Event{ID: pipeline.NewID(), Kind: pipeline.PageView, Time: now.Add(time.Duration(i) * time.Millisecond),
			TrackingID: trackingID, Visitor: visitorid.Hash(trackingID, fmt.Sprintf("198.51.100.%d", i%50+1), "UA", nil),
			UA: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", Path: fmt.Sprintf("/p/%d", i%7),
			ScreenWidth: -1, ScreenHeight: -1}
	}
	return evs
}

// postIngest sends body to the ingest route and returns the status and
// the answer's body.
func postIngest(t *testing.T, srv *pbtest.Server, token string, body []byte, encoding string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+wire.IngestPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func encodeBatch(t *testing.T, id string, evs []pipeline.Event) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := wire.Encode(&buf, id, evs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return buf.Bytes()
}

func countRows(t *testing.T, srv *pbtest.Server, table string) int {
	t.Helper()
	var n int
	if err := srv.App().DB().NewQuery("SELECT COUNT(*) FROM " + table).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIngestRefusesABatchIDReusedForOtherEvents: a batch id sent again
// with other events is answered 409 naming the conflict and nothing of it
// is stored (it used to be answered as a duplicate, and the events were
// lost unannounced); the true retry stays a duplicate.
func TestIngestRefusesABatchIDReusedForOtherEvents(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	site := srv.AddWebsite(t, "fwd-conflict.example")
	token := superuserToken(t, srv)
	first := forwardedEvents(site.GetString("trackingId"), 5)
	const id = "batch-1"
	if status, ans := postIngest(t, srv, token, encodeBatch(t, id, first), "gzip"); status != http.StatusOK {
		t.Fatalf("first batch: %d %s", status, ans)
	}
	other := forwardedEvents(site.GetString("trackingId"), 5)
	status, ans := postIngest(t, srv, token, encodeBatch(t, id, other), "gzip")
	if status != http.StatusConflict || !strings.Contains(ans, `batch \"batch-1\"`) || !strings.Contains(ans, "other events") {
		t.Fatalf("the id again with other events: %d %s; want 409 naming the batch", status, ans)
	}
	if status, ans := postIngest(t, srv, token, encodeBatch(t, id, first), "gzip"); status != http.StatusOK || !strings.Contains(ans, `"duplicate":true`) {
		t.Fatalf("the true retry: %d %s; want 200, a duplicate", status, ans)
	}
	if n := eventsAfterMarker(t, srv, token, site.GetString("trackingId"), len(first)+1); n != len(first)+1 {
		t.Fatalf("events = %d, want %d (the first batch and the marker)", n, len(first)+1)
	}
}

// eventsAfterMarker sends a one-event marker batch after what was sent
// and returns the events rows once at least want are stored: once the
// marker is stored, what came before it was handled.
func eventsAfterMarker(t *testing.T, srv *pbtest.Server, token, trackingID string, want int) int {
	t.Helper()
	marker := forwardedEvents(trackingID, 1)
	if status, ans := postIngest(t, srv, token, encodeBatch(t, "marker", marker), "gzip"); status != http.StatusOK {
		t.Fatalf("marker: %d %s", status, ans)
	}
	testwait.Until(t, "the marker stored", func() bool { return countRows(t, srv, "events") >= want })
	return countRows(t, srv, "events")
}

// TestIngestStoresARepeatedBatchOnce: a batch sent again (the SDK's retry
// after a lost answer) is answered as a duplicate and not appended; sent
// again after the server restarted (it forgot the batch), its events are
// skipped by the writer because their ids are stored.
func TestIngestStoresARepeatedBatchOnce(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	site := srv.AddWebsite(t, "fwd.example")
	token := superuserToken(t, srv)
	evs := forwardedEvents(site.GetString("trackingId"), 300)
	body := encodeBatch(t, pipeline.BatchID(evs), evs)
	for try, wantDup := range []bool{false, true} {
		status, ans := postIngest(t, srv, token, body, "gzip")
		var a wire.Answer
		_ = json.Unmarshal([]byte(ans), &a)
		if status != http.StatusOK || a.Accepted != len(evs) || a.Duplicate != wantDup {
			t.Fatalf("try %d: %d %s; want 200, %d accepted, duplicate %v", try, status, ans, len(evs), wantDup)
		}
	}
	testwait.Until(t, "the batch stored", func() bool { return countRows(t, srv, "events") == len(evs) })

	srv.Restart()
	token = superuserToken(t, srv)
	if status, ans := postIngest(t, srv, token, body, "gzip"); status != http.StatusOK || strings.Contains(ans, "duplicate") {
		t.Fatalf("after a restart: %d %s; want it appended again", status, ans)
	}
	if n := eventsAfterMarker(t, srv, token, site.GetString("trackingId"), len(evs)+1); n != len(evs)+1 {
		t.Fatalf("events = %d, want %d: the repeated batch was stored twice", n, len(evs)+1)
	}
	var sessions, eventCount int
	_ = srv.App().DB().NewQuery("SELECT COUNT(*), SUM(eventCount) FROM sessions").Row(&sessions, &eventCount)
	if eventCount != len(evs)+1 {
		t.Errorf("sessions count %d events, want %d", eventCount, len(evs)+1)
	}
}

// TestIngestRefusesBadBatchesClearly: each malformed, oversized or
// unauthenticated batch gets its 4xx with a message, and appends nothing.
func TestIngestRefusesBadBatchesClearly(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	site := srv.AddWebsite(t, "bad.example")
	token := superuserToken(t, srv)
	tid := site.GetString("trackingId")
	good := forwardedEvents(tid, 2)
	withBad := func(mut func(*pipeline.Event)) []byte {
		evs := forwardedEvents(tid, 3)
		mut(&evs[2])
		return encodeBatch(t, "b", evs)
	}
	tooMany := forwardedEvents(tid, wire.MaxEvents+1)
	for _, tc := range []struct {
		name     string
		token    string
		body     []byte
		encoding string
		status   int
		msg      string
	}{
		{"no auth", "", encodeBatch(t, "a", good), "gzip", http.StatusUnauthorized, ""},
		{"not gzip", token, []byte(`{"v":1}`), "gzip", http.StatusBadRequest, "gzip"},
		{"unknown encoding", token, []byte(`{}`), "br", http.StatusUnsupportedMediaType, "Content-Encoding"},
		{"malformed JSON", token, gz(t, `{"v":1,"events":[`), "gzip", http.StatusBadRequest, "malformed"},
		{"unknown version", token, gz(t, `{"v":2,"batch":"x","events":[]}`), "gzip", http.StatusBadRequest, "version 2"},
		{"bad event id", token, withBad(func(e *pipeline.Event) { e.ID = "x" }), "gzip", http.StatusBadRequest, "event 2: id"},
		{"path too long", token, withBad(func(e *pipeline.Event) { e.Path = "/" + strings.Repeat("a", 2048) }), "gzip", http.StatusBadRequest, "event 2: path"},
		{"time in the future", token, withBad(func(e *pipeline.Event) { e.Time = time.Now().Add(time.Hour) }), "gzip", http.StatusBadRequest, "event 2: time"},
		{"custom without name", token, withBad(func(e *pipeline.Event) { e.Kind = pipeline.Custom }), "gzip", http.StatusBadRequest, "event 2: name"},
		{"too many events", token, encodeBatch(t, "m", tooMany), "gzip", http.StatusRequestEntityTooLarge, "at most"},
		{"body too large", token, bytes.Repeat([]byte(" "), wire.MaxBodyBytes+1), "", http.StatusRequestEntityTooLarge, ""},
		// the limits' other side
		{"max events", token, encodeBatch(t, "ok", tooMany[:wire.MaxEvents]), "gzip", http.StatusOK, "accepted"},
		{"uncompressed", token, []byte(`{"v":1,"batch":"plain","events":[]}`), "", http.StatusOK, "accepted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, ans := postIngest(t, srv, tc.token, tc.body, tc.encoding)
			if status != tc.status || !strings.Contains(ans, tc.msg) {
				t.Errorf("got %d %s; want %d containing %q", status, ans, tc.status, tc.msg)
			}
		})
	}
	testwait.For(t, testwait.Events(wire.MaxEvents), "the accepted batch stored", func() bool { return countRows(t, srv, "events") == wire.MaxEvents })
}

// TestIngestKeepsTheSDKsStoreIPDecision: storeRawIp is decided when the
// SDK accepted the event; the server's current setting does not override
// it.
func TestIngestKeepsTheSDKsStoreIPDecision(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	site := srv.AddWebsite(t, "ip.example") // storeRawIp off
	evs := forwardedEvents(site.GetString("trackingId"), 2)
	evs[0].IP, evs[0].StoreIP = netip.MustParseAddr("198.51.100.1"), true
	evs[1].IP, evs[1].StoreIP = netip.MustParseAddr("198.51.100.2"), false
	evs[1].Visitor = visitorid.Hash("x", "198.51.100.2", "UA", nil) // another visitor: another session
	if status, ans := postIngest(t, srv, superuserToken(t, srv), encodeBatch(t, "ip", evs), "gzip"); status != http.StatusOK {
		t.Fatalf("%d %s", status, ans)
	}
	testwait.Until(t, "both sessions stored", func() bool { return countRows(t, srv, "sessions") == 2 })
	var ips []string
	if err := srv.App().DB().NewQuery("SELECT ipAddress FROM sessions WHERE ipAddress != ''").Column(&ips); err != nil {
		t.Fatal(err)
	}
	if len(ips) != 1 || ips[0] != "198.51.100.1" {
		t.Fatalf("stored IPs %v, want only the one the SDK accepted with storeRawIp on", ips)
	}
}
