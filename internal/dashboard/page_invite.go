package dashboard

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/team"
	"github.com/skopos-go/skopos/schema"
)

// inviteFormCookie carries the sign-up form's CSRF token before there is
// a session (double submit, as for the login form).
const inviteFormCookie = "skopos_invite_form"

// inviteMinPassword is the shortest password the sign-up form takes
// (PocketBase's own default for users).
const inviteMinPassword = 8

type inviteData struct {
	Site, Email, Role string
	// one of: "accept" (logged in as the invited email), "other" (logged
	// in as someone else), "login" (an account exists), "signup"
	Mode      string
	LoginURL  string
	ActionURL string
	Error     string
}

func invitePath(token string) string { return Prefix + "/invite/" + url.PathEscape(token) }

// inviteRefusal is the page of a token that cannot be accepted: 404 for
// one that opens nothing, 410 for a used or expired one.
func (s *server) inviteRefusal(w http.ResponseWriter, r *http.Request, u *user, err error) {
	switch {
	case errors.Is(err, team.ErrInviteUsed):
		s.fail(w, r, u, http.StatusGone, "This invitation was already used. If it was not you, ask the website's owner for a new one.")
	case errors.Is(err, team.ErrInviteExpired):
		s.fail(w, r, u, http.StatusGone, "This invitation has expired. Ask the website's owner for a new one.")
	case errors.Is(err, team.ErrNoInvite):
		s.fail(w, r, u, http.StatusNotFound, "This invitation does not exist or was revoked.")
	default:
		s.internal(w, r, u, err)
	}
}

// invitePage opens an invitation link: to accept it with the account
// that is logged in, to log in first, or to create the account.
func (s *server) invitePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	u := s.currentUser(r)
	o, err := team.Open(s.app, r.PathValue("token"), s.opts.Now())
	if err != nil {
		s.inviteRefusal(w, r, u, err)
		return
	}
	s.renderInvite(w, r, u, o, http.StatusOK, "")
}

func (s *server) renderInvite(w http.ResponseWriter, r *http.Request, u *user, o *team.Opened, status int, msg string) {
	token := r.PathValue("token")
	d := inviteData{Site: o.Site.GetString("name"), Email: o.Email, Role: o.Role.String(), ActionURL: invitePath(token), Error: msg,
		LoginURL: Prefix + "/login?next=" + url.QueryEscape(invitePath(token))}
	switch {
	case u != nil && !u.super && strings.EqualFold(u.email(), o.Email):
		d.Mode = "accept"
		s.render(w, status, "invite", pageFor(u, "Invitation", "", d))
		return
	case u != nil:
		d.Mode = "other"
		s.render(w, status, "invite", pageFor(u, "Invitation", "", d))
		return
	}
	if _, err := s.app.FindAuthRecordByEmail(schema.Users, o.Email); err == nil {
		d.Mode = "login"
	} else {
		d.Mode = "signup"
	}
	csrf := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: inviteFormCookie, Value: csrf, Path: invitePath(token),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r), MaxAge: 3600})
	s.render(w, status, "invite", &page{Title: "Invitation", CSRF: csrf, Data: d})
}

// acceptInvite accepts an invitation: with the logged-in account (its
// session's CSRF token), or by creating the invited email's account (the
// form's cookie), which is then logged in. The account is created
// verified: opening the link proved the mailbox.
func (s *server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	token := r.PathValue("token")
	u := s.currentUser(r)
	o, err := team.Open(s.app, token, s.opts.Now())
	if err != nil {
		s.inviteRefusal(w, r, u, err)
		return
	}
	if u != nil {
		if !tokenEqual(r.PostFormValue("csrf"), u.sess.csrf) {
			s.fail(w, r, u, http.StatusForbidden, "The form has expired or did not come from this dashboard. Reload the page and try again.")
			return
		}
		site, err := team.Accept(s.app, token, u.rec, s.opts.Now())
		if err != nil {
			s.inviteAcceptError(w, r, u, o, err)
			return
		}
		s.logMember(site, u, audit.MemberJoin, u.email(), map[string]any{"role": o.Role.String()})
		http.Redirect(w, r, siteURL(site.Id, nil), http.StatusSeeOther)
		return
	}
	if c, err := r.Cookie(inviteFormCookie); err != nil || !tokenEqual(r.PostFormValue("csrf"), c.Value) {
		s.renderInvite(w, r, nil, o, http.StatusForbidden, "The form expired. Please try again.")
		return
	}
	pw := r.PostFormValue("password")
	switch {
	case len(pw) < inviteMinPassword || len(pw) > 72:
		s.renderInvite(w, r, nil, o, http.StatusUnprocessableEntity, "Choose a password of 8 to 72 characters.")
		return
	case pw != r.PostFormValue("passwordConfirm"):
		s.renderInvite(w, r, nil, o, http.StatusUnprocessableEntity, "The two passwords differ.")
		return
	}
	var rec *core.Record
	var site *core.Record
	err = s.app.RunInTransaction(func(tx core.App) error {
		if _, err := tx.FindAuthRecordByEmail(schema.Users, o.Email); err == nil {
			return errAccountExists
		}
		col, err := tx.FindCollectionByNameOrId(schema.Users)
		if err != nil {
			return err
		}
		rec = core.NewRecord(col)
		rec.SetEmail(o.Email)
		rec.SetPassword(pw)
		rec.SetVerified(true)
		if err := tx.Save(rec); err != nil {
			return err
		}
		site, err = team.Accept(tx, token, rec, s.opts.Now())
		return err
	})
	switch {
	case errors.Is(err, errAccountExists):
		s.renderInvite(w, r, nil, o, http.StatusConflict, "An account with this email exists: log in to accept.")
		return
	case err != nil:
		s.inviteAcceptError(w, r, nil, o, err)
		return
	}
	s.logMember(site, &user{rec: rec}, audit.MemberJoin, rec.Email(), map[string]any{"role": o.Role.String(), "signedUp": true})
	ss := s.sessions.create(rec)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: ss.token, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r), MaxAge: int(s.opts.SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: inviteFormCookie, Value: "", Path: invitePath(token), MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r)})
	http.Redirect(w, r, siteURL(site.Id, nil), http.StatusSeeOther)
}

var errAccountExists = errors.New("an account with this email exists")

func (s *server) inviteAcceptError(w http.ResponseWriter, r *http.Request, u *user, o *team.Opened, err error) {
	switch {
	case errors.Is(err, team.ErrWrongAccount):
		s.renderInvite(w, r, u, o, http.StatusForbidden, "This invitation is for "+o.Email+": log out and open the link again.")
	case errors.Is(err, team.ErrInvalid):
		s.renderInvite(w, r, u, o, http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), team.ErrInvalid.Error()+": "))
	case errors.Is(err, team.ErrInviteUsed), errors.Is(err, team.ErrInviteExpired), errors.Is(err, team.ErrNoInvite):
		s.inviteRefusal(w, r, u, err)
	default:
		s.internal(w, r, u, err)
	}
}
