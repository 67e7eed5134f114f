package plugin

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/schema"
)

// SegmentsPath manages saved segments: named sets of filters of one
// website. The caller is a PocketBase auth token of a superuser or a
// users record who may see the website (an API key or a shared link
// cannot manage segments):
//
//	GET    /api/skopos/segments?site=<trackingId> → [{"id", "site", "name", "filters", "shared", "mine", "created"}]
//	POST   /api/skopos/segments  {"site", "name", "filters": ["country:DE", …], "shared"?} → the segment
//	DELETE /api/skopos/segments/<id>
//
// A list holds the caller's own segments and the shared ones. Any member
// saves private segments; shared ones need the admin role (403). A
// segment is deleted by its creator, a shared one also by an admin or
// the owner. Another member's private segment, and any segment of a
// website the caller cannot see, is 404 like an unknown one. The stats
// routes and the export take segment=<id>. See docs/stats-api.md.
const SegmentsPath = "/api/skopos/segments"

func (p *plugin) mountSegments(e *core.ServeEvent) {
	e.Router.GET(SegmentsPath, listSegments)
	e.Router.POST(SegmentsPath, createSegment)
	e.Router.DELETE(SegmentsPath+"/{id}", deleteSegment)
}

// segmentError answers package segment's errors.
func segmentError(e *core.RequestEvent, err error, notFound string) error {
	switch {
	case errors.Is(err, segment.ErrNotFound):
		return e.NotFoundError(notFound, nil)
	case errors.Is(err, segment.ErrForbidden):
		return e.ForbiddenError("Your role on this website does not allow this.", nil)
	case errors.Is(err, segment.ErrInvalid):
		return e.BadRequestError(strings.TrimPrefix(err.Error(), segment.ErrInvalid.Error()+": "), nil)
	}
	return e.InternalServerError("", err)
}

// segmentSite returns the website trackingID (404 when there is none;
// package segment checks the caller's role).
func segmentSite(e *core.RequestEvent, trackingID string) (*core.Record, error) {
	site, err := e.App.FindFirstRecordByData(schema.Websites, "trackingId", trackingID)
	if err != nil {
		return nil, e.NotFoundError("Website not found.", nil)
	}
	return site, nil
}

func listSegments(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	site, err := segmentSite(e, e.Request.URL.Query().Get("site"))
	if err != nil {
		return err
	}
	out, err := segment.List(e.App, auth, site)
	if err != nil {
		return segmentError(e, err, "Website not found.")
	}
	return e.JSON(http.StatusOK, out)
}

type segmentInput struct {
	Site    string   `json:"site"`
	Name    string   `json:"name"`
	Filters []string `json:"filters"`
	Shared  bool     `json:"shared"`
}

func createSegment(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	var in segmentInput
	if err := json.NewDecoder(http.MaxBytesReader(e.Response, e.Request.Body, 1<<16)).Decode(&in); err != nil {
		return e.BadRequestError("The body must be a JSON object {site, name, filters, shared?}.", err)
	}
	site, err := segmentSite(e, in.Site)
	if err != nil {
		return err
	}
	s, err := segment.Create(e.App, auth, site, segment.Input{Name: in.Name, Filters: in.Filters, Shared: in.Shared})
	if err != nil {
		return segmentError(e, err, "Website not found.")
	}
	_ = audit.Log(e.App, audit.Entry{Website: site, Actor: auth, Action: audit.SegmentCreate, Target: s.Name,
		Details: map[string]any{"filters": s.Filters, "shared": s.Shared}})
	return e.JSON(http.StatusCreated, s)
}

func deleteSegment(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	rec, _ := e.App.FindRecordById(schema.Segments, e.Request.PathValue("id")) // named in the audit log
	if err := segment.Delete(e.App, auth, e.Request.PathValue("id")); err != nil {
		return segmentError(e, err, "Segment not found.")
	}
	if rec != nil {
		web, _ := e.App.FindRecordById(schema.Websites, rec.GetString("website"))
		_ = audit.Log(e.App, audit.Entry{Website: web, WebsiteID: rec.GetString("website"), Actor: auth, Action: audit.SegmentDelete,
			Target: rec.GetString("name"), Details: map[string]any{"shared": rec.GetBool("shared")}})
	}
	return e.NoContent(http.StatusNoContent)
}
