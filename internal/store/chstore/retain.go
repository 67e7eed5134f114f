package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
)

// Retain deletes what ClickHouse holds of website from before cutoff, as
// the SQLite store's retention does (plugin.RunRetention): events and
// engagement by the page view's time, sessions whose latest activity is
// before it, and the JS error groups last seen before it (every row of
// such a group: its count is the sum of its rows). The outbox is shipped
// first, so that rows committed before the call are covered. Deletions
// are mutations (clickhouse.Client.Delete waits for each).
//
// A session's older versions whose lastActivity is before cutoff are
// deleted with them; its latest version, which a reader takes, stays.
func (s *Store) Retain(ctx context.Context, website string, cutoff time.Time) error {
	if err := s.Ship(ctx); err != nil {
		return err
	}
	ms := cutoff.UnixMilli()
	type hash struct {
		H string `json:"h"`
	}
	old, err := clickhouse.Select[hash](ctx, s.ch, `SELECT errorHash AS h FROM js_errors WHERE website = ?
		GROUP BY errorHash HAVING max(lastSeen) < ?`, website, ms)
	if err != nil {
		return fmt.Errorf("chstore: retention: %w", err)
	}
	hashes := make([]string, len(old))
	for i, h := range old {
		hashes[i] = h.H
	}
	type step struct {
		table, where string
		args         []any
	}
	steps := []step{
		{tEvents, "website = ? AND timestamp < ?", []any{website, ms}},
		{tEngagement, "website = ? AND timestamp < ?", []any{website, ms}},
		{tSessions, "website = ? AND lastActivity < ?", []any{website, ms}},
	}
	if len(hashes) > 0 {
		steps = append(steps, step{tJSErrors, "website = ? AND errorHash IN " + clickhouse.List(hashes), []any{website}})
	}
	for _, st := range steps {
		if err := s.ch.Delete(ctx, st.table, st.where, st.args...); err != nil {
			return fmt.Errorf("chstore: retention of %s: %w", st.table, err)
		}
	}
	return nil
}
