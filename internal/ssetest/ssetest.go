// Package ssetest reads Server-Sent Events streams in tests: the live
// stream of the stats API and the dashboard's counters, over real HTTP.
package ssetest

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Msg is one message of a stream: its event type ("" for the default
// "message") and its data. Comments (heartbeats) are not messages.
type Msg struct {
	Event, Data string
}

// Open sends req with client (nil: http.DefaultClient). An answer other
// than 200 is returned as its status and a nil channel; a 200 must be a
// text/event-stream, whose messages arrive on the channel, which closes
// with the stream. Cancel req's context to end it.
func Open(t testing.TB, client *http.Client, req *http.Request) (int, <-chan Msg) {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q, want text/event-stream", ct)
	}
	ch := make(chan Msg, 1024)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var m Msg
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "": // a blank line ends a message
				if m.Data != "" {
					ch <- m
				}
				m = Msg{}
			case strings.HasPrefix(line, "event: "):
				m.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				m.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return resp.StatusCode, ch
}

// Next waits for the stream's next message; within bounds the wait on a
// busy machine, it is not the latency a test promises.
func Next(t testing.TB, ch <-chan Msg, within time.Duration) Msg {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("the stream ended")
		}
		return m
	case <-time.After(within):
		t.Fatalf("no message within %v", within)
	}
	return Msg{}
}
