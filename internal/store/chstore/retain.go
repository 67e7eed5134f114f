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
// are mutations, which ClickHouse applies in the background: Retain
// waits until none of the rows is left.
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
	type step struct{ table, where string }
	steps := []step{
		{tEvents, "website = ? AND timestamp < ?"},
		{tEngagement, "website = ? AND timestamp < ?"},
		{tSessions, "website = ? AND lastActivity < ?"},
	}
	args := [][]any{{website, ms}, {website, ms}, {website, ms}}
	if len(hashes) > 0 {
		steps = append(steps, step{tJSErrors, "website = ? AND errorHash IN " + clickhouse.List(hashes)})
		args = append(args, []any{website})
	}
	for i, st := range steps {
		if err := s.ch.Exec(ctx, "ALTER TABLE ? DELETE WHERE "+st.where, append([]any{clickhouse.Ident(st.table)}, args[i]...)...); err != nil {
			return fmt.Errorf("chstore: retention of %s: %w", st.table, err)
		}
	}
	for i, st := range steps {
		if err := waitNone(ctx, s.ch, st.table, st.where, args[i]); err != nil {
			return fmt.Errorf("chstore: retention of %s: %w", st.table, err)
		}
	}
	return nil
}

// waitNone polls until no row of table meets where (a mutation deleting
// them is done).
func waitNone(ctx context.Context, ch *clickhouse.Client, table, where string, args []any) error {
	for {
		type row struct {
			N int64 `json:"n"`
		}
		got, err := clickhouse.Select[row](ctx, ch, "SELECT count() AS n FROM ? WHERE "+where, append([]any{clickhouse.Ident(table)}, args...)...)
		if err != nil {
			return err
		}
		if got[0].N == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
