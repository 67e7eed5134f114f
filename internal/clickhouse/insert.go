package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Insert writes rows into table (a table of the client's database) in one
// INSERT, streamed as JSONEachRow while they are encoded: a batch is never
// held twice in memory. Each row maps column names to values of the
// types Bind takes (Ident excepted), written the same way; a column a row
// leaves out takes its default. An unknown column or a value of another
// type fails the insert; the server writes rows in blocks of
// max_insert_block_size (1 048 576), so a failed insert of fewer rows
// than that has written none.
func (c *Client) Insert(ctx context.Context, table string, rows []map[string]any) error {
	if len(rows) == 0 {
		return nil
	}
	// encode the first row before sending anything: a bad value is then
	// reported as such, not as a broken request
	first, err := appendRow(nil, rows[0])
	if err != nil {
		return fmt.Errorf("clickhouse: insert into %s: row 1: %w", table, err)
	}
	q, err := Bind("INSERT INTO ? FORMAT JSONEachRow", Ident(table))
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	encodeErr := make(chan error, 1)
	go func() {
		encodeErr <- encodeRows(pw, first, rows[1:])
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"&query="+url.QueryEscape(q), pr)
	if err == nil {
		var body io.ReadCloser
		if body, err = c.do(req); err == nil {
			_, err = io.Copy(io.Discard, body)
			body.Close()
		}
	}
	pr.CloseWithError(io.ErrClosedPipe) // ends the encoder if the request did not read it all
	if encErr := <-encodeErr; encErr != nil && encErr != io.ErrClosedPipe {
		return fmt.Errorf("clickhouse: insert into %s: %w", table, encErr)
	}
	return err
}

// encodeRows writes first and then rows, one JSON object a line, to w and
// closes it: with an error, the request fails and nothing is inserted.
func encodeRows(w *io.PipeWriter, first []byte, rows []map[string]any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	_, err := bw.Write(first)
	buf := first[:0]
	for i, row := range rows {
		if err != nil {
			break
		}
		if buf, err = appendRow(buf[:0], row); err != nil {
			err = fmt.Errorf("row %d: %w", i+2, err)
			break
		}
		_, err = bw.Write(buf)
	}
	if err == nil {
		err = bw.Flush()
	}
	w.CloseWithError(err) // nil: EOF
	return err
}

// appendRow appends row as one line of JSONEachRow.
func appendRow(out []byte, row map[string]any) ([]byte, error) {
	out = append(out, '{')
	first := true
	for k, v := range row {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendEscaped(out, k, '"', jsonValue)
		out = append(out, ':')
		var err error
		if out, err = appendValue(out, v, jsonValue); err != nil {
			return nil, fmt.Errorf("column %s: %w", k, err)
		}
	}
	return append(out, '}', '\n'), nil
}

// EncodeRows returns rows as the body of an INSERT … FORMAT JSONEachRow,
// written as Insert writes them, for InsertEncoded: a writer can keep a
// batch (in an outbox) and send it later, byte for byte.
func EncodeRows(rows []map[string]any) ([]byte, error) {
	var out []byte
	for i, row := range rows {
		var err error
		if out, err = appendRow(out, row); err != nil {
			return nil, fmt.Errorf("clickhouse: row %d: %w", i+1, err)
		}
	}
	return out, nil
}

// InsertEncoded writes rows EncodeRows encoded into table in one INSERT.
func (c *Client) InsertEncoded(ctx context.Context, table string, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	q, err := Bind("INSERT INTO ? FORMAT JSONEachRow", Ident(table))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"&query="+url.QueryEscape(q), bytes.NewReader(body))
	if err != nil {
		return err
	}
	rc, err := c.do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	return err
}
