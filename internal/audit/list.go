package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

// Row is one row of the audit log as List reads it.
type Row struct {
	ID          string         `db:"id" json:"id"`
	Created     types.DateTime `db:"created" json:"created"`
	Website     string         `db:"website" json:"website"`
	WebsiteName string         `db:"websiteName" json:"websiteName"`
	Actor       string         `db:"actor" json:"actor"`
	ActorEmail  string         `db:"actorEmail" json:"actorEmail"`
	Action      string         `db:"action" json:"action"`
	Target      string         `db:"target" json:"target"`
	Details     types.JSONRaw  `db:"details" json:"details"`
}

// DetailsMap is r.Details decoded; nil when there are none.
func (r Row) DetailsMap() map[string]any {
	var m map[string]any
	if len(r.Details) > 0 {
		_ = json.Unmarshal(r.Details, &m) // written by Log: an object or null
	}
	return m
}

// MaxList is the most rows List returns in one page (rows that share the
// page's last instant aside, see List).
const MaxList = 200

// List reads websiteID's audit rows created before before (the zero time:
// all), newest first, at most limit (1 to MaxList; other values are
// clipped into that range).
//
// The next page is List with the last row's Created as before. So that
// paging by time skips nothing, a page that ends at an instant other
// rows share also holds those rows (it may then exceed limit).
func List(ctx context.Context, app core.App, websiteID string, before time.Time, limit int) ([]Row, error) {
	limit = min(max(limit, 1), MaxList)
	where := dbx.HashExp{"website": websiteID}
	q := func() *dbx.SelectQuery {
		return app.DB().Select("id", "created", "website", "websiteName", "actor", "actorEmail", "action", "target", "details").
			From(schema.Audit).Where(where).OrderBy("created DESC", "id DESC").WithContext(ctx)
	}
	page := q()
	if !before.IsZero() {
		// created is stored as text in this layout, which sorts as time
		page.AndWhere(dbx.NewExp("created < {:before}", dbx.Params{"before": before.UTC().Format(types.DefaultDateLayout)}))
	}
	var rows []Row
	if err := page.Limit(int64(limit)).All(&rows); err != nil || len(rows) < limit {
		return rows, err
	}
	last := rows[len(rows)-1].Created.String()
	keep := len(rows)
	for keep > 0 && rows[keep-1].Created.String() == last {
		keep--
	}
	var tied []Row
	if err := q().AndWhere(dbx.HashExp{"created": last}).All(&tied); err != nil {
		return nil, err
	}
	return append(rows[:keep], tied...), nil
}
