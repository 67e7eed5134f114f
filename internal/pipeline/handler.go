package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/skopos-go/skopos/internal/domain"
)

// MaxBodyBytes is the largest event body the Handler reads.
const MaxBodyBytes = 64 << 10

// bodyPool holds request body buffers: a beacon's body is garbage as soon
// as it is decoded.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Handler serves the browser endpoint for p; pick chooses the website
// from the page host (see TrackBrowser).
func Handler(p *Pipeline, pick func(host string) *Site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		allowCORS(w, r, pick)
		switch r.Method {
		case http.MethodPost:
		case http.MethodOptions:
			w.Header().Set("Allow", "POST, OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			w.Header().Set("Allow", "POST, OPTIONS")
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		if r.ContentLength > MaxBodyBytes {
			p.stats.received.Add(1)
			p.stats.drop(ReasonInvalid, 1)
			writeError(w, http.StatusRequestEntityTooLarge, "body larger than 64 KiB")
			return
		}
		buf := bodyPool.Get().(*bytes.Buffer)
		defer bodyPool.Put(buf)
		buf.Reset()
		_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		body := buf.Bytes() // nothing keeps it past TrackBrowser: values are copied out
		if err != nil {
			p.stats.received.Add(1)
			p.stats.drop(ReasonInvalid, 1)
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, "body larger than 64 KiB")
				return
			}
			writeError(w, http.StatusBadRequest, "unreadable body")
			return
		}
		switch err := p.TrackBrowser(r, body, pick); {
		case err == nil:
			w.WriteHeader(http.StatusNoContent)
		case errors.Is(err, ErrInvalidPayload):
			writeError(w, http.StatusBadRequest, err.Error())
		case errors.Is(err, ErrRateLimited):
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "too many events from this address")
		case errors.Is(err, ErrQueueFull), errors.Is(err, ErrSpoolFull), errors.Is(err, ErrClosed):
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "busy, retry later")
		default:
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	})
}

// allowCORS answers cross-origin requests from a website's own domain
// (or a subdomain) only: the page's origin is echoed, never "*". Beacons
// sent as text/plain need no preflight; JSON fetches from another origin
// do.
func allowCORS(w http.ResponseWriter, r *http.Request, pick func(host string) *Site) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	w.Header().Add("Vary", "Origin")
	host, err := domain.Normalize(origin)
	if err != nil {
		return
	}
	site := pick(host)
	if site == nil || site.Host == "" || !domain.Match(site.Host, host) {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
