package live

import (
	"net/http"
	"strconv"
)

// Default stream limits of a Hub: each open stream holds a connection, a
// goroutine and a buffer (500 streams took 56 MB and 650 file
// descriptors), so one caller may not open them without end.
const (
	// MaxStreams bounds the open streams of a hub, of every caller
	// together (Serve and ServeActive alike).
	MaxStreams = 200
	// MaxCallerStreams bounds the open streams of one caller (a user, an
	// API key, a shared link): a few browser tabs.
	MaxCallerStreams = 5
)

// streamCount is a hub's open streams, in all and by caller (under Hub.mu).
type streamCount struct {
	open     int
	byCaller map[string]int
	refused  uint64
}

// Admit counts a new stream of caller (whoever the credential is: a user
// id, an API key, a shared link) and returns its release, to call when
// the stream ends. Over the caller's limit or the hub's it answers 429
// itself and returns ok=false.
func (h *Hub) Admit(w http.ResponseWriter, caller string) (release func(), ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &h.streams
	if c.open >= h.maxStreams || c.byCaller[caller] >= h.maxCallerStreams {
		c.refused++
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":"too many live streams open: at most ` + strconv.Itoa(h.maxCallerStreams) +
			` per caller and ` + strconv.Itoa(h.maxStreams) + ` in all"}`))
		return nil, false
	}
	if c.byCaller == nil {
		c.byCaller = map[string]int{}
	}
	c.open++
	c.byCaller[caller]++
	released := false
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if released {
			return
		}
		released = true
		c.open--
		if c.byCaller[caller]--; c.byCaller[caller] == 0 {
			delete(c.byCaller, caller)
		}
	}, true
}

// StreamStats counts a hub's streams.
type StreamStats struct {
	Open    int    // streams open now
	Refused uint64 // streams refused (429) since the hub started
}

// Streams returns the hub's stream counts.
func (h *Hub) Streams() StreamStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return StreamStats{Open: h.streams.open, Refused: h.streams.refused}
}
