// Package audit is the audit log of Skopos: who changed what on a
// website (settings, goals, funnels, shared links, API keys, notification
// rules, members, segments), kept in schema.Audit.
//
//	// after the change was saved:
//	audit.Log(app, audit.Entry{Website: site, Actor: e.Auth,
//		Action: audit.GoalCreate, Target: goal.GetString("name")})
//
//	// the dashboard's and the API's page of a website's log:
//	rows, err := audit.List(ctx, app, site.Id, time.Time{}, 50)
//
// A row copies the website's name and the actor's email when it is
// written, so that it stays readable after the website, the member or the
// account is deleted; the website is a plain id, so a deleted website's
// rows stay for superusers.
//
// Rows never hold secrets: a caller names what changed, never a token, a
// password, a key or a hash (Details under a name that says one of those
// is stored as "(redacted)" all the same).
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// Actions, as the rows spell them: the object, a dot, the verb.
const (
	WebsiteUpdate  = "website.update"
	WebsiteArchive = "website.archive"
	WebsiteDelete  = "website.delete"
	GoalCreate     = "goal.create"
	GoalUpdate     = "goal.update"
	GoalDelete     = "goal.delete"
	FunnelCreate   = "funnel.create"
	FunnelUpdate   = "funnel.update"
	FunnelDelete   = "funnel.delete"
	ShareCreate    = "share.create"
	ShareRevoke    = "share.revoke"
	KeyCreate      = "key.create"
	KeyRevoke      = "key.revoke"
	NotifyCreate   = "notify.create"
	NotifyUpdate   = "notify.update"
	NotifyDelete   = "notify.delete"
	MemberInvite   = "member.invite"
	MemberRole     = "member.role"
	MemberRemove   = "member.remove"
	OwnerTransfer  = "owner.transfer"
	InviteRevoke   = "invite.revoke"
	MemberJoin     = "member.join" // an invitation accepted: the actor is the new member
	SegmentCreate  = "segment.create"
	SegmentDelete  = "segment.delete"
)

// Entry is one change to log.
type Entry struct {
	// Website is the website changed; when it is nil, WebsiteID and
	// WebsiteName name it (a website already deleted, or one only known
	// by id).
	Website     *core.Record
	WebsiteID   string
	WebsiteName string
	// Actor is who changed it: a users or a _superusers record; nil is
	// the server itself ("system"). ViaKey marks a change made with one
	// of the actor's API keys rather than its session.
	Actor  *core.Record
	ViaKey bool
	// Action is one of the constants above.
	Action string
	// Target is the name (or, without one, the id) of what was acted
	// on: the goal's name, the key's name, the invited email.
	Target string
	// Details are small facts about the change, stored as JSON: for
	// website.update, each changed field's name → {"old": …, "new": …}.
	// Never a secret.
	Details map[string]any
}

// Actor names a caller as the logs (this one and the erasure log) store
// it: its auth collection and record id, with " (API key)" when it came
// through one of its API keys. A nil caller is "system".
func Actor(caller *core.Record, viaKey bool) string {
	if caller == nil {
		return "system"
	}
	who := caller.Collection().Name + "/" + caller.Id
	if viaKey {
		who += " (API key)"
	}
	return who
}

// Log adds e to the audit log with app.
//
// The row is written with the app it is given: Skopos' handlers call
// Log after the change is saved, with the app rather than the change's
// transaction, so that a log that cannot be written never undoes or
// refuses a change that was made. Such a failure is logged (app.Logger,
// level error, with the entry) and returned; callers that have nothing
// better to do with it may ignore the error. A caller that wants the row
// and the change to commit together passes its transaction instead and
// returns the error.
func Log(app core.App, e Entry) error {
	err := write(app, e)
	if err != nil {
		app.Logger().Error("skopos: audit log write failed", "error", err,
			"website", e.websiteID(), "actor", Actor(e.Actor, e.ViaKey), "action", e.Action, "target", e.Target)
	}
	return err
}

func write(app core.App, e Entry) error {
	if e.Action == "" {
		return errors.New("audit: entry without an action")
	}
	id, name := e.websiteID(), e.WebsiteName
	if e.Website != nil {
		name = e.Website.GetString("name")
	}
	if id == "" {
		return errors.New("audit: entry without a website")
	}
	col, err := app.FindCachedCollectionByNameOrId(schema.Audit)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	details, err := encodeDetails(e.Details)
	if err != nil {
		return fmt.Errorf("audit: details: %w", err)
	}
	email := ""
	if e.Actor != nil {
		email = e.Actor.Email()
	}
	r := core.NewRecord(col)
	r.Load(map[string]any{
		"website": id, "websiteName": clip(name, 255),
		"actor": Actor(e.Actor, e.ViaKey), "actorEmail": clip(email, 255),
		"action": e.Action, "target": clip(e.Target, schema.MaxAuditTarget), "details": details,
	})
	if err := app.SaveNoValidate(r); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

func (e Entry) websiteID() string {
	if e.Website != nil {
		return e.Website.Id
	}
	return e.WebsiteID
}

// maxValue is the longest string value kept in Details, in characters:
// a details value says what changed, it need not carry a whole document.
const maxValue = 256

// secretWords are the names of Details entries never stored as given.
var secretWords = []string{"password", "token", "secret", "hash"}

// encodeDetails is details as stored: secrets redacted, long strings
// clipped, and no more than schema.MaxAuditDetails bytes (beyond that,
// only the names of the details are kept).
func encodeDetails(details map[string]any) (json.RawMessage, error) {
	if len(details) == 0 {
		return nil, nil
	}
	clean := scrub(details).(map[string]any)
	// json.Marshal escapes <, > and & as PocketBase does, so the size is
	// the stored size
	raw, err := json.Marshal(clean)
	if err != nil || len(raw) <= schema.MaxAuditDetails {
		return raw, err
	}
	names := make([]string, 0, len(clean))
	for k := range clean {
		names = append(names, clip(k, maxValue))
	}
	raw, err = json.Marshal(map[string]any{"truncated": true, "fields": names})
	if err == nil && len(raw) > schema.MaxAuditDetails {
		raw, err = json.Marshal(map[string]any{"truncated": true})
	}
	return raw, err
}

// scrub copies v with the values under secret names redacted and long
// strings clipped.
func scrub(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if isSecret(k) {
				out[k] = "(redacted)"
				continue
			}
			out[k] = scrub(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = scrub(x)
		}
		return out
	case []string:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = clip(x, maxValue)
		}
		return out
	case string:
		return clip(v, maxValue)
	}
	return v
}

func isSecret(name string) bool {
	n := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// clip shortens s to at most n characters, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
