package skopos

import (
	"errors"

	"github.com/skopos-go/skopos/internal/pipeline"
)

// Errors of Init; test with errors.Is.
var (
	// ErrMissingOption: a required option is empty.
	ErrMissingOption = errors.New("skopos: missing option")
	// ErrInvalidOption: an option has an invalid value.
	ErrInvalidOption = errors.New("skopos: invalid option")
	// ErrAuthFailed: PocketBase refused the superuser credentials.
	ErrAuthFailed = errors.New("skopos: PocketBase authentication failed")
	// ErrUnreachable: PocketBase could not be reached.
	ErrUnreachable = errors.New("skopos: PocketBase unreachable")
	// ErrWebsiteNotFound: no website has the configured trackingId.
	ErrWebsiteNotFound = errors.New("skopos: website not found")
	// ErrInvalidDomain: the website's domain names no usable host, so
	// domain enforcement could not work (it never fails open).
	ErrInvalidDomain = errors.New("skopos: website has no usable domain")
	// ErrSchemaMissing: the Skopos collections are missing; run
	// `skopos schema apply` against the PocketBase.
	ErrSchemaMissing = errors.New("skopos: Skopos schema missing in PocketBase")
	// ErrBatchDisabled: PocketBase's batch API is disabled; run
	// `skopos schema apply` or enable it in the PocketBase settings.
	ErrBatchDisabled = errors.New("skopos: PocketBase batch API disabled")
)

// Errors of the tracking calls; test with errors.Is.
var (
	// ErrInvalidPayload: the event was refused; the error names the field
	// and the reason. The Handler answers 400.
	ErrInvalidPayload = pipeline.ErrInvalidPayload
	// ErrQueueFull: the in-memory queue is full (PocketBase is slow or
	// down); the event was dropped and counted. The Handler answers 503.
	ErrQueueFull = pipeline.ErrQueueFull
	// ErrSpoolFull: the spool (Options.SpoolDir) holds SpoolMaxBytes, or
	// could not write; the event was refused and counted. The Handler
	// answers 503.
	ErrSpoolFull = pipeline.ErrSpoolFull
	// ErrRateLimited: the client address sent more browser events than
	// Options.RateLimit allows; the event was refused and counted. The
	// Handler answers 429 with Retry-After.
	ErrRateLimited = pipeline.ErrRateLimited
	// ErrClosed: the Client was shut down.
	ErrClosed = pipeline.ErrClosed
	// ErrInvalidIdentify: Identify's input was refused; the error names
	// the field.
	ErrInvalidIdentify = pipeline.ErrInvalidIdentify
	// ErrStore: PocketBase failed a synchronous write (Identify).
	ErrStore = pipeline.ErrStore
)

// UnwrittenError is the error of a Shutdown whose deadline passed before
// every accepted event was written; Events says how many were not. Without
// a spool they are lost, and counted in Stats().Dropped["unwritten"]; with
// one (Spooled is true) they are kept in it and written after the next
// Init. Unconfirmed counts apart the events sent to a Skopos server in a
// batch whose answer the deadline cut off: it may have stored them. It
// wraps the context's error:
//
//	var ue *skopos.UnwrittenError
//	if errors.As(err, &ue) {
//		log.Printf("%d events lost", ue.Events)
//	}
type UnwrittenError = pipeline.UnwrittenError
