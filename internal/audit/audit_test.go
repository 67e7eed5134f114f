package audit_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	app := srv.App()

	t.Run("RowsOutliveTheActorAndTheWebsite", func(t *testing.T) {
		t.Parallel()
		site := srv.AddWebsite(t, "outlive.example")
		user := pbtest.Save(t, app, schema.Users, map[string]any{"email": "gone@example.com"})
		if err := audit.Log(app, audit.Entry{Website: site, Actor: user, ViaKey: true, Action: audit.GoalCreate, Target: "Signup"}); err != nil {
			t.Fatal(err)
		}
		if err := app.Delete(user); err != nil {
			t.Fatal(err)
		}
		if err := app.Delete(site); err != nil {
			t.Fatal(err)
		}
		rows, err := audit.List(context.Background(), app, site.Id, time.Time{}, 10)
		if err != nil || len(rows) != 1 {
			t.Fatalf("rows %+v, %v; want 1", rows, err)
		}
		r := rows[0]
		if r.ActorEmail != "gone@example.com" || r.Actor != "users/"+user.Id+" (API key)" ||
			r.Action != "goal.create" || r.Target != "Signup" || r.WebsiteName != "outlive.example" {
			t.Errorf("row %+v", r)
		}
	})

	t.Run("DetailsNeverHoldSecrets", func(t *testing.T) {
		t.Parallel()
		site := srv.AddWebsite(t, "secrets.example")
		long := strings.Repeat("x", 1000)
		err := audit.Log(app, audit.Entry{WebsiteID: site.Id, WebsiteName: "named", Action: audit.WebsiteUpdate, Details: map[string]any{
			"name":          map[string]any{"old": "a", "new": long},
			"sharePassword": "hunter2",
			"nested":        map[string]any{"tokenHash": "abc"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := audit.List(context.Background(), app, site.Id, time.Time{}, 10)
		if err != nil || len(rows) != 1 {
			t.Fatalf("rows %+v, %v", rows, err)
		}
		d := string(rows[0].Details)
		if strings.Contains(d, "hunter2") || strings.Contains(d, "abc") || strings.Contains(d, long) {
			t.Errorf("details %s hold a secret or a whole long value", d)
		}
		name, _ := rows[0].DetailsMap()["name"].(map[string]any)
		if name["old"] != "a" || len([]rune(name["new"].(string))) != 256 {
			t.Errorf("details %s: want name old a, new clipped to 256", d)
		}
		if rows[0].Actor != "system" || rows[0].WebsiteName != "named" {
			t.Errorf("row %+v", rows[0])
		}
	})

	t.Run("ListPagesNewestFirstWithoutSkippingTies", func(t *testing.T) {
		t.Parallel()
		site := srv.AddWebsite(t, "pages.example")
		other := srv.AddWebsite(t, "other.example")
		base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		// minutes 0, 1, 2, 2, 2, 3: a page of 4 from the top ends inside the tie
		for i, minute := range []int{0, 1, 2, 2, 2, 3} {
			logAt(t, app, site, base.Add(time.Duration(minute)*time.Minute), "t"+string(rune('a'+i)))
		}
		logAt(t, app, other, base, "elsewhere")

		ctx := context.Background()
		first, err := audit.List(ctx, app, site.Id, time.Time{}, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := targets(first); got != "tc td te tf" || first[0].Target != "tf" {
			t.Errorf("first page %q, want tf first and the whole tie: tc td te tf", got)
		}
		next, err := audit.List(ctx, app, site.Id, first[len(first)-1].Created.Time(), 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := targets(next); got != "ta tb" || next[0].Target != "tb" {
			t.Errorf("second page %q, want tb then ta", got)
		}
		one, err := audit.List(ctx, app, site.Id, time.Time{}, 0)
		if err != nil || len(one) != 1 {
			t.Errorf("limit 0: %d rows, %v; want 1", len(one), err)
		}
	})

	t.Run("AFailedWriteIsReturnedAndLogged", func(t *testing.T) {
		t.Parallel()
		err := audit.Log(app, audit.Entry{WebsiteID: "nowhere", Action: ""})
		if err == nil {
			t.Fatal("an entry without an action was written")
		}
		waitLog(t, app, "nowhere")
	})
}

// logAt writes an audit row for site and sets its created time.
func logAt(t *testing.T, app core.App, site *core.Record, at time.Time, target string) {
	t.Helper()
	if err := audit.Log(app, audit.Entry{Website: site, Action: audit.ShareCreate, Target: target}); err != nil {
		t.Fatal(err)
	}
	_, err := app.DB().Update(schema.Audit, dbx.Params{"created": at.Format("2006-01-02 15:04:05.000Z")},
		dbx.HashExp{"website": site.Id, "target": target}).Execute()
	if err != nil {
		t.Fatal(err)
	}
}

// targets are the rows' targets, sorted: rows of one instant come in
// no particular order.
func targets(rows []audit.Row) string {
	var s []string
	for _, r := range rows {
		s = append(s, r.Target)
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}

// waitLog waits for the app's log to hold the audit failure about website.
func waitLog(t *testing.T, app core.App, website string) {
	t.Helper()
	testwait.Until(t, "the failed audit write in the app's log", func() bool {
		var n int
		err := app.LogQuery().Select("COUNT(*)").
			AndWhere(dbx.HashExp{"message": "skopos: audit log write failed"}).
			AndWhere(dbx.NewExp("json_extract(data, '$.website') = {:w}", dbx.Params{"w": website})).Row(&n)
		return err == nil && n > 0
	})
}
