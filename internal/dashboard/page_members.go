package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/inflector"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/team"
	"github.com/skopos-go/skopos/schema"
)

type memberRow struct {
	team.Member
	Self                            bool
	RoleURL, RemoveURL, TransferURL string
}

type inviteRow struct {
	team.Invitation
	RevokeURL string
}

type membersData struct {
	Site      siteView
	Members   []memberRow
	Invites   []inviteRow
	Roles     []string
	IsOwner   bool
	Email     string // the invite form as typed
	Role      string
	Error     string
	Done      string
	Link      string // a new invitation's link when it could not be mailed
	ActionURL string
	BackURL   string
}

// membersDone are the notices of a redirect after a change (?done=).
var membersDone = map[string]string{
	"invited": "Invitation sent.", "role": "Role changed.", "removed": "Member removed.",
	"transferred": "Ownership transferred: you are now an admin of this website.", "revoked": "Invitation revoked.",
}

// members shows a website's people (admins and the owner) and, to the
// owner, the forms that change them.
func (s *server) members(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	s.renderMembers(w, r, u, site, http.StatusOK, membersData{Done: membersDone[r.URL.Query().Get("done")]})
}

func (s *server) renderMembers(w http.ResponseWriter, r *http.Request, u *user, site *core.Record, status int, d membersData) {
	ms, err := team.Members(s.app, site)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	inv, err := team.Pending(s.app, site, s.opts.Now())
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d.Site, d.Roles = s.viewSite(site), access.Roles
	d.IsOwner = access.Can(s.app, u.rec, site, access.Owner)
	d.ActionURL, d.BackURL = sitePath(site.Id, "members", nil), siteURL(site.Id, nil)
	for _, m := range ms {
		p := "members/" + url.PathEscape(m.UserID)
		d.Members = append(d.Members, memberRow{Member: m, Self: !u.super && m.UserID == u.rec.Id,
			RoleURL: sitePath(site.Id, p+"/role", nil), RemoveURL: sitePath(site.Id, p+"/remove", nil),
			TransferURL: sitePath(site.Id, p+"/transfer", nil)})
	}
	for _, in := range inv {
		d.Invites = append(d.Invites, inviteRow{Invitation: in, RevokeURL: sitePath(site.Id, "invites/"+url.PathEscape(in.ID)+"/revoke", nil)})
	}
	s.render(w, status, "members", pageFor(u, "Members · "+site.GetString("name"), "", d))
}

// teamError renders a refused change on the members page (422 with the
// reason), or answers 403/404/500 as every other page does.
func (s *server) teamError(w http.ResponseWriter, r *http.Request, u *user, site *core.Record, err error, d membersData) {
	switch {
	case errors.Is(err, team.ErrInvalid):
		d.Error = inflector.Sentenize(strings.TrimPrefix(err.Error(), team.ErrInvalid.Error()+": "))
		s.renderMembers(w, r, u, site, http.StatusUnprocessableEntity, d)
	case errors.Is(err, access.ErrForbidden):
		s.fail(w, r, u, http.StatusForbidden, "Only the website's owner can change its members.")
	case errors.Is(err, access.ErrNotFound), errors.Is(err, team.ErrNoInvite):
		s.notFound(w, r, u)
	default:
		s.internal(w, r, u, err)
	}
}

func (s *server) invite(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	d := membersData{Email: strings.TrimSpace(r.PostFormValue("email")), Role: r.PostFormValue("role")}
	token, rec, err := team.Invite(s.app, u.rec, site, d.Email, access.ParseRole(d.Role), s.opts.Now())
	if err != nil {
		s.teamError(w, r, u, site, err, d)
		return
	}
	s.logMember(site, u, audit.MemberInvite, d.Email, map[string]any{"role": access.ParseRole(d.Role).String()})
	link := Origin(r) + Prefix + "/invite/" + url.PathEscape(token)
	if err := team.SendInvite(s.app, rec, site, u.rec, link); err != nil {
		// the invitation stands; its link is shown once, to pass on by hand
		s.app.Logger().Warn("skopos dashboard: invitation not mailed", "website", site.Id, "error", err)
		d = membersData{Link: link, Error: "The invitation could not be emailed (" + err.Error() + "). Send this link to " + d.Email + " yourself; it is shown only now."}
		s.renderMembers(w, r, u, site, http.StatusCreated, d)
		return
	}
	http.Redirect(w, r, sitePath(site.Id, "members", url.Values{"done": {"invited"}}), http.StatusSeeOther)
}

// logMember adds a members change to the audit log.
func (s *server) logMember(site *core.Record, u *user, action, target string, details map[string]any) {
	_ = audit.Log(s.app, audit.Entry{Website: site, Actor: u.rec, Action: action, Target: target, Details: details})
}

// memberAction runs one change (an audit action) of the {uid} member, logs
// it and goes back to the members page with its notice.
func (s *server) memberAction(action, done string, do func(app core.App, u *user, site *core.Record, uid string, r *http.Request) error) func(http.ResponseWriter, *http.Request, *user, *core.Record) {
	return func(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
		uid := r.PathValue("uid")
		target := uid
		if rec, err := s.app.FindRecordById(schema.Users, uid); err == nil {
			target = rec.Email() // read before: a removal takes the row away
		}
		if err := do(s.app, u, site, uid, r); err != nil {
			s.teamError(w, r, u, site, err, membersData{})
			return
		}
		var details map[string]any
		if action == audit.MemberRole {
			details = map[string]any{"role": access.ParseRole(r.PostFormValue("role")).String()}
		}
		s.logMember(site, u, action, target, details)
		next := sitePath(site.Id, "members", url.Values{"done": {done}})
		if !access.CanView(s.app, u.rec, site) {
			next = Prefix + "/" // left the website
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

func (s *server) setRole(app core.App, u *user, site *core.Record, uid string, r *http.Request) error {
	return team.SetRole(app, u.rec, site, uid, access.ParseRole(r.PostFormValue("role")))
}

func (s *server) removeMember(app core.App, u *user, site *core.Record, uid string, _ *http.Request) error {
	return team.Remove(app, u.rec, site, uid)
}

func (s *server) transferSite(app core.App, u *user, site *core.Record, uid string, _ *http.Request) error {
	return team.Transfer(app, u.rec, site, uid)
}

func (s *server) revokeInvite(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	target := r.PathValue("iid")
	if rec, err := s.app.FindRecordById(schema.Invites, target); err == nil {
		target = rec.GetString("email")
	}
	if err := team.RevokeInvite(s.app, u.rec, site, r.PathValue("iid")); err != nil {
		s.teamError(w, r, u, site, err, membersData{})
		return
	}
	s.logMember(site, u, audit.InviteRevoke, target, nil)
	http.Redirect(w, r, sitePath(site.Id, "members", url.Values{"done": {"revoked"}}), http.StatusSeeOther)
}
