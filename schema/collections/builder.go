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

// ownerRules lets a users record list, read, create, change and delete
// the records of the websites it owns (websites.user); superusers pass
// every rule anyway. A record cannot be moved to a website of another
// owner: the update rule checks the new website too. The rules are set
// when Skopos creates the collection; rules an operator changed later are
// kept.
func (b *builder) ownerRules() {
	own := "@request.auth.collectionName = 'users' && website.user = @request.auth.id"
	create := "@request.auth.collectionName = 'users' && @request.body.website.user = @request.auth.id"
	update := own + " && (@request.body.website:isset = false || @request.body.website.user = @request.auth.id)"
	b.c.ListRule, b.c.ViewRule, b.c.DeleteRule = &own, &own, &own
	b.c.CreateRule, b.c.UpdateRule = &create, &update
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
