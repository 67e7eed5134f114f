// Package wire is the format in which an SDK hands a Skopos server the
// events it has already validated, filtered and identified (SDK mode
// through the server), and the server's answer to the SDK's capability
// probe. Version 1:
//
//	GET  /api/skopos/capabilities      (superuser)  → Capabilities
//	POST /api/skopos/ingest            (superuser)
//	     Content-Type: application/json, Content-Encoding: gzip (or none)
//	     {"v":1,"batch":"<id>","events":[<event>,...]}   → 200 Answer
//
// An event is the JSON of the intake log's record (pipeline.Event). A
// batch is at most MaxEvents events and MaxBodyBytes, both as sent and
// decompressed; over that the server answers 413, a malformed batch or
// event 400 naming it, an unknown version 400, a batch id it holds with
// other events 409.
package wire

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/skopos-go/skopos/internal/pipeline"
)

// The routes and limits of version 1.
const (
	Version          = 1
	IngestPath       = "/api/skopos/ingest"
	CapabilitiesPath = "/api/skopos/capabilities"
	MaxEvents        = 10000
	MaxBodyBytes     = 16 << 20
)

// Capabilities is the server's answer to the probe.
type Capabilities struct {
	Ingest struct {
		Versions     []int `json:"versions"`
		MaxEvents    int   `json:"maxEvents"`
		MaxBodyBytes int   `json:"maxBodyBytes"`
	} `json:"ingest"`
	// VisitorIDs is the server's visitor id mode (visitorid.Mode) and
	// VisitorCheck its visitorid.Hasher.Check: an SDK that sends events
	// through the server must compute the same ids.
	VisitorIDs   string `json:"visitorIds"`
	VisitorCheck string `json:"visitorCheck"`
}

// Answer is the server's answer to an accepted batch.
type Answer struct {
	Accepted  int  `json:"accepted"`
	Duplicate bool `json:"duplicate,omitempty"` // seen before: not appended again
}

// Batch is a decoded batch.
type Batch struct {
	V      int              `json:"v"`
	ID     string           `json:"batch"`
	Events []pipeline.Event `json:"events"`
}

// Encode writes batch id with evs, gzip-compressed, to dst.
func Encode(dst *bytes.Buffer, id string, evs []pipeline.Event) error {
	zw := gzip.NewWriter(dst)
	buf := make([]byte, 0, 64<<10)
	buf = fmt.Appendf(buf, `{"v":%d,"batch":`, Version)
	idJSON, _ := json.Marshal(id)
	buf = append(buf, idJSON...)
	buf = append(buf, `,"events":[`...)
	for i := range evs {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = pipeline.AppendRecord(buf, &evs[i]); err != nil {
			return fmt.Errorf("wire: event %d: %w", i, err)
		}
		if len(buf) > 32<<10 {
			if _, err := zw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	buf = append(buf, "]}"...)
	if _, err := zw.Write(buf); err != nil {
		return err
	}
	return zw.Close()
}

// Error is a batch the server refuses; Status is the HTTP status to
// answer (400, 413 or 415).
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Decode reads a batch from body as sent with contentEncoding ("gzip" or
// none). body must already be limited to MaxBodyBytes by the caller;
// Decode inflates at most MaxBodyBytes+1 bytes of it, so that a small
// gzip body that inflates without end costs no more than a full one.
func Decode(body io.Reader, contentEncoding string) (Batch, error) {
	r := body
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return Batch{}, &Error{400, "body is not gzip: " + err.Error()}
		}
		defer zr.Close()
		r = zr
	default:
		return Batch{}, &Error{415, fmt.Sprintf("Content-Encoding %q: want gzip or none", contentEncoding)}
	}
	lr := &io.LimitedReader{R: r, N: MaxBodyBytes + 1}
	data, err := io.ReadAll(lr)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return Batch{}, &Error{413, fmt.Sprintf("body larger than %d bytes", MaxBodyBytes)}
	case err != nil:
		return Batch{}, &Error{400, "unreadable body: " + err.Error()}
	case lr.N <= 0:
		return Batch{}, &Error{413, fmt.Sprintf("body larger than %d bytes decompressed", MaxBodyBytes)}
	}
	var head struct {
		V      int               `json:"v"`
		ID     string            `json:"batch"`
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Batch{}, &Error{400, "malformed batch: " + err.Error()}
	}
	if head.V != Version {
		return Batch{}, &Error{400, fmt.Sprintf("batch version %d: this server reads version %d", head.V, Version)}
	}
	if len(head.ID) > 64 {
		return Batch{}, &Error{400, "batch id longer than 64 bytes"}
	}
	if len(head.Events) > MaxEvents {
		return Batch{}, &Error{413, fmt.Sprintf("%d events: at most %d per batch", len(head.Events), MaxEvents)}
	}
	b := Batch{V: head.V, ID: head.ID, Events: make([]pipeline.Event, len(head.Events))}
	for i, raw := range head.Events {
		if err := json.Unmarshal(raw, &b.Events[i]); err != nil {
			return Batch{}, &Error{400, fmt.Sprintf("event %d: %v", i, err)}
		}
	}
	return b, nil
}
