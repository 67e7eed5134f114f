package chstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/skopos-go/skopos/internal/clickhouse"
)

// DeleteWebsite deletes every row ClickHouse holds of website (after the
// outbox is shipped, so that none arrives later), for a deleted website.
func (s *Store) DeleteWebsite(ctx context.Context, website string) error {
	return s.Retain(ctx, website, time.UnixMilli(math.MaxInt64))
}

// VisitorsWithSessions is the subset of ids (visitors of website) that
// have a session in ClickHouse, read in pages of at most 1 000 ids.
func (s *Store) VisitorsWithSessions(ctx context.Context, website string, ids []string) (map[string]bool, error) {
	type row struct {
		V string `json:"v"`
	}
	has := map[string]bool{}
	for chunk := range slices.Chunk(ids, 1000) {
		rows, err := clickhouse.Select[row](ctx, s.ch, "SELECT DISTINCT visitor AS v FROM sessions WHERE website = ? AND visitor IN "+
			clickhouse.List(chunk), website)
		if err != nil {
			return nil, fmt.Errorf("chstore: visitors' sessions: %w", err)
		}
		for _, r := range rows {
			has[r.V] = true
		}
	}
	return has, nil
}
