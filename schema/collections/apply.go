package collections

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

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
		if existing.GetIndex(parsed.IndexName) != idx {
			existing.RemoveIndex(parsed.IndexName)
			existing.Indexes = append(existing.Indexes, idx)
		}
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
	err = app.RunInTransaction(func(tx core.App) error {
		changed = nil
		resolve := func(name string) (string, error) {
			c, err := tx.FindCollectionByNameOrId(name)
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
			target := desired
			existing, err := tx.FindCollectionByNameOrId(name)
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
			changed = append(changed, name)
		}
		return nil
	})
	return changed, err
}

func isNotFound(err error) bool { return errors.Is(err, sql.ErrNoRows) }
