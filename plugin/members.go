package plugin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/team"
	"github.com/skopos-go/skopos/schema"
)

// MembersPath manages a website's members (docs/teams.md), with a
// PocketBase auth token (never an API key: keys read reports, they do
// not hand out access):
//
//	GET    /api/skopos/members?site=<trackingId>                 → {"members": [{"userId", "email", "role", "added"}], "invitations": [{"id", "email", "role", "expires"}]}  (owner, admin)
//	POST   /api/skopos/members {"site", "email", "role"}         → 201 {"id", "email", "role", "expires", "mailed", "link"?}  (owner; "link" only when the mail could not be sent)
//	PATCH  /api/skopos/members/<userId>?site=… {"role"}          (owner)
//	DELETE /api/skopos/members/<userId>?site=…                   (owner, or the member themselves: leaving)
//	POST   /api/skopos/members/<userId>/transfer?site=…          (owner: the member becomes the owner, the owner an admin)
//	DELETE /api/skopos/members/invitations/<id>?site=…           (owner)
//
// 404 for a website the caller does not see, 403 below the role, 400
// with the reason for a change that cannot be made.
const MembersPath = "/api/skopos/members"

func (p *plugin) mountMembers(e *core.ServeEvent) {
	e.Router.GET(MembersPath, p.memberRoute(access.Admin, listMembers))
	e.Router.POST(MembersPath, p.inviteMember)
	e.Router.PATCH(MembersPath+"/{userId}", p.memberRoute(access.Viewer, func(e *core.RequestEvent, site *core.Record) error {
		var in struct {
			Role string `json:"role"`
		}
		if err := e.BindBody(&in); err != nil {
			return e.BadRequestError(`Send JSON: {"role": "admin"|"viewer"}.`, err)
		}
		return memberChange(e, site, audit.MemberRole, map[string]any{"role": in.Role}, func(uid string) error {
			return team.SetRole(e.App, e.Auth, site, uid, access.ParseRole(in.Role))
		})
	}))
	e.Router.DELETE(MembersPath+"/{userId}", p.memberRoute(access.Viewer, func(e *core.RequestEvent, site *core.Record) error {
		return memberChange(e, site, audit.MemberRemove, nil, func(uid string) error { return team.Remove(e.App, e.Auth, site, uid) })
	}))
	e.Router.POST(MembersPath+"/{userId}/transfer", p.memberRoute(access.Viewer, func(e *core.RequestEvent, site *core.Record) error {
		return memberChange(e, site, audit.OwnerTransfer, nil, func(uid string) error { return team.Transfer(e.App, e.Auth, site, uid) })
	}))
	e.Router.DELETE(MembersPath+"/invitations/{id}", p.memberRoute(access.Viewer, func(e *core.RequestEvent, site *core.Record) error {
		id := e.Request.PathValue("id")
		target := id
		if rec, err := e.App.FindRecordById(schema.Invites, id); err == nil {
			target = rec.GetString("email")
		}
		if err := team.RevokeInvite(e.App, e.Auth, site, id); err != nil {
			return teamError(e, err)
		}
		_ = audit.Log(e.App, audit.Entry{Website: site, Actor: e.Auth, Action: audit.InviteRevoke, Target: target})
		return e.NoContent(http.StatusNoContent)
	}))
}

// memberRoute runs h for the site= website when the caller, with an auth
// token, has at least need on it; the team package checks the owner's
// changes itself (a member may remove themselves).
func (p *plugin) memberRoute(need access.Role, h func(*core.RequestEvent, *core.Record) error) func(*core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		if e.Auth == nil {
			return e.UnauthorizedError("A superuser or users auth token is required (API keys cannot manage members).", nil)
		}
		site, err := p.keyAuth.ownSite(e, e.Request.URL.Query().Get("site"), need, time.Now())
		if err != nil {
			return err
		}
		return h(e, site)
	}
}

