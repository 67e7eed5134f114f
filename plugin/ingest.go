package plugin

import (
	"errors"
	"net/http"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/wire"
)

// mountIngest serves SDK mode through this server: the SDK probes
// GET /api/skopos/capabilities and hands its events to
// POST /api/skopos/ingest (format in package wire), where they join the
// intake log and this server's writer sessionizes them. Superusers only,
// as the SDK's PocketBase access is.
func (p *plugin) mountIngest(e *core.ServeEvent) {
	check, mode := p.visitors.Check(), string(p.visitors.Mode())
	e.Router.GET(wire.CapabilitiesPath, func(re *core.RequestEvent) error {
		var c wire.Capabilities
		c.Ingest.Versions = []int{wire.Version}
		c.Ingest.MaxEvents = wire.MaxEvents
		c.Ingest.MaxBodyBytes = wire.MaxBodyBytes
		c.VisitorCheck, c.VisitorIDs = check, mode
		return re.JSON(http.StatusOK, c)
	}).Bind(apis.RequireSuperuserAuth())

	e.Router.POST(wire.IngestPath, func(re *core.RequestEvent) error {
		body := http.MaxBytesReader(re.Response, re.Request.Body, wire.MaxBodyBytes)
		b, err := wire.Decode(body, re.Request.Header.Get("Content-Encoding"))
		var we *wire.Error
		if errors.As(err, &we) {
			return re.JSON(we.Status, map[string]string{"error": we.Msg})
		}
		if err != nil {
			return re.JSON(http.StatusBadRequest, map[string]string{"error": err.Error()})
		}
		dup, err := p.intake.in.Pipeline().Ingest(re.Request.Context(), b.ID, b.Events)
		switch {
		case err == nil:
			return re.JSON(http.StatusOK, wire.Answer{Accepted: len(b.Events), Duplicate: dup})
		case errors.Is(err, pipeline.ErrInvalidPayload):
			return re.JSON(http.StatusBadRequest, map[string]string{"error": err.Error()})
		case errors.Is(err, pipeline.ErrBatchConflict):
			return re.JSON(http.StatusConflict, map[string]string{"error": err.Error()})
		case errors.Is(err, pipeline.ErrSpoolFull), errors.Is(err, pipeline.ErrQueueFull), errors.Is(err, pipeline.ErrClosed):
			re.Response.Header().Set("Retry-After", "5")
			return re.JSON(http.StatusServiceUnavailable, map[string]string{"error": "busy, retry later"})
		}
		return re.JSON(http.StatusInternalServerError, map[string]string{"error": "internal error"})
	}).Bind(apis.RequireSuperuserAuth(), apis.BodyLimit(wire.MaxBodyBytes))
}
