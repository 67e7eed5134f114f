// Package team manages who besides its owner may use a website: the
// members (skopos_members, with the role access reads) and the
// invitations by email that make them (skopos_invites).
//
// Only the owner (websites.user, or a superuser) changes the members: an
// admin runs the website but cannot give anyone, themselves included,
// more access than they have. Every change runs in one transaction and
// re-reads the rows it depends on, so two owners' clicks cannot leave a
// website with a member row for its owner or an invitation used twice.
package team

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/schema"
)

// InviteTTL is how long an invitation link works.
const InviteTTL = 7 * 24 * time.Hour

// MaxPendingInvites bounds the open invitations of one website: each one
// sends an email, so an owner's compromised session cannot turn the
// server into a mail cannon.
const MaxPendingInvites = 50

var (
	// ErrInvalid is a request that cannot be carried out as asked (a bad
	// email or role, inviting the owner, removing the owner...). Its
	// message is for the user.
	ErrInvalid = errors.New("team: invalid request")
	// ErrNoInvite is an invitation token that opens nothing: unknown, or
	// its website is gone.
	ErrNoInvite = errors.New("team: no such invitation")
	// ErrInviteUsed is an invitation already accepted.
	ErrInviteUsed = errors.New("team: this invitation was already used")
	// ErrInviteExpired is an invitation past InviteTTL.
	ErrInviteExpired = errors.New("team: this invitation has expired")
	// ErrWrongAccount is an invitation opened by an account whose email
	// is not the invited one.
	ErrWrongAccount = errors.New("team: this invitation is for another email address")
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// Member is one person with a role on a website.
type Member struct {
	UserID string
	Email  string
	Role   access.Role
	Added  time.Time // zero for the owner
}

// Invitation is a pending invitation.
type Invitation struct {
	ID      string
	Email   string
	Role    access.Role
	Expires time.Time
	By      string
}

// Actor names a caller in the tables' addedBy/invitedBy columns, as the
// audit log does.
func Actor(auth *core.Record) string { return audit.Actor(auth, false) }

// Members lists site's owner (when the owner is a users record) then its
// members by email.
func Members(app core.App, site *core.Record) ([]Member, error) {
	var out []Member
	if id := site.GetString("user"); id != "" {
		if u, err := app.FindRecordById(schema.Users, id); err == nil {
			out = append(out, Member{UserID: u.Id, Email: u.Email(), Role: access.Owner})
		}
	}
	var rows []struct {
		User    string         `db:"user"`
		Email   string         `db:"email"`
		Role    string         `db:"role"`
		Created types.DateTime `db:"created"`
	}
	err := app.DB().NewQuery("SELECT m.user, u.email, m.role, m.created FROM " + schema.Members + " m JOIN " + schema.Users +
		" u ON u.id = m.user WHERE m.website = {:w} ORDER BY u.email").Bind(dbx.Params{"w": site.Id}).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("team: members: %w", err)
	}
	for _, r := range rows {
		out = append(out, Member{UserID: r.User, Email: r.Email, Role: access.ParseRole(r.Role), Added: r.Created.Time()})
	}
	return out, nil
}

// Pending lists site's invitations not yet accepted nor expired, newest
// first.
func Pending(app core.App, site *core.Record, now time.Time) ([]Invitation, error) {
	recs, err := app.FindRecordsByFilter(schema.Invites, "website = {:w} && accepted = '' && expires > {:now}", "-created", 0, 0,
		dbx.Params{"w": site.Id, "now": now.UTC().Format(types.DefaultDateLayout)})
	if err != nil {
		return nil, fmt.Errorf("team: invitations: %w", err)
	}
	out := make([]Invitation, 0, len(recs))
	for _, r := range recs {
		out = append(out, Invitation{ID: r.Id, Email: r.GetString("email"), Role: access.ParseRole(r.GetString("role")),
			Expires: r.GetDateTime("expires").Time(), By: r.GetString("invitedBy")})
	}
	return out, nil
}

// mustOwn is access.Check for the member-management actions.
func mustOwn(app core.App, auth, site *core.Record) error {
	return access.Check(app, auth, site, access.Owner)
}

