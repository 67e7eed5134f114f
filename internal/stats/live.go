package stats

import (
	"context"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/schema"
)

// activeWindow is how recent a session's last activity must be for its
// visitor to count as active.
const activeWindow = 5 * time.Minute

// ActiveUsers counts the distinct visitors whose session was active in the
// 5 minutes before now (its last activity not before them, its start not
// after now: with a clock in the past, later sessions do not count). It is
// one indexed count (website, lastActivity), cheap enough for the
// dashboard's live counter, which every open tab polls.
func ActiveUsers(ctx context.Context, db dbx.Builder, websiteID string, now time.Time) (int, error) {
	var n int
	err := db.Select("COUNT(DISTINCT visitor)").From(schema.Sessions).
		Where(dbx.HashExp{"website": websiteID}).
		AndWhere(dbx.NewExp("lastActivity >= {:since} AND startedAt <= {:now}",
			dbx.Params{"since": ts(now.Add(-activeWindow)), "now": ts(now)})).
		WithContext(ctx).Row(&n)
	return n, err
}

// HasDataSince reports whether the website has a summary row on or after
// the UTC day of since, that is whether events reached it since then.
func HasDataSince(ctx context.Context, db dbx.Builder, websiteID string, since time.Time) (bool, error) {
	var n int
	// date holds "YYYY-MM-DD 00:00:00.000Z", so the bare day compares as
	// the start of that day
	err := db.NewQuery("SELECT COUNT(*) FROM (SELECT 1 FROM dash_sum WHERE website = {:w} AND date >= {:d} LIMIT 1)").
		Bind(dbx.Params{"w": websiteID, "d": since.UTC().Format(time.DateOnly)}).WithContext(ctx).Row(&n)
	return n > 0, err
}
