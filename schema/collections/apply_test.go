package collections_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/dbutils"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
	"github.com/skopos-go/skopos/schema/collections"
)

// uniqueIndexes lists the UNIQUE indexes the pipeline's race-freedom rests on.
var uniqueIndexes = map[string][]string{
	schema.Websites:     {"trackingId"},
	schema.Visitors:     {"website", "visitorId"},
	schema.Sessions:     {"visitor", "seq"},
	schema.JSErrors:     {"website", "errorHash"},
	schema.DashSum:      {"website", "date"},
	schema.DashSumItems: {"website", "date", "dimension", "key"},
}

func columns(idx dbutils.Index) []string {
	var out []string
	for _, c := range idx.Columns {
		out = append(out, c.Name)
	}
	return out
}

// hasUniqueIndex looks in the database itself, not in the collection model.
func hasUniqueIndex(t *testing.T, app core.App, collection string, cols []string) bool {
	t.Helper()
	var rows []struct {
		SQL string `db:"sql"`
	}
	err := app.DB().NewQuery("SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name={:t} AND sql IS NOT NULL").
		Bind(map[string]any{"t": collection}).All(&rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		idx := dbutils.ParseIndex(r.SQL)
		if idx.Unique && slices.Equal(columns(idx), cols) {
			return true
		}
	}
	return false
}

func TestApplyCreatesEveryCollectionWithItsUniqueIndexes(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{Plain: true})
	app := srv.App()

	changed, err := collections.Apply(app)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(changed, schema.All()) {
		t.Fatalf("first Apply changed %v, want %v", changed, schema.All())
	}
	for _, name := range schema.Names {
		c, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			t.Fatalf("%s missing: %v", name, err)
		}
		for _, f := range []string{"created", "updated"} {
			if c.Fields.GetByName(f) == nil {
				t.Errorf("%s has no %s field", name, f)
			}
		}
		if c.ListRule != nil || c.ViewRule != nil || c.CreateRule != nil || c.UpdateRule != nil || c.DeleteRule != nil {
			t.Errorf("%s has API rules; Skopos collections are superuser-only", name)
		}
		if cols, ok := uniqueIndexes[name]; ok && !hasUniqueIndex(t, app, name, cols) {
			t.Errorf("%s lacks UNIQUE(%s)", name, strings.Join(cols, ", "))
		}
	}

	again, err := collections.Apply(app)
	if err != nil || again != nil {
		t.Fatalf("second Apply = %v, %v; want no changes", again, err)
	}
}

func TestApplyKeepsWhatUsersAddedAndFixesIndexes(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{Plain: true})
	app := srv.App()

	// An existing Skopos-style websites collection: random id, an extra
	// field, a non-unique trackingId index, an owner rule.
	old := core.NewBaseCollection(schema.Websites, "pbcoldwebsites1")
	old.Fields.Add(&core.TextField{Name: "name"}, &core.TextField{Name: "trackingId"}, &core.TextField{Name: "uptimeUrl"})
	old.AddIndex("idx_EbvgIwQP1t", false, "trackingId", "")
	rule := "id != ''"
	old.ListRule = &rule
	if err := app.Save(old); err != nil {
		t.Fatal(err)
	}

	if _, err := collections.Apply(app); err != nil {
		t.Fatal(err)
	}
	c, err := app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		t.Fatal(err)
	}
	if c.Id != "pbcoldwebsites1" || c.Fields.GetByName("uptimeUrl") == nil || c.GetIndex("idx_EbvgIwQP1t") == "" {
		t.Fatalf("Apply dropped what the user had: id %s, fields %v, indexes %v", c.Id, c.Fields.FieldNames(), c.Indexes)
	}
	if c.ListRule == nil || *c.ListRule != rule {
		t.Fatalf("Apply changed the user's list rule")
	}
	if !hasUniqueIndex(t, app, schema.Websites, []string{"trackingId"}) {
		t.Fatal("no UNIQUE(trackingId) after Apply")
	}
	// relations point at the existing collection's id
	v, _ := app.FindCollectionByNameOrId(schema.Visitors)
	if rel, _ := v.Fields.GetByName("website").(*core.RelationField); rel == nil || rel.CollectionId != "pbcoldwebsites1" {
		t.Fatalf("visitors.website points at %+v, want pbcoldwebsites1", v.Fields.GetByName("website"))
	}
}

func TestApplyRefusesAFieldOfAnotherType(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{Plain: true})
	app := srv.App()
	old := core.NewBaseCollection(schema.Websites)
	old.Fields.Add(&core.NumberField{Name: "domain"})
	if err := app.Save(old); err != nil {
		t.Fatal(err)
	}
	_, err := collections.Apply(app)
	if err == nil || !strings.Contains(err.Error(), "websites.domain") {
		t.Fatalf("Apply = %v; want an error naming websites.domain", err)
	}
	if _, err := app.FindCollectionByNameOrId(schema.Visitors); err == nil {
		t.Fatal("a failed Apply left collections behind (not transactional)")
	}
}
