package pbrest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/pbrest"
)

func maxRequests(n int) func(core.App) error {
	return func(app core.App) error {
		s := app.Settings()
		s.Batch.Enabled = true
		s.Batch.MaxRequests = n
		return app.Save(s)
	}
}

func createItems(names ...string) []pbrest.BatchItem {
	items := make([]pbrest.BatchItem, len(names))
	for i, n := range names {
		body := map[string]any{"name": n}
		if n == "" {
			body = map[string]any{"n": i} // invalid: name is required
		}
		items[i] = pbrest.BatchItem{Method: http.MethodPost, URL: "/api/collections/" + itemsCollection + "/records", Body: body}
	}
	return items
}

func seq(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("b%02d", i)
	}
	return s
}

func TestBatchChunks(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, maxRequests(3))
	c := newClient(t, srv)
	ctx := ctxT(t)

	if n, err := c.BatchMaxRequests(ctx); err != nil || n != 3 {
		t.Fatalf("BatchMaxRequests = %d, %v; want 3", n, err)
	}
	names := seq(10)
	results, err := c.Batch(ctx, createItems(names...))
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	if len(results) != 10 {
		t.Fatalf("%d results, want 10", len(results))
	}
	for i, r := range results {
		var it item
		if err := json.Unmarshal(r.Body, &it); err != nil {
			t.Fatal(err)
		}
		if r.Status != 200 || it.Name != names[i] {
			t.Errorf("result %d = %d %s, want 200 with name %s", i, r.Status, r.Body, names[i])
		}
	}
	if got := countItems(t, srv.App()); got != 10 {
		t.Fatalf("stored %d records, want 10", got)
	}

	// Other actions: update, upsert, delete.
	var first item
	_ = json.Unmarshal(results[0].Body, &first)
	results, err = c.Batch(ctx, []pbrest.BatchItem{
		{Method: http.MethodPatch, URL: "/api/collections/" + itemsCollection + "/records/" + first.ID, Body: map[string]any{"n": 7}},
		{Method: http.MethodPut, URL: "/api/collections/" + itemsCollection + "/records", Body: map[string]any{"id": "upsertedrecord1", "name": "up"}},
		{Method: http.MethodDelete, URL: "/api/collections/" + itemsCollection + "/records/" + first.ID},
	})
	if err != nil || len(results) != 3 || results[2].Status != http.StatusNoContent {
		t.Fatalf("mixed Batch = %+v, %v", results, err)
	}
	if _, err := srv.App().FindRecordById(itemsCollection, "upsertedrecord1"); err != nil {
		t.Fatalf("upserted record: %v", err)
	}

	if results, err := c.Batch(ctx, nil); err != nil || results != nil {
		t.Fatalf("empty Batch = %v, %v", results, err)
	}
}

func TestBatchErrorIndex(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, maxRequests(3))
	c := newClient(t, srv)

	names := seq(10)
	names[7] = "" // invalid
	results, err := c.Batch(ctxT(t), createItems(names...))
	var be *pbrest.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Batch error = %v (%T), want *BatchError", err, err)
	}
	if be.Index != 7 || be.Chunk != 2 || be.Committed != 6 {
		t.Fatalf("BatchError = Index %d Chunk %d Committed %d, want 7 2 6", be.Index, be.Chunk, be.Committed)
	}
	if be.Err == nil || be.Err.Status != 400 || be.Err.Data["name"].Code != "validation_required" || be.Err.Method != http.MethodPost {
		t.Fatalf("BatchError.Err = %+v", be.Err)
	}
	if !errors.Is(err, pbrest.ErrBadRequest) || pbrest.IsTransient(err) {
		t.Fatalf("BatchError does not unwrap to a permanent ErrBadRequest: %v", err)
	}
	if len(results) != 6 {
		t.Fatalf("%d results with the error, want the 6 committed", len(results))
	}
	// Chunk 2 (items 6..8) was rolled back: b06 is not stored.
	if got := countItems(t, srv.App()); got != 6 {
		t.Fatalf("stored %d records, want 6", got)
	}
	if _, err := srv.App().FindFirstRecordByData(itemsCollection, "name", "b06"); err == nil {
		t.Fatal("b06 of the rolled-back chunk was stored")
	}

	// First item of a chunk fails (PocketBase reports index 0 specially).
	names = seq(4)
	names[3] = ""
	_, err = c.Batch(ctxT(t), createItems(names...))
	if !errors.As(err, &be) || be.Index != 3 || be.Committed != 3 || be.Chunk != 1 {
		t.Fatalf("Batch error = %v, want item 3 of chunk 1", err)
	}
}

func TestBatchDisabled(t *testing.T) {
	t.Parallel()
	t.Run("plain server", func(t *testing.T) {
		t.Parallel()
		srv := pbtest.Start(t, pbtest.Options{Plain: true})
		c := newClient(t, srv)
		_, err := c.Batch(ctxT(t), []pbrest.BatchItem{{Method: http.MethodPost, URL: "/api/collections/users/records"}})
		if !errors.Is(err, pbrest.ErrBatchDisabled) {
			t.Fatalf("Batch = %v, want ErrBatchDisabled", err)
		}
		if _, err := c.BatchMaxRequests(ctxT(t)); !errors.Is(err, pbrest.ErrBatchDisabled) {
			t.Fatalf("BatchMaxRequests = %v, want ErrBatchDisabled", err)
		}
	})
	t.Run("disabled after the settings were cached", func(t *testing.T) {
		t.Parallel()
		// Settings are changed across a restart: saving them while the
		// server runs races inside PocketBase (its request logger reads
		// them unsynchronised), which -race reports.
		var disable atomic.Bool
		srv, _ := start(t, func(app core.App) error {
			if !disable.Load() {
				return nil
			}
			s := app.Settings()
			s.Batch.Enabled = false
			return app.Save(s)
		})
		c := newClient(t, srv)
		if _, err := c.Batch(ctxT(t), createItems("a")); err != nil {
			t.Fatalf("Batch: %v", err)
		}
		disable.Store(true)
		srv.Restart()
		_, err := c.Batch(ctxT(t), createItems("b"))
		if !errors.Is(err, pbrest.ErrBatchDisabled) || !errors.Is(err, pbrest.ErrForbidden) {
			t.Fatalf("Batch = %v, want ErrBatchDisabled", err)
		}
	})
}
