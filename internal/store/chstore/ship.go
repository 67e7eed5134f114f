package chstore

import (
	"context"
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/schema"
)

// shipBatch is how many outbox records one read takes.
const shipBatch = 16

// Ship sends the outbox to ClickHouse, oldest record first, deleting each
// record once ClickHouse has its rows; it returns when the outbox is
// empty or at the first failure (the record stays, to be sent again).
func (s *Store) Ship(ctx context.Context) error {
	s.shipMu.Lock()
	defer s.shipMu.Unlock()
	for {
		var recs []struct {
			ID       string `db:"id"`
			Table    string `db:"table"`
			RowCount int    `db:"rowCount"`
			Rows     string `db:"rows"`
		}
		err := s.app.DB().Select("id", "table", "rowCount", "rows").From(schema.Outbox).WithContext(ctx).
			OrderBy("id").Limit(shipBatch).All(&recs)
		if err != nil {
			return fmt.Errorf("chstore: outbox: %w", err)
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			if err := s.shipOne(ctx, r.ID, r.Table, r.RowCount, []byte(r.Rows)); err != nil {
				return err
			}
			s.shipped(r.ID) // in ClickHouse now, whether the deletion below succeeds or not
			_, err := s.app.DB().Delete(schema.Outbox, dbx.HashExp{"id": r.ID}).WithContext(ctx).Execute()
			if err != nil {
				// sent, not deleted: the next attempt checks for its rows
				s.unsure = true
				return fmt.Errorf("chstore: outbox %s: %w", r.ID, err)
			}
		}
	}
}

// shipOne inserts one record's rows. When the record may have been sent
// already (s.unsure) and its table's rows are immutable, its batch is
// counted first: all there, nothing to do; none, insert; some (an insert
// split across monthly partitions and cut short), delete them and insert.
func (s *Store) shipOne(ctx context.Context, id, table string, rowCount int, body []byte) error {
	if s.unsure && (table == tEvents || table == tJSErrors) {
		n, err := s.ch.Count(ctx, table, "batch = ?", id)
		if err == nil && n == int64(rowCount) {
			s.unsure = false
			return nil
		}
		if err == nil && n > 0 {
			err = s.ch.Delete(ctx, table, "batch = ?", id)
		}
		if err != nil {
			return fmt.Errorf("chstore: outbox %s: %w", id, err)
		}
	}
	if err := s.ch.InsertEncoded(ctx, table, body); err != nil {
		s.unsure = true // the server may have written it before failing
		return fmt.Errorf("chstore: outbox %s: %w", id, err)
	}
	s.unsure = false
	return nil
}

// shipped forgets the ids of an outbox record ClickHouse now has.
func (s *Store) shipped(record string) {
	s.pendMu.Lock()
	defer s.pendMu.Unlock()
	for _, id := range s.pending[record] {
		if s.pendIDs[id]--; s.pendIDs[id] <= 0 {
			delete(s.pendIDs, id)
		}
	}
	delete(s.pending, record)
}

// Run ships the outbox after each write and every interval (default 1 s)
// until ctx ends; failures are logged and retried with a growing pause
// (up to a minute).
func (s *Store) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	pause := interval
	for {
		err := s.Ship(ctx)
		if ctx.Err() != nil {
			return
		}
		wake, wait := s.wake, interval
		if err != nil {
			// not woken by writes while ClickHouse fails: one try per pause
			s.log.Warn("skopos: shipping to ClickHouse failed; retrying", "error", err, "retryIn", pause)
			wake, wait, pause = nil, pause, min(2*pause, time.Minute)
		} else {
			pause = interval
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(wait):
		}
	}
}
