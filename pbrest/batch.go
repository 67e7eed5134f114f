package pbrest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

const batchPath = "/api/batch"

// BatchItem is one request of a [Client.Batch]. PocketBase accepts record
// create (POST .../records), update (PATCH .../records/{id}), upsert
// (PUT .../records, with "id" in Body) and delete (DELETE .../records/{id}):
//
//	pbrest.BatchItem{Method: "POST", URL: "/api/collections/events/records", Body: map[string]any{"name": "x"}}
type BatchItem struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// Body is encoded to a JSON object; nil sends none.
	Body any `json:"body,omitempty"`
}

// BatchResult is the answer to one [BatchItem].
type BatchResult struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// BatchError reports the item that made a [Client.Batch] chunk fail.
// PocketBase rolled back that whole chunk; earlier chunks stay committed.
type BatchError struct {
	// Index is the failed item's index in the slice given to Batch.
	Index int
	// Chunk is the 0-based index of the rolled-back chunk.
	Chunk int
	// Committed is how many items (all of the earlier chunks) were stored.
	Committed int
	// Err is the failed item's own answer, e.g. a 400 with field errors.
	Err *Error
}

// Error describes the failed item.
func (e *BatchError) Error() string {
	return fmt.Sprintf("pbrest: batch item %d failed (chunk %d rolled back, %d items committed): %v",
		e.Index, e.Chunk, e.Committed, e.Err)
}

// Unwrap returns Err, so errors.Is(err, ErrBadRequest) tests the item's
// status.
func (e *BatchError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// Batch sends items through PocketBase's transactional batch API
// (POST /api/batch), split into chunks of the server's batch.maxRequests
// (see [Client.BatchMaxRequests]). Each chunk is one transaction. Results
// are returned in the order of items.
//
// When a chunk fails, Batch stops and returns the results of the chunks
// committed before it together with the error: a [*BatchError] when one
// item failed, otherwise the request's error (on a network error the
// chunk's outcome is unknown). When the server's batch API is disabled the
// error matches [ErrBatchDisabled].
func (c *Client) Batch(ctx context.Context, items []BatchItem) ([]BatchResult, error) {
	if len(items) == 0 {
		return nil, nil
	}
	size, err := c.BatchMaxRequests(ctx)
	if err != nil {
		return nil, err
	}
	results := make([]BatchResult, 0, len(items))
	for chunk, off := 0, 0; off < len(items); chunk, off = chunk+1, off+size {
		part := items[off:min(off+size, len(items))]
		var out []BatchResult
		err := c.Do(ctx, http.MethodPost, batchPath, map[string]any{"requests": part}, &out)
		if err != nil {
			return results, c.batchError(err, part, chunk, off)
		}
		if len(out) != len(part) {
			return results, fmt.Errorf("pbrest: batch chunk %d: got %d results for %d requests", chunk, len(out), len(part))
		}
		results = append(results, out...)
	}
	return results, nil
}

// batchFailure is the "data" of PocketBase's 400 answer to a failed batch:
//
//	{"requests": {"<i>": {"code": "batch_request_failed",
//	  "message": "Batch request failed.",
//	  "response": {"status": 400, "message": "...", "data": {...}}}}}
type batchFailure struct {
	Requests map[string]struct {
		Code     string        `json:"code"`
		Message  string        `json:"message"`
		Response *apiErrorBody `json:"response"`
	} `json:"requests"`
}

func (c *Client) batchError(err error, part []BatchItem, chunk, off int) error {
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Errorf("pbrest: batch chunk %d (items %d-%d): %w", chunk, off, off+len(part)-1, err)
	}
	if e.Status == http.StatusForbidden {
		c.setBatchMax(0) // settings changed since they were read
		return fmt.Errorf("%w: %w", ErrBatchDisabled, err)
	}
	var f batchFailure
	if e.Status == http.StatusBadRequest && json.Unmarshal(e.RawData, &f) == nil {
		for k, r := range f.Requests {
			i, convErr := strconv.Atoi(k)
			if convErr != nil || i < 0 || i >= len(part) {
				continue
			}
			item := &Error{Status: http.StatusBadRequest, Method: part[i].Method, Path: stripQuery(part[i].URL), Message: r.Message}
			if r.Response != nil {
				item.Status = r.Response.Status
				item.Message = r.Response.Message
				item.setData(r.Response.Data)
			}
			return &BatchError{Index: off + i, Chunk: chunk, Committed: off, Err: item}
		}
		// e.g. "Invalid batch request data." after maxRequests was lowered.
		c.setBatchMax(0)
	}
	return fmt.Errorf("pbrest: batch chunk %d (items %d-%d): %w", chunk, off, off+len(part)-1, err)
}

// BatchMaxRequests returns the server's batch.maxRequests setting, read
// with GET /api/settings (superuser only). The value is cached until the
// server rejects a batch. It returns an error matching [ErrBatchDisabled]
// when the batch API is disabled.
func (c *Client) BatchMaxRequests(ctx context.Context) (int, error) {
	c.batchMu.Lock()
	n := c.batchMax
	c.batchMu.Unlock()
	if n > 0 {
		return n, nil
	}
	var s struct {
		Batch struct {
			Enabled     bool `json:"enabled"`
			MaxRequests int  `json:"maxRequests"`
		} `json:"batch"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/settings?fields=batch", nil, &s); err != nil {
		return 0, fmt.Errorf("pbrest: read batch settings: %w", err)
	}
	if !s.Batch.Enabled || s.Batch.MaxRequests <= 0 {
		return 0, ErrBatchDisabled
	}
	c.setBatchMax(s.Batch.MaxRequests)
	return s.Batch.MaxRequests, nil
}

func (c *Client) setBatchMax(n int) {
	c.batchMu.Lock()
	c.batchMax = n
	c.batchMu.Unlock()
}
