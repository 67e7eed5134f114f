package visitors

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/pocketbase/pocketbase/core"
)

// cursor is where the next page of the list starts, and the snapshot
// every page of one listing reads. It travels base64url-encoded: opaque
// to clients, but not secret (nothing in it is another site's).
type cursor struct {
	Sort Sort       `json:"s"`
	Mode Identified `json:"m,omitempty"`
	From int64      `json:"f"` // the period, Unix nanoseconds
	To   int64      `json:"t"`
	// Snapshot is the highest sessions rowid at the first page; with
	// ClickHouse, the highest sessions created time (ms) of the site
	Snapshot int64 `json:"r"`
	// the last row listed: its rank (1 identified, with IdentifiedFirst),
	// sort key (Key a stored time, or N a session count) and record id
	Rank int    `json:"k,omitempty"`
	Key  string `json:"v,omitempty"`
	N    int    `json:"n,omitempty"`
	ID   string `json:"i,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // plain fields: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// cursor is the query's start: a new snapshot for the first page, the
// decoded After for the next ones (which must be of the same sort and
// identified mode).
func (q Query) cursor(ctx context.Context, app core.App, site string) (cursor, error) {
	sort, err := ParseSort(string(q.Sort))
	if err != nil {
		return cursor{}, err
	}
	mode, err := ParseIdentified(string(q.Identified))
	if err != nil {
		return cursor{}, err
	}
	if q.After == "" {
		c := cursor{Sort: sort, Mode: mode, From: q.From.UnixNano(), To: q.To.UnixNano()}
		if q.ClickHouse != nil {
			c.Snapshot, err = chSnapshot(ctx, q.ClickHouse, site)
			return c, err
		}
		// rowids grow with every insert: sessions stored after this page
		// have higher ones
		err := app.DB().NewQuery("SELECT COALESCE(MAX(rowid), 0) FROM sessions").WithContext(ctx).Row(&c.Snapshot)
		if err != nil {
			return cursor{}, fmt.Errorf("visitors: snapshot: %w", err)
		}
		return c, nil
	}
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(q.After)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return cursor{}, fmt.Errorf("%w: the cursor is not valid", ErrBadQuery)
	}
	if c.Sort != sort || c.Mode != mode {
		return cursor{}, fmt.Errorf("%w: the cursor is of another sort or identified filter", ErrBadQuery)
	}
	return c, nil
}
