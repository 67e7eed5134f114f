package plugin

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/share"
	"github.com/skopos-go/skopos/schema"
)

// SharesPath manages shared links: read-only access to one website's
// reports without an account. The caller is a PocketBase auth token of a
// superuser or a users record, who must be able to see the website (an
// API key cannot manage links):
//
//	POST   /api/skopos/shares            {"site": trackingId, "name"?, "password"?, "expires"?: RFC 3339, "segment"?: id} → {"id", "token", "url"}
//	GET    /api/skopos/shares[?site=…]   → [{"id", "site", "siteName", "name", "hasPassword", "segment", "filters", "expires", "created", "lastUsed", "expired"}]
//	DELETE /api/skopos/shares/<token|id> revokes a link
//
// The token is answered once, when the link is created; only its SHA-256
// is stored. The link's read-only dashboard is at /share/<token>, and
// the stats API (StatsPath, PropertiesPath, FunnelPath) answers
// "?share=<token>" without any other auth, with the password, if the link
// has one, in the X-Skopos-Share-Password header. A revoked, expired or
// unknown token is 404. A link pinned to a saved segment (segment, see
// SegmentsPath) shows only that segment. See docs/sharing.md.
const SharesPath = "/api/skopos/shares"

// ShareHeader carries a shared link's token on stats API calls in place
// of "?share=": URLs end up in logs (PocketBase's request log among
// them), headers do not.
const ShareHeader = "X-Skopos-Share"

// SharePasswordHeader carries a shared link's password on stats API
// calls (never in the URL, which proxies and logs keep).
const SharePasswordHeader = "X-Skopos-Share-Password"

func (p *plugin) mountShares(e *core.ServeEvent) {
	e.Router.POST(SharesPath, createShare)
	e.Router.GET(SharesPath, listShares)
	e.Router.DELETE(SharesPath+"/{ref}", revokeShare)
}

type shareInput struct {
	Site     string `json:"site"`
	Name     string `json:"name"`
	Password string `json:"password"`
	Expires  string `json:"expires"`
	Segment  string `json:"segment"`
}

func createShare(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	var in shareInput
	if err := json.NewDecoder(http.MaxBytesReader(e.Response, e.Request.Body, 1<<16)).Decode(&in); err != nil {
		return e.BadRequestError("The body must be a JSON object {site, name?, password?, expires?, segment?}.", err)
	}
	site, err := e.App.FindFirstRecordByData(schema.Websites, "trackingId", in.Site)
	if err != nil {
		return e.NotFoundError("Website not found.", nil)
	}
	si := share.Input{Name: in.Name, Password: in.Password, Segment: in.Segment}
	if in.Expires != "" {
		if si.Expires, err = time.Parse(time.RFC3339, in.Expires); err != nil {
			return e.BadRequestError("expires must be an RFC 3339 time", err)
		}
	}
	token, rec, err := share.Create(e.App, auth, site, si, time.Now())
	switch {
	case errors.Is(err, share.ErrNotFound):
		return e.NotFoundError("Website not found.", nil)
	case errors.Is(err, access.ErrForbidden):
		return accessError(e, err)
	case errors.Is(err, share.ErrInvalid):
		return e.BadRequestError(strings.TrimPrefix(err.Error(), share.ErrInvalid.Error()+": "), nil)
	case err != nil:
		return e.InternalServerError("", err)
	}
	_ = audit.Log(e.App, audit.Entry{Website: site, Actor: auth, Action: audit.ShareCreate,
		Target: cmp.Or(rec.GetString("name"), rec.Id), Details: audit.ShareDetails(rec)}) // a failure is logged there
	return e.JSON(http.StatusCreated, map[string]string{"id": rec.Id, "token": token,
		"url": dashboard.Origin(e.Request) + share.PathPrefix + "/" + token})
}

func listShares(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	var site *core.Record
	if id := e.Request.URL.Query().Get("site"); id != "" {
		if site, err = e.App.FindFirstRecordByData(schema.Websites, "trackingId", id); err != nil {
			return e.NotFoundError("Website not found.", nil)
		}
	}
	out, err := share.List(e.App, auth, site, time.Now())
	switch {
	case errors.Is(err, share.ErrNotFound):
		return e.NotFoundError("Website not found.", nil)
	case errors.Is(err, access.ErrForbidden):
		return accessError(e, err)
	case err != nil:
		return e.InternalServerError("", err)
	}
	return e.JSON(http.StatusOK, out)
}

func revokeShare(e *core.RequestEvent) error {
	auth, err := keyOwner(e)
	if err != nil {
		return err
	}
	// read before it goes: its row names it and its website
	link := findShare(e.App, e.Request.PathValue("ref"))
	switch err := share.Revoke(e.App, auth, e.Request.PathValue("ref")); {
	case errors.Is(err, share.ErrNotFound):
		// someone else's link looks exactly like an unknown one
		return e.NotFoundError("Shared link not found.", nil)
	case errors.Is(err, access.ErrForbidden):
		return accessError(e, err)
	case err != nil:
		return e.InternalServerError("", err)
	}
	if link != nil {
		entry := audit.Entry{WebsiteID: link.GetString("website"), Actor: auth, Action: audit.ShareRevoke,
			Target: cmp.Or(link.GetString("name"), link.Id), Details: map[string]any{"id": link.Id}}
		if site, err := e.App.FindRecordById(schema.Websites, entry.WebsiteID); err == nil {
			entry.Website = site
		}
		_ = audit.Log(e.App, entry) // a failure is logged there
	}
	return e.NoContent(http.StatusNoContent)
}

// openShare resolves the share=<token> of a stats request into its link
// (and the website it shows).
func (k *keyAuth) openShare(e *core.RequestEvent, token string) (*share.Link, error) {
	ip := k.clientIP(e.Request)
	l, err := k.shares.Open(e.App, token, ip)
	if err == nil {
		err = k.shares.CheckPassword(l, e.Request.Header.Get(SharePasswordHeader), ip)
	}
	switch {
	case errors.Is(err, share.ErrNotFound):
		return nil, e.NotFoundError("Website not found.", nil)
	case errors.Is(err, share.ErrRateLimited):
		e.Response.Header().Set("Retry-After", "60")
		return nil, e.TooManyRequestsError("Too many requests through shared links, try again later.", nil)
	case errors.Is(err, share.ErrPassword):
		return nil, e.UnauthorizedError(fmt.Sprintf("This shared link needs its password in the %s header.", SharePasswordHeader), nil)
	case err != nil:
		return nil, e.InternalServerError("", err)
	}
	return l, nil
}
