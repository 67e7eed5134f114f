package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Select runs a query that returns rows, its ? placeholders bound to args
// by Bind, and decodes each row into a T with encoding/json: a struct
// whose field names (or json tags) are the result's column names, or
// map[string]any, in which numbers are json.Number (a UInt64 keeps every
// digit). query has no FORMAT clause: Select asks for JSONEachRow.
//
// Integer columns decode into Go integers, Float columns into floats,
// String columns into strings (invalid UTF-8 read as U+FFFD), Array
// columns into slices, and the millisecond time columns of Schema into
// int64 (time.UnixMilli).
func Select[T any](ctx context.Context, c *Client, query string, args ...any) ([]T, error) {
	q := strings.TrimRight(query, " \t\r\n;")
	// on a line of its own: query may end in a -- comment
	body, err := c.query(ctx, q+"\nFORMAT JSONEachRow", args)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var rows []T
	r := bufio.NewReaderSize(body, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			if bytes.HasPrefix(line, []byte("Code: ")) {
				// the server failed after it had sent the status line:
				// the exception ends the body
				rest, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
				return nil, parseError(string(line) + string(rest))
			}
			var row T
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			if err := dec.Decode(&row); err != nil {
				return nil, fmt.Errorf("clickhouse: row %d: %w", len(rows)+1, err)
			}
			rows = append(rows, row)
		}
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