// Invite creates an invitation of email to site with role (admin or
// viewer) on behalf of auth, site's owner. It returns the link's token,
// which is stored only as a hash: the caller mails it and forgets it. An
// earlier open invitation of the same email is replaced.
func Invite(app core.App, auth, site *core.Record, email string, role access.Role, now time.Time) (string, *core.Record, error) {
	if err := mustOwn(app, auth, site); err != nil {
		return "", nil, err
	}
	email = strings.TrimSpace(email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 255 {
		return "", nil, invalid("enter one email address (name@example.com)")
	}
	if role != access.Admin && role != access.Viewer {
		return "", nil, invalid("the role must be one of %s", strings.Join(access.Roles, ", "))
	}
	token := rand.Text() + rand.Text()
	var rec *core.Record
	err := app.RunInTransaction(func(tx core.App) error {
		members, err := Members(tx, site)
		if err != nil {
			return err
		}
		for _, m := range members {
			if strings.EqualFold(m.Email, email) {
				return invalid("%s already has a role on this website (%s)", email, m.Role)
			}
		}
		if _, err := tx.DB().NewQuery("DELETE FROM " + schema.Invites + " WHERE website = {:w} AND accepted = '' AND email = {:e} COLLATE NOCASE").
			Bind(dbx.Params{"w": site.Id, "e": email}).Execute(); err != nil {
			return err
		}
		var open int
		if err := tx.DB().NewQuery("SELECT COUNT(*) FROM " + schema.Invites + " WHERE website = {:w} AND accepted = '' AND expires > {:now}").
			Bind(dbx.Params{"w": site.Id, "now": now.UTC().Format(types.DefaultDateLayout)}).Row(&open); err != nil {
			return err
		}
		if open >= MaxPendingInvites {
			return invalid("this website has %d open invitations; revoke some first", open)
		}
		col, err := tx.FindCollectionByNameOrId(schema.Invites)
		if err != nil {
			return err
		}
		rec = core.NewRecord(col)
		rec.Set("website", site.Id)
		rec.Set("email", email)
		rec.Set("role", role.String())
		rec.Set("tokenHash", hashToken(token))
		rec.Set("invitedBy", Actor(auth))
		rec.Set("expires", now.Add(InviteTTL).UTC())
		return tx.Save(rec)
	})
	if err != nil {
		return "", nil, wrap("invite", err)
	}
	return token, rec, nil
}

// RevokeInvite deletes an open invitation of site (site's owner only).
func RevokeInvite(app core.App, auth, site *core.Record, id string) error {
	if err := mustOwn(app, auth, site); err != nil {
		return err
	}
	rec, err := app.FindRecordById(schema.Invites, id)
	if err != nil || rec.GetString("website") != site.Id || !rec.GetDateTime("accepted").IsZero() {
		return ErrNoInvite
	}
	return wrap("revoke invitation", app.Delete(rec))
}

// Opened is what an invitation token opens.
type Opened struct {
	Invite *core.Record
	Site   *core.Record
	Email  string
	Role   access.Role
}

// Open finds the invitation of token: ErrNoInvite, ErrInviteUsed or
// ErrInviteExpired when it cannot be accepted.
func Open(app core.App, token string, now time.Time) (*Opened, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrNoInvite
	}
	rec, err := app.FindFirstRecordByData(schema.Invites, "tokenHash", hashToken(token))
	if err != nil {
		return nil, ErrNoInvite
	}
	site, err := app.FindRecordById(schema.Websites, rec.GetString("website"))
	if err != nil {
		return nil, ErrNoInvite
	}
	o := &Opened{Invite: rec, Site: site, Email: rec.GetString("email"), Role: access.ParseRole(rec.GetString("role"))}
	switch {
	case !rec.GetDateTime("accepted").IsZero():
		return o, ErrInviteUsed
	case !now.Before(rec.GetDateTime("expires").Time()):
		return o, ErrInviteExpired
	}
	return o, nil
}

// Accept gives user (a users record whose email is the invited one) the
// invitation's role on its website, once: the invitation is marked used
// in the same transaction, and a second Accept of the token is
// ErrInviteUsed.
func Accept(app core.App, token string, user *core.Record, now time.Time) (*core.Record, error) {
	if user == nil || user.Collection().Name != schema.Users {
		return nil, invalid("log in with a user account (not a superuser) to accept an invitation")
	}
	var site *core.Record
	err := app.RunInTransaction(func(tx core.App) error {
		o, err := Open(tx, token, now)
		if err != nil {
			return err
		}
		if !strings.EqualFold(o.Email, user.Email()) {
			return ErrWrongAccount
		}
		site = o.Site
		o.Invite.Set("accepted", now.UTC())
		o.Invite.Set("acceptedBy", user.Id)
		if err := tx.Save(o.Invite); err != nil {
			return err
		}
		if site.GetString("user") == user.Id {
			return nil // the owner already has every role
		}
		return setMember(tx, site, user.Id, o.Role, o.Invite.GetString("invitedBy"))
	})
	if err != nil {
		return nil, wrap("accept", err)
	}
	return site, nil
}

