package skopos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/visitorid"
	"github.com/skopos-go/skopos/internal/wire"
	"github.com/skopos-go/skopos/pbrest"
)

// Routes: where the Client sends the events it accepted (Options.Route).
const (
	// RouteAuto (the default) asks the server at Init: a Skopos server
	// (`skopos serve`, or an app with the plugin) gets RouteIngest, a
	// plain PocketBase RouteBatch.
	RouteAuto = ""
	// RouteIngest hands events, validated, filtered and identified here,
	// to the Skopos server's ingest route; the server's single writer
	// builds sessions and summaries, so any number of app instances
	// behind any load balancer count a visitor as one instance would.
	RouteIngest = "ingest"
	// RouteBatch sessionizes here and writes records through
	// PocketBase's batch API: the only route a plain PocketBase offers.
	// Each instance sessionizes from its own cache, so a visitor whose
	// requests alternate between instances can be miscounted (README).
	RouteBatch = "batch"
)

// ErrNoIngest: Options.Route is RouteIngest but the server is not a
// Skopos server (or runs a version whose ingest format this SDK does not
// speak).
var ErrNoIngest = errors.New("skopos: the server has no Skopos ingest route")

// probeRoute decides the route: the server's capabilities (superuser
// only) exist on a Skopos server and not on a plain PocketBase.
func probeRoute(ctx context.Context, pb *pbrest.Client, opts Options) (string, *wire.Capabilities, error) {
	if opts.Route == RouteBatch {
		return RouteBatch, nil, nil
	}
	var c wire.Capabilities
	err := pb.Do(ctx, http.MethodGet, wire.CapabilitiesPath, nil, &c)
	var pe *pbrest.Error
	switch {
	case errors.As(err, &pe) && pe.Status == http.StatusNotFound:
		if opts.Route == RouteIngest {
			return "", nil, fmt.Errorf("%w: %s answers 404", ErrNoIngest, wire.CapabilitiesPath)
		}
		return RouteBatch, nil, nil
	case err != nil:
		return "", nil, classify(err)
	case !slices.Contains(c.Ingest.Versions, wire.Version):
		if opts.Route == RouteIngest {
			return "", nil, fmt.Errorf("%w: the server reads versions %v, this SDK writes %d", ErrNoIngest, c.Ingest.Versions, wire.Version)
		}
		opts.Logger.Warn("skopos: the Skopos server does not read this SDK's ingest format; writing through PocketBase's batch API", "server_versions", c.Ingest.Versions, "sdk_version", wire.Version)
		return RouteBatch, nil, nil
	}
	return RouteIngest, &c, nil
}

// visitorMode decides the visitor id mode: an explicit one, else the
// Skopos server's (its writer and this SDK must agree), else salted.
func visitorMode(opts Options, caps *wire.Capabilities) (visitorid.Mode, error) {
	if caps == nil || caps.VisitorIDs == "" {
		return visitorid.ParseMode(opts.VisitorIDs)
	}
	if opts.VisitorIDs != "" && opts.VisitorIDs != caps.VisitorIDs {
		return "", fmt.Errorf("%w: VisitorIDs %q: the Skopos server computes visitor ids in %q mode; "+
			"leave VisitorIDs empty to follow it, or use Route: RouteBatch", ErrInvalidOption, opts.VisitorIDs, caps.VisitorIDs)
	}
	return visitorid.Mode(caps.VisitorIDs), nil
}

// checkVisitors compares this SDK's visitor ids with the server's.
func checkVisitors(h *visitorid.Hasher, caps *wire.Capabilities) error {
	if caps == nil || h.Mode() == visitorid.Daily || h.Check() == caps.VisitorCheck {
		return nil
	}
	return fmt.Errorf("%w: VisitorSalt: the Skopos server computes visitor ids with a different salt; "+
		"leave VisitorSalt empty to share the server's installation salt, set the same one on both "+
		"(Options.VisitorSalt, SKOPOS_VISITOR_SALT), or use Route: RouteBatch", ErrInvalidOption)
}

// forwarder ships batches to the Skopos server (pipeline.Forwarder).
type forwarder struct {
	pb  *pbrest.Client
	max int
}

var ingestHeader = http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}

func (f *forwarder) MaxEvents() int { return f.max }

func (f *forwarder) Forward(ctx context.Context, id string, evs []pipeline.Event) error {
	var buf bytes.Buffer
	if err := wire.Encode(&buf, id, evs); err != nil {
		return fmt.Errorf("%w: %w", pipeline.ErrForwardRefused, err)
	}
	var ans wire.Answer
	err := f.pb.DoRaw(ctx, http.MethodPost, wire.IngestPath, buf.Bytes(), ingestHeader, &ans)
	var pe *pbrest.Error
	if errors.As(err, &pe) {
		switch {
		case pe.Status == http.StatusRequestEntityTooLarge:
			return fmt.Errorf("%w: %w", pipeline.ErrBatchTooLarge, err)
		case pe.Status == http.StatusBadRequest, pe.Status == http.StatusUnsupportedMediaType,
			pe.Status == http.StatusConflict: // a batch id the server holds with other events
			return fmt.Errorf("%w: %w", pipeline.ErrForwardRefused, err)
		}
	}
	return err
}
