package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/schema"
)

// Changes compares a record before a change (rec.Original() taken
// before saving it) with after (as saved, with what the save's hooks
// normalized) and returns each changed field's name → {"old": …, "new":
// …}: the details of an update. Autodate, password and hidden fields are
// left out; fields under a secret's name are redacted by Log.
func Changes(before, after *core.Record) map[string]any {
	out := map[string]any{}
	for _, f := range after.Collection().Fields {
		switch f.Type() {
		case core.FieldTypeAutodate, core.FieldTypePassword:
			continue
		}
		if f.GetHidden() {
			continue
		}
		name := f.GetName()
		old, cur := plain(before.Get(name)), plain(after.Get(name))
		if !reflect.DeepEqual(old, cur) {
			out[name] = map[string]any{"old": old, "new": cur}
		}
	}
	return out
}

// plain is a field value as JSON would give it back, so that a value
// loaded from the database and the same value set from a form compare
// equal (types.JSONRaw and []string, types.DateTime and its text).
func plain(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return string(b)
	}
	return out
}

// Reach lists the websites an object of owner's account reaches (an API
// key, a notification rule): those whose field (trackingId, id) is one of
// values, or with no values, every website owner administers now. The
// object's rows go on each: whoever administers a website sees what can
// read or watch it.
func Reach(app core.App, owner *core.Record, field string, values []string) ([]*core.Record, error) {
	if len(values) == 0 {
		if owner == nil {
			return nil, errors.New("audit: no owner to reach websites through")
		}
		return access.SitesWith(app, owner, access.Admin)
	}
	in := make([]any, len(values))
	for i, v := range values {
		in[i] = v
	}
	return app.FindAllRecords(schema.Websites, dbx.In(field, in...))
}

// LogKey logs action (KeyCreate, KeyRevoke) on the API key rec by actor
// on each website the key reads (Reach: its scope, or every website its
// owner administers). The key's name is the target; its record id and
// scope are the details, never the key or its hash.
func LogKey(app core.App, actor *core.Record, viaKey bool, action string, key *core.Record) error {
	var scope []string
	_ = key.UnmarshalJSONField("sites", &scope) // absent or null: every site
	owner := actor
	if id := key.GetString("user"); id != "" {
		owner, _ = app.FindRecordById(schema.Users, id)
	} else if id := key.GetString("superuser"); id != "" {
		owner, _ = app.FindRecordById(schema.Superusers, id)
	}
	e := Entry{Actor: actor, ViaKey: viaKey, Action: action, Target: key.GetString("name"),
		Details: map[string]any{"id": key.Id, "sites": "all"}}
	if len(scope) > 0 {
		e.Details["sites"] = scope
	}
	return LogReach(app, owner, "trackingId", scope, e)
}

// LogReach logs e once on each website Reach(app, owner, field, values)
// lists (e.Website set to each). The first failure is returned; every
// one is logged, as by Log.
func LogReach(app core.App, owner *core.Record, field string, values []string, e Entry) error {
	sites, err := Reach(app, owner, field, values)
	if err != nil {
		app.Logger().Error("skopos: audit log write failed", "error", err,
			"actor", Actor(e.Actor, e.ViaKey), "action", e.Action, "target", e.Target)
		return err
	}
	var first error
	for _, site := range sites {
		e.Website = site
		if err := Log(app, e); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ShareDetails are the details of share.create: the link's record id,
// expiry and whether it has a password (never the token, the password
// or their hashes).
func ShareDetails(link *core.Record) map[string]any {
	d := map[string]any{"id": link.Id, "protected": link.GetString("password") != ""}
	if exp := link.GetDateTime("expires"); !exp.IsZero() {
		d["expires"] = exp.String()
	}
	return d
}