// setMember gives userID role on site, creating or changing its row.
func setMember(tx core.App, site *core.Record, userID string, role access.Role, by string) error {
	rec, err := tx.FindFirstRecordByFilter(schema.Members, "website = {:w} && user = {:u}", dbx.Params{"w": site.Id, "u": userID})
	if err != nil {
		col, cerr := tx.FindCollectionByNameOrId(schema.Members)
		if cerr != nil {
			return cerr
		}
		rec = core.NewRecord(col)
		rec.Set("website", site.Id)
		rec.Set("user", userID)
		rec.Set("addedBy", by)
	}
	rec.Set("role", role.String())
	return tx.Save(rec)
}

// SetRole changes a member's role (site's owner only). The owner's role
// is changed only by Transfer.
func SetRole(app core.App, auth, site *core.Record, userID string, role access.Role) error {
	if err := mustOwn(app, auth, site); err != nil {
		return err
	}
	if role != access.Admin && role != access.Viewer {
		return invalid("the role must be one of %s", strings.Join(access.Roles, ", "))
	}
	return wrap("set role", app.RunInTransaction(func(tx core.App) error {
		if _, err := tx.FindFirstRecordByFilter(schema.Members, "website = {:w} && user = {:u}", dbx.Params{"w": site.Id, "u": userID}); err != nil {
			return invalid("no such member")
		}
		return setMember(tx, site, userID, role, Actor(auth))
	}))
}

// Remove takes userID's role on site away. The owner may remove any
// member; a member may remove themselves (leave). The owner cannot be
// removed: Transfer the website first.
func Remove(app core.App, auth, site *core.Record, userID string) error {
	self := auth != nil && auth.Collection().Name == schema.Users && auth.Id == userID
	if err := mustOwn(app, auth, site); err != nil && !(self && access.CanView(app, auth, site)) {
		return err
	}
	if site.GetString("user") == userID {
		return invalid("the owner cannot be removed; transfer the website to another member first")
	}
	n, err := app.DB().Delete(schema.Members, dbx.HashExp{"website": site.Id, "user": userID}).Execute()
	if err != nil {
		return wrap("remove", err)
	}
	if rows, _ := n.RowsAffected(); rows == 0 {
		return invalid("no such member")
	}
	return nil
}

// Transfer makes the member userID site's owner (site's owner only). The
// previous owner, when a users record, stays as an admin: the transfer
// must not lock out the person who made it by surprise; they can leave
// afterwards.
func Transfer(app core.App, auth, site *core.Record, userID string) error {
	if err := mustOwn(app, auth, site); err != nil {
		return err
	}
	return wrap("transfer", app.RunInTransaction(func(tx core.App) error {
		fresh, err := tx.FindRecordById(schema.Websites, site.Id)
		if err != nil {
			return err
		}
		m, err := tx.FindFirstRecordByFilter(schema.Members, "website = {:w} && user = {:u}", dbx.Params{"w": site.Id, "u": userID})
		if err != nil {
			return invalid("the new owner must be a member of the website; invite them first")
		}
		old := fresh.GetString("user")
		if err := tx.Delete(m); err != nil {
			return err
		}
		fresh.Set("user", userID)
		if err := tx.Save(fresh); err != nil {
			return err
		}
		site.Set("user", userID)
		if old != "" {
			return setMember(tx, fresh, old, access.Admin, Actor(auth))
		}
		return nil
	}))
}

// Sentinels are the errors a caller maps to answers as they are.
var sentinels = []error{ErrInvalid, ErrNoInvite, ErrInviteUsed, ErrInviteExpired, ErrWrongAccount,
	access.ErrNotFound, access.ErrForbidden}

// wrap names the step of an unexpected error; the package's sentinels
// pass through so that errors.Is keeps working and the message stays the
// user's.
func wrap(step string, err error) error {
	if err == nil || slices.ContainsFunc(sentinels, func(s error) bool { return errors.Is(err, s) }) {
		return err
	}
	return fmt.Errorf("team: %s: %w", step, err)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
