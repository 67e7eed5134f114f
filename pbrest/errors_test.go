package pbrest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/skopos-go/skopos/pbrest"
)

func TestTypedErrors(t *testing.T) {
	t.Parallel()
	srv, _ := start(t, nil)
	c := newClient(t, srv)
	ctx := ctxT(t)

	t.Run("404", func(t *testing.T) {
		err := c.GetRecord(ctx, itemsCollection, "doesnotexist123", nil)
		if !errors.Is(err, pbrest.ErrNotFound) {
			t.Fatalf("GetRecord missing = %v, want ErrNotFound", err)
		}
		e := asError(t, err)
		if e.Status != 404 || e.Method != http.MethodGet || e.Path != "/api/collections/"+itemsCollection+"/records/doesnotexist123" || e.Message == "" {
			t.Fatalf("Error = %+v", e)
		}
		if pbrest.IsTransient(err) {
			t.Fatal("404 classified transient")
		}
		if errors.Is(err, pbrest.ErrBadRequest) {
			t.Fatal("404 matches ErrBadRequest")
		}
	})

	t.Run("400 field errors", func(t *testing.T) {
		err := c.CreateRecord(ctx, itemsCollection, map[string]any{"n": 1}, nil)
		if !errors.Is(err, pbrest.ErrBadRequest) {
			t.Fatalf("CreateRecord without name = %v, want ErrBadRequest", err)
		}
		e := asError(t, err)
		if e.Method != http.MethodPost || e.Data["name"].Code != "validation_required" || e.Data["name"].Message == "" {
			t.Fatalf("Error = %+v, want a validation_required error on name", e)
		}
		if len(e.RawData) == 0 {
			t.Fatal("RawData empty")
		}
		if pbrest.IsTransient(err) {
			t.Fatal("validation failure classified transient")
		}
	})

	t.Run("network error", func(t *testing.T) {
		srv.Stop()
		err := c.GetRecord(ctx, itemsCollection, "x", nil)
		if err == nil || !pbrest.IsTransient(err) {
			t.Fatalf("GetRecord on a stopped server = %v, want a transient error", err)
		}
		var e *pbrest.Error
		if errors.As(err, &e) {
			t.Fatalf("network error is an *Error: %v", err)
		}
	})
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{&pbrest.Error{Status: 500}, true},
		{&pbrest.Error{Status: 502}, true},
		{&pbrest.Error{Status: 503}, true},
		{&pbrest.Error{Status: 429}, true},
		{&pbrest.Error{Status: 408}, true},
		{&pbrest.Error{Status: 400}, false},
		{&pbrest.Error{Status: 401}, false},
		{&pbrest.Error{Status: 404}, false},
		{fmt.Errorf("wrapped: %w", &pbrest.Error{Status: 503}), true},
		{&pbrest.BatchError{Err: &pbrest.Error{Status: 400}}, false},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{errors.New("decode failed"), false},
		{pbrest.ErrBatchDisabled, false},
	}
	for _, tt := range tests {
		if got := pbrest.IsTransient(tt.err); got != tt.want {
			t.Errorf("IsTransient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   error
	}{
		{400, pbrest.ErrBadRequest},
		{401, pbrest.ErrUnauthorized},
		{403, pbrest.ErrForbidden},
		{404, pbrest.ErrNotFound},
	}
	all := []error{pbrest.ErrBadRequest, pbrest.ErrUnauthorized, pbrest.ErrForbidden, pbrest.ErrNotFound}
	for _, tt := range tests {
		err := fmt.Errorf("ctx: %w", &pbrest.Error{Status: tt.status})
		for _, s := range all {
			if got := errors.Is(err, s); got != (s == tt.want) {
				t.Errorf("errors.Is(%d, %v) = %v", tt.status, s, got)
			}
		}
	}
}