func listMembers(e *core.RequestEvent, site *core.Record) error {
	ms, err := team.Members(e.App, site)
	if err != nil {
		return e.InternalServerError("", err)
	}
	inv, err := team.Pending(e.App, site, time.Now())
	if err != nil {
		return e.InternalServerError("", err)
	}
	type member struct {
		UserID string    `json:"userId"`
		Email  string    `json:"email"`
		Role   string    `json:"role"`
		Added  time.Time `json:"added"`
	}
	type invitation struct {
		ID      string    `json:"id"`
		Email   string    `json:"email"`
		Role    string    `json:"role"`
		Expires time.Time `json:"expires"`
	}
	out := struct {
		Members     []member     `json:"members"`
		Invitations []invitation `json:"invitations"`
	}{Members: []member{}, Invitations: []invitation{}}
	for _, m := range ms {
		out.Members = append(out.Members, member{m.UserID, m.Email, m.Role.String(), m.Added})
	}
	for _, in := range inv {
		out.Invitations = append(out.Invitations, invitation{in.ID, in.Email, in.Role.String(), in.Expires})
	}
	return e.JSON(http.StatusOK, out)
}

func (p *plugin) inviteMember(e *core.RequestEvent) error {
	var in struct {
		Site  string `json:"site"`
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := e.BindBody(&in); err != nil {
		return e.BadRequestError(`Send JSON: {"site": "<trackingId>", "email": "…", "role": "admin"|"viewer"}.`, err)
	}
	if e.Auth == nil {
		return e.UnauthorizedError("A superuser or users auth token is required (API keys cannot manage members).", nil)
	}
	site, err := p.keyAuth.ownSite(e, in.Site, access.Viewer, time.Now())
	if err != nil {
		return err
	}
	token, rec, err := team.Invite(e.App, e.Auth, site, in.Email, access.ParseRole(in.Role), time.Now())
	if err != nil {
		return teamError(e, err)
	}
	_ = audit.Log(e.App, audit.Entry{Website: site, Actor: e.Auth, Action: audit.MemberInvite, Target: rec.GetString("email"),
		Details: map[string]any{"role": rec.GetString("role")}})
	link := dashboard.Origin(e.Request) + DashboardPath + "/invite/" + url.PathEscape(token)
	out := map[string]any{"id": rec.Id, "email": rec.GetString("email"), "role": rec.GetString("role"),
		"expires": rec.GetDateTime("expires").Time(), "mailed": true}
	if err := team.SendInvite(e.App, rec, site, e.Auth, link); err != nil {
		// the invitation stands; its link goes to the owner, once
		e.App.Logger().Warn("skopos: invitation not mailed", "website", site.Id, "error", err)
		out["mailed"], out["link"], out["mailError"] = false, link, err.Error()
	}
	return e.JSON(http.StatusCreated, out)
}

// memberChange runs change for the {userId} member and logs it.
func memberChange(e *core.RequestEvent, site *core.Record, action string, details map[string]any, change func(uid string) error) error {
	uid := e.Request.PathValue("userId")
	target := uid
	if rec, err := e.App.FindRecordById(schema.Users, uid); err == nil {
		target = rec.Email()
	}
	if err := change(uid); err != nil {
		return teamError(e, err)
	}
	_ = audit.Log(e.App, audit.Entry{Website: site, Actor: e.Auth, Action: action, Target: target, Details: details})
	return e.NoContent(http.StatusNoContent)
}

// teamError maps the team package's errors onto API answers.
func teamError(e *core.RequestEvent, err error) error {
	switch {
	case errors.Is(err, team.ErrInvalid):
		return e.BadRequestError(strings.TrimPrefix(err.Error(), team.ErrInvalid.Error()+": "), nil)
	case errors.Is(err, team.ErrNoInvite):
		return e.NotFoundError("Invitation not found.", nil)
	case errors.Is(err, access.ErrForbidden), errors.Is(err, access.ErrNotFound):
		return accessError(e, err)
	}
	return e.InternalServerError("", err)
}
