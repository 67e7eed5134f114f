package collections_test

import (
	"testing"

	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
	"github.com/skopos-go/skopos/schema/collections"
)

// TestUpgradeOwnerRules: goals and funnels that still hold the rules of
// schema v14 get the members' rules; a rule the operator changed stays.
func TestUpgradeOwnerRules(t *testing.T) {
	t.Parallel()
	app := pbtest.Start(t, pbtest.Options{}).App()
	old, cur := collections.LegacyOwnerRules(), collections.OwnerRules()
	custom := "@request.auth.id != ''"
	for _, name := range schema.Analysis {
		c, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			t.Fatal(err)
		}
		view, change, create, update := old.View, old.Change, old.Create, old.Update
		c.ListRule, c.ViewRule, c.DeleteRule, c.CreateRule, c.UpdateRule = &view, &view, &change, &create, &update
		if name == schema.Funnels {
			c.DeleteRule = &custom
		}
		if err := app.Save(c); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // a second run changes nothing
		if err := collections.UpgradeOwnerRules(app); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range schema.Analysis {
		c, _ := app.FindCollectionByNameOrId(name)
		wantDelete := cur.Change
		if name == schema.Funnels {
			wantDelete = custom
		}
		for _, r := range []struct {
			rule *string
			want string
		}{{c.ListRule, cur.View}, {c.ViewRule, cur.View}, {c.CreateRule, cur.Create}, {c.UpdateRule, cur.Update}, {c.DeleteRule, wantDelete}} {
			if r.rule == nil || *r.rule != r.want {
				t.Errorf("%s: rule %v, want %q", name, r.rule, r.want)
			}
		}
	}
}
