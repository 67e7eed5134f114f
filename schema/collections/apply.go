package collections

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/dbutils"
	"github.com/skopos-go/skopos/schema"
)

// Merge makes existing contain every field and index of desired, keeping
// what desired does not mention (a user's own fields, indexes and API
// rules). It reports whether existing changed. A field that exists with
// another type is an error: PocketBase cannot convert it, and silently
// keeping it would break the pipeline later.
func Merge(existing, desired *core.Collection) (bool, error) {
	before, err := json.Marshal(existing)
	if err != nil {
		return false, err
	}
	for _, f := range desired.Fields {
		if old := existing.Fields.GetByName(f.GetName()); old != nil && old.Type() != f.Type() {
			if keepsText(old, f) {
				continue
			}
			return false, fmt.Errorf("schema: %s.%s is a %s field, Skopos needs %s",
				existing.Name, f.GetName(), old.Type(), f.Type())
		}
		clone, err := cloneField(f)
		if err != nil {
			return false, err
		}
		clone.SetId("") // Add then reuses the id of the field with that name
		existing.Fields.Add(clone)
	}
	for _, idx := range desired.Indexes {
		parsed := dbutils.ParseIndex(idx)
		if existing.GetIndex(parsed.IndexName) == idx {
			continue
		}
		if equivalentIndex(existing, parsed) != "" {
			// the same index under another name (a Skopos Node
			// installation's): a second copy would only cost writes
			continue
		}
		existing.RemoveIndex(parsed.IndexName)
		existing.Indexes = append(existing.Indexes, idx)
	}
	for _, name := range retiredIndexes[existing.Name] {
		existing.RemoveIndex(name)
	}
	after, err := json.Marshal(existing)
	if err != nil {
		return false, err
	}
	return !bytes.Equal(before, after), nil
}

// keepsText reports whether an existing field stores what a desired text
// field holds, one string, and stays as it is: a single select (the
// Skopos Node dashboard's api_keys.service lists the services it knows;
// Skopos writes only values of that list).
func keepsText(old, desired core.Field) bool {
	sel, ok := old.(*core.SelectField)
	return ok && sel.MaxSelect <= 1 && desired.Type() == core.FieldTypeText
}

// equivalentIndex returns the name of an index of c, other than want's
// own name, with want's definition: the same uniqueness, columns (in
// order, with their collation and sort order) and condition; "" if none.
func equivalentIndex(c *core.Collection, want dbutils.Index) string {
	for _, raw := range c.Indexes {
		have := dbutils.ParseIndex(raw)
		if strings.EqualFold(have.IndexName, want.IndexName) || have.Unique != want.Unique ||
			normalize(have.Where) != normalize(want.Where) || len(have.Columns) != len(want.Columns) {
			continue
		}
		same := true
		for i, col := range have.Columns {
			w := want.Columns[i]
			if !strings.EqualFold(unquote(col.Name), unquote(w.Name)) || !strings.EqualFold(col.Collate, w.Collate) ||
				!strings.EqualFold(orASC(col.Sort), orASC(w.Sort)) {
				same = false
				break
			}
		}
		if same {
			return have.IndexName
		}
	}
	return ""
}

func unquote(name string) string { return strings.Trim(strings.TrimSpace(name), "`\"[]") }

func orASC(sort string) string {
	if sort == "" {
		return "ASC"
	}
	return sort
}

func normalize(sql string) string { return strings.Join(strings.Fields(sql), " ") }

// retiredIndexes are indexes earlier Skopos versions created that a later
// index replaced: each costs every insert, so applying removes them.
var retiredIndexes = map[string][]string{
	// replaced by (website, eventName, timestamp)
	schema.Events: {schema.IndexName(schema.Events, "type_eventName")},
}

func cloneField(f core.Field) (core.Field, error) {
	raw, err := json.Marshal(core.FieldsList{f}) // the list's encoding carries the field type
	if err != nil {
		return nil, err
	}
	var list core.FieldsList
	if err := list.AddMarshaledJSON(raw); err != nil {
		return nil, err
	}
	return list[0], nil
}

// Apply converges the Skopos collections in app (creating or merging each,
// see Merge) inside one transaction and returns the names of the
// collections it created or changed; nil means app already had them.
func Apply(app core.App) (changed []string, err error) {
	return ApplyExcept(app, nil)
}

// ApplyExcept is Apply without the indexes named in skip (collection →
// index names, as schema.IndexName gives them): adopting a Skopos Node
// installation first adds the fields, fills them, then applies the
// UNIQUE indexes over them, which the rows as found would violate.
func ApplyExcept(app core.App, skip map[string][]string) (changed []string, err error) {
	err = app.RunInTransaction(func(tx core.App) error {
		changed = nil
		// every collection read once: a lookup decodes a collection's
		// JSON, and an up-to-date schema (every start) would otherwise
		// decode each several times (relations resolve their targets)
		all, err := tx.FindAllCollections()
		if err != nil {
			return fmt.Errorf("schema: collections: %w", err)
		}
		byName := map[string]*core.Collection{}
		for _, c := range all {
			byName[c.Name] = c
		}
		find := func(name string) (*core.Collection, error) {
			if c, ok := byName[name]; ok {
				return c, nil
			}
			return tx.FindCollectionByNameOrId(name)
		}
		resolve := func(name string) (string, error) {
			c, err := find(name)
			if err != nil {
				return "", err
			}
			return c.Id, nil
		}
		for _, name := range schema.All() {
			desired, err := Definition(name, resolve)
			if err != nil {
				return err
			}
			for _, idx := range skip[name] {
				desired.RemoveIndex(idx)
			}
			target := desired
			existing, err := find(name)
			switch {
			case err == nil:
				diff, err := Merge(existing, desired)
				if err != nil {
					return err
				}
				if !diff {
					continue
				}
				target = existing
			case !isNotFound(err):
				return fmt.Errorf("schema: find %s: %w", name, err)
			}
			if err := tx.Save(target); err != nil {
				return fmt.Errorf("schema: save %s: %w", name, err)
			}
			byName[name] = target
			changed = append(changed, name)
		}
		return nil
	})
	return changed, err
}

func isNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// Changes is what Merge would change in an existing collection.
type Changes struct {
	Fields []string // fields to add
	// Reused maps Skopos' index names to an equivalent index the
	// collection has under another name (kept, not duplicated).
	Reused  map[string]string
	Indexes []string // indexes to add (or replace) by name
}

// Diff tells what Merge(existing, desired) would add, without changing
// existing.
func Diff(existing, desired *core.Collection) Changes {
	ch := Changes{Reused: map[string]string{}}
	for _, f := range desired.Fields {
		if existing.Fields.GetByName(f.GetName()) == nil {
			ch.Fields = append(ch.Fields, f.GetName())
		}
	}
	for _, idx := range desired.Indexes {
		parsed := dbutils.ParseIndex(idx)
		if existing.GetIndex(parsed.IndexName) == idx {
			continue
		}
		switch theirs := equivalentIndex(existing, parsed); {
		case theirs != "":
			ch.Reused[parsed.IndexName] = theirs
		default:
			ch.Indexes = append(ch.Indexes, parsed.IndexName)
		}
	}
	return ch
}
