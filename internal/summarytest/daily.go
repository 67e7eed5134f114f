package summarytest

import (
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pipeline"
)

// CollapseToDaily rewrites the hourly summaries into the daily layout of
// the versions before schema v5, to make a database as an upgrade finds
// it: one dash_sum row per website and UTC day (date = midnight, id
// DeriveID("dash_sum", website, "YYYY-MM-DD")) and one dash_sum_items row
// per day, dimension and key (id DeriveID("dash_sum_items", website,
// "YYYY-MM-DD", dimension, key)), without the utm_* dimensions, which
// those versions did not have. Counts are the sums of the day's hours;
// created is the day's earliest.
func CollapseToDaily(t testing.TB, app core.App) {
	t.Helper()
	err := app.RunInTransaction(func(tx core.App) error {
		db := tx.DB()
		var sums []struct {
			Website string `db:"website"`
			Day     string `db:"day"`
			Created string `db:"created"`
			Updated string `db:"updated"`
			PV      int    `db:"pageViews"`
			V       int    `db:"visitors"`
			NV      int    `db:"newVisitors"`
			RV      int    `db:"returningVisitors"`
			E       int    `db:"engagedSessions"`
			B       int    `db:"bounces"`
			D       int    `db:"durationSeconds"`
			JS      int    `db:"jsErrors"`
		}
		err := db.NewQuery(`SELECT website, substr(date, 1, 10) AS day, MIN(created) AS created, MAX(updated) AS updated,
			SUM(pageViews) AS pageViews, SUM(visitors) AS visitors, SUM(newVisitors) AS newVisitors,
			SUM(returningVisitors) AS returningVisitors, SUM(engagedSessions) AS engagedSessions, SUM(bounces) AS bounces,
			SUM(durationSeconds) AS durationSeconds, SUM(jsErrors) AS jsErrors
			FROM dash_sum GROUP BY website, day`).All(&sums)
		if err != nil {
			return err
		}
		var items []struct {
			Website string `db:"website"`
			Day     string `db:"day"`
			Dim     string `db:"dimension"`
			Key     string `db:"key"`
			Created string `db:"created"`
			Updated string `db:"updated"`
			Count   int    `db:"count"`
		}
		err = db.NewQuery(`SELECT website, substr(date, 1, 10) AS day, dimension, key, MIN(created) AS created,
			MAX(updated) AS updated, SUM(count) AS count FROM dash_sum_items
			WHERE dimension NOT IN ('utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'channel', 'source') GROUP BY website, day, dimension, key`).All(&items)
		if err != nil {
			return err
		}
		for _, q := range []string{"DELETE FROM dash_sum", "DELETE FROM dash_sum_items"} {
			if _, err := db.NewQuery(q).Execute(); err != nil {
				return err
			}
		}
		for _, s := range sums {
			_, err := db.Insert("dash_sum", dbx.Params{"id": pipeline.DeriveID("dash_sum", s.Website, s.Day),
				"created": s.Created, "updated": s.Updated, "website": s.Website, "date": s.Day + " 00:00:00.000Z",
				"pageViews": s.PV, "visitors": s.V, "newVisitors": s.NV, "returningVisitors": s.RV,
				"engagedSessions": s.E, "bounces": s.B, "durationSeconds": s.D, "jsErrors": s.JS}).Execute()
			if err != nil {
				return err
			}
		}
		for _, it := range items {
			_, err := db.Insert("dash_sum_items", dbx.Params{"id": pipeline.DeriveID("dash_sum_items", it.Website, it.Day, it.Dim, it.Key),
				"created": it.Created, "updated": it.Updated, "website": it.Website, "date": it.Day + " 00:00:00.000Z",
				"dimension": it.Dim, "key": it.Key, "count": it.Count}).Execute()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("collapse to daily rows: %v", err)
	}
}
