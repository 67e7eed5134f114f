package chstore

import (
	"context"
	"fmt"

	"github.com/skopos-go/skopos/internal/clickhouse"
)

// ClickHouse is the store's client, for the readers of its tables that
// live outside the store (an erasure's).
func (s *Store) ClickHouse() *clickhouse.Client { return s.ch }

// Forget drops what the store keeps in memory of sessions an erasure
// deletes: their state, the visitors' latest-session entries naming
// them and the state of their page views. The writer then reads them
// from ClickHouse again, and finds them gone, rather than continue one
// (writing its whole row again) or raise an erased page view's
// engagement. Walking the caches is linear in their size, which an
// erasure, rare, can afford.
func (s *Store) Forget(sessionIDs []string) {
	gone := make(map[string]bool, len(sessionIDs))
	for _, id := range sessionIDs {
		gone[id] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range gone {
		s.sessions.remove(id)
	}
	s.latest.removeIf(func(_ string, id string) bool { return gone[id] })
	s.pageViews.removeIf(func(_ string, pv pageView) bool { return gone[pv.session] })
}

// DeleteSessions deletes what ClickHouse holds of website's sessions:
// their events and engagement, every row of the JS error groups
// errorHashes (the groups the erasure deletes), the link to them of the
// other JS errors (session blanked) and the sessions' rows. Each step
// is a mutation waited for and deletes what is left of it, so a second
// call after a failure finishes the job. The outbox should be shipped
// first (Ship), so that it holds no row of the sessions.
func (s *Store) DeleteSessions(ctx context.Context, website string, sessionIDs, errorHashes []string) error {
	for part := range chunks(errorHashes, 2000) {
		if err := s.deleteRows(ctx, tJSErrors, "website = ? AND errorHash IN "+clickhouse.List(part), website); err != nil {
			return fmt.Errorf("chstore: erasure of js_errors: %w", err)
		}
	}
	for part := range chunks(sessionIDs, 2000) {
		in := clickhouse.List(part)
		for _, table := range []string{tEvents, tEngagement} {
			if err := s.deleteRows(ctx, table, "website = ? AND session IN "+in, website); err != nil {
				return fmt.Errorf("chstore: erasure of %s: %w", table, err)
			}
		}
		if err := s.update(ctx, tJSErrors, "session = ''", "website = ? AND session IN "+in, website); err != nil {
			return fmt.Errorf("chstore: erasure of js_errors' sessions: %w", err)
		}
		if err := s.deleteRows(ctx, tSessions, "website = ? AND id IN "+in, website); err != nil {
			return fmt.Errorf("chstore: erasure of sessions: %w", err)
		}
	}
	return nil
}

// deleteRows is clickhouse.Client.Delete when a row meets where: a
// mutation rewrites every part of the table, matching rows or not, and a
// second call after a failure finds most steps done.
func (s *Store) deleteRows(ctx context.Context, table, where string, args ...any) error {
	n, err := s.ch.Count(ctx, table, where, args...)
	if err != nil || n == 0 {
		return err
	}
	return s.ch.Delete(ctx, table, where, args...)
}

// update is clickhouse.Client.Update when a row meets where (see
// deleteRows).
func (s *Store) update(ctx context.Context, table, set, where string, args ...any) error {
	if n, err := s.ch.Count(ctx, table, where, args...); err != nil || n == 0 {
		return err
	}
	return s.ch.Update(ctx, table, set, where, args...)
}
