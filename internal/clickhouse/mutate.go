package clickhouse

import (
	"context"
	"time"
)

// Count returns how many rows of table (a table of the client's
// database) meet where, a condition whose ? placeholders args bind.
func (c *Client) Count(ctx context.Context, table, where string, args ...any) (int64, error) {
	type row struct {
		N int64 `json:"n"`
	}
	got, err := Select[row](ctx, c, "SELECT toInt64(count()) AS n FROM ? WHERE "+where, append([]any{Ident(table)}, args...)...)
	if err != nil {
		return 0, err
	}
	return got[0].N, nil
}

// Delete deletes the rows of table that meet where and returns once none
// is left: ALTER TABLE … DELETE is a mutation, which the server applies
// in the background, so Delete polls Count until it reads zero (or ctx
// ends).
func (c *Client) Delete(ctx context.Context, table, where string, args ...any) error {
	return c.mutate(ctx, "ALTER TABLE ? DELETE WHERE "+where, table, where, args...)
}

// Update sets set (assignments without placeholders, which must make
// where false) on the rows of table that meet where, and returns once no
// row meets where, as Delete does.
func (c *Client) Update(ctx context.Context, table, set, where string, args ...any) error {
	return c.mutate(ctx, "ALTER TABLE ? UPDATE "+set+" WHERE "+where, table, where, args...)
}

// mutate runs the mutation stmt on table and polls until no row meets
// where.
func (c *Client) mutate(ctx context.Context, stmt, table, where string, args ...any) error {
	if err := c.Exec(ctx, stmt, append([]any{Ident(table)}, args...)...); err != nil {
		return err
	}
	for {
		n, err := c.Count(ctx, table, where, args...)
		if err != nil || n == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
