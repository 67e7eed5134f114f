package collections

import (
	"fmt"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// builder adds fields, indexes and rules to a collection being defined;
// the first relation that cannot be resolved is its error.
type builder struct {
	c       *core.Collection
	resolve IDResolver
	err     error
}

func (b *builder) fields(f ...core.Field) { b.c.Fields.Add(f...) }

func (b *builder) text(name string, max int, required bool) {
	b.fields(&core.TextField{Name: name, Max: max, Required: required})
}

func (b *builder) boolean(name string) { b.fields(&core.BoolField{Name: name}) }

func (b *builder) json(name string, maxSize int64) {
	b.fields(&core.JSONField{Name: name, MaxSize: maxSize})
}

// relation adds a single, optional relation without cascade delete, as in
// the Skopos schema: deleting a website must not start a delete of millions
// of rows inside one request (retention does that in bulk instead).
func (b *builder) relation(name, target string) {
	id, err := b.resolve(target)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("schema: %s.%s: resolve %q: %w", b.c.Name, name, target, err)
	}
	b.fields(&core.RelationField{Name: name, CollectionId: id, MaxSelect: 1})
}

// ownerRules lets a users record list and read the records of the
// websites it may see (its own, websites.user, and those it is a member
// of, skopos_members), and create, change and delete those of the
// websites it owns or is an admin of; superusers pass every rule anyway.
// A record cannot be moved to a website the caller may not change: the
// update rule checks the new website too. The rules are set when Skopos
// creates the collection; rules an operator changed later are kept (a
// migration replaces only the earlier default, see OwnerRules).
func (b *builder) ownerRules() {
	r := OwnerRules()
	b.c.ListRule, b.c.ViewRule, b.c.DeleteRule = &r.View, &r.View, &r.Change
	b.c.CreateRule, b.c.UpdateRule = &r.Create, &r.Update
}

// Rules are a collection's API rules, as ownerRules sets them.
type Rules struct{ View, Change, Create, Update string }

// OwnerRules are the API rules of goals and funnels: members read, owners
// and admins change. The @collection conditions share one join, so they
// hold for one skopos_members row.
func OwnerRules() Rules {
	const users = "@request.auth.collectionName = 'users' && "
	member := func(site, role string) string {
		m := "@collection." + schema.Members
		c := m + ".website ?= " + site + " && " + m + ".user ?= @request.auth.id"
		if role != "" {
			c += " && " + m + ".role ?= '" + role + "'"
		}
		return c
	}
	may := func(site, role string) string {
		return "(" + site + ".user = @request.auth.id || (" + member(site, role) + "))"
	}
	change := users + may("website", "admin")
	body := "@request.body.website"
	return Rules{
		View:   users + may("website", ""),
		Change: change,
		Create: users + may(body, "admin"),
		Update: change + " && (" + body + ":isset = false || " + may(body, "admin") + ")",
	}
}

// LegacyOwnerRules are the rules of goals and funnels before members
// (schema v14 and earlier): a migration replaces exactly these.
func LegacyOwnerRules() Rules {
	own := "@request.auth.collectionName = 'users' && website.user = @request.auth.id"
	return Rules{
		View: own, Change: own,
		Create: "@request.auth.collectionName = 'users' && @request.body.website.user = @request.auth.id",
		Update: own + " && (@request.body.website:isset = false || @request.body.website.user = @request.auth.id)",
	}
}

// cascade adds a single relation whose records are deleted with their
// target: for small per-website data (an SEO analysis and its history),
// where a delete of the website should leave nothing behind.
func (b *builder) cascade(name, target string) {
	b.relation(name, target)
	b.c.Fields.GetByName(name).(*core.RelationField).CascadeDelete = true
}

func (b *builder) index(suffix string, unique bool, columns string) {
	b.c.AddIndex(schema.IndexName(b.c.Name, suffix), unique, columns, "")
}

// UpgradeOwnerRules gives goals and funnels the members' rules
// (OwnerRules) where they still hold the earlier default
// (LegacyOwnerRules); a rule an operator changed is kept, one by one.
func UpgradeOwnerRules(app core.App) error {
	old, cur := LegacyOwnerRules(), OwnerRules()
	for _, name := range schema.Analysis {
		c, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			return fmt.Errorf("schema: %s: %w", name, err)
		}
		changed := false
		for _, r := range []struct {
			rule      **string
			old, want string
		}{
			{&c.ListRule, old.View, cur.View}, {&c.ViewRule, old.View, cur.View},
			{&c.DeleteRule, old.Change, cur.Change},
			{&c.CreateRule, old.Create, cur.Create}, {&c.UpdateRule, old.Update, cur.Update},
		} {
			if *r.rule != nil && **r.rule == r.old {
				v := r.want
				*r.rule, changed = &v, true
			}
		}
		if changed {
			if err := app.Save(c); err != nil {
				return fmt.Errorf("schema: %s rules: %w", name, err)
			}
		}
	}
	return nil
}
