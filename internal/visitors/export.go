package visitors

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
)

// PageSize is how many rows one page of an export reads: the export
// holds one page at a time, whatever the length of the history.
const PageSize = 500

// jsonColumns are stored as JSON text; the export embeds them as JSON.
var jsonColumns = map[string]bool{"metadata": true, "utm": true, "eventData": true}

// Found checks that every id is a visitors record of the website (record
// id site): ErrNotFound otherwise, so that a caller can answer 404 before
// the first byte.
func Found(ctx context.Context, app core.App, site string, visitorIDs []string) error {
	ids := unique(visitorIDs)
	if len(ids) == 0 {
		return ErrNotFound
	}
	b, _ := json.Marshal(ids)
	var n int
	err := app.DB().NewQuery(`SELECT COUNT(*) FROM visitors WHERE website = {:w} AND id IN (SELECT value FROM json_each({:ids}))`).
		Bind(dbx.Params{"w": site, "ids": string(b)}).WithContext(ctx).Row(&n)
	if err != nil {
		return fmt.Errorf("visitors: %w", err)
	}
	if n != len(ids) {
		return ErrNotFound
	}
	return nil
}

func unique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// ServeExport answers an HTTP request with the export of the visitors
// (record ids) of site, as the attachment skopos-<domain>-<name>.json;
// ErrNotFound (nothing sent) when one of them is not the site's. An error
// after the first byte can only cut the download short; ServeExport
// returns it for the caller to log.
func ServeExport(w http.ResponseWriter, r *http.Request, app core.App, site *core.Record, name string, visitorIDs []string) error {
	return ServeExportClickHouse(w, r, app, nil, site, name, visitorIDs)
}

// ServeExportClickHouse is ServeExport with the sessions, events and JS
// errors read from the events store ch; nil ch reads SQLite.
func ServeExportClickHouse(w http.ResponseWriter, r *http.Request, app core.App, ch *clickhouse.Client, site *core.Record, name string, visitorIDs []string) error {
	if err := Found(r.Context(), app, site.Id, visitorIDs); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "skopos-"+clean(site.GetString("domain"))+"-"+clean(name)+".json"))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	rc := http.NewResponseController(w)
	flush := func() {
		// a long history must outlive the server's WriteTimeout: each
		// page gets a minute from now
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		_ = rc.Flush()
	}
	flush()
	return ExportClickHouse(r.Context(), app, ch, w, flush, site.Id, visitorIDs)
}

// clean keeps a file name's safe characters.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// Export writes everything stored about the visitors (record ids) of the
// website (record id site) as one JSON object: the visitors rows, their
// sessions, the sessions' events and the JS error groups last seen in
// them, every row with all its stored columns:
//
//	{"website": "<id>", "visitors": [...], "sessions": [...], "events": [...], "jsErrors": [...]}
//
// flush (may be nil) is called after every page of rows. ErrNotFound,
// with nothing written, when an id is not a visitor of the site.
func Export(ctx context.Context, app core.App, w io.Writer, flush func(), site string, visitorIDs []string) error {
	return ExportClickHouse(ctx, app, nil, w, flush, site, visitorIDs)
}

// ExportClickHouse is Export with the sessions, events and JS errors read
// from the events store ch, written with SQLite's columns and values
// (see chExportRow); nil ch reads SQLite.
func ExportClickHouse(ctx context.Context, app core.App, ch *clickhouse.Client, w io.Writer, flush func(), site string, visitorIDs []string) error {
	if err := Found(ctx, app, site, visitorIDs); err != nil {
		return err
	}
	ids := unique(visitorIDs)
	b, _ := json.Marshal(ids)
	e := &encoder{ctx: ctx, app: app, ch: ch, w: w, flush: flush}
	head, _ := json.Marshal(site)
	e.raw(`{"website":` + string(head) + `,"visitors":[`)
	e.rows(`SELECT * FROM visitors WHERE website = {:w} AND id IN (SELECT value FROM json_each({:ids})) ORDER BY id`,
		dbx.Params{"w": site, "ids": string(b)}, nil)
	e.raw(`],"sessions":[`)
	for _, v := range ids {
		e.sessions(site, v, func(row map[string]any) { e.write(row) })
	}
	e.raw(`],"events":[`)
	for _, v := range ids {
		if ch != nil {
			e.sessions(site, v, func(row map[string]any) { e.chEvents(site, row) })
			continue
		}
		e.sessions(site, v, func(row map[string]any) {
			// a session's events in (timestamp, id) pages; {:lo} is
			// the one lower bound, so that the index range starts at
			// the page
			id, _ := row["id"].(string)
			p := dbx.Params{"s": id, "lo": "", "t": "", "i": "", "n": PageSize}
			e.pages(`SELECT * FROM events WHERE session = {:s} AND timestamp >= {:lo} AND NOT (timestamp = {:t} AND id <= {:i})
				ORDER BY timestamp, id LIMIT {:n}`, p, func(ev map[string]any) {
				e.write(ev)
				p["t"], p["i"] = ev["timestamp"], ev["id"]
				p["lo"] = ev["timestamp"]
			})
		})
	}
	e.raw(`],"jsErrors":[`)
	if ch != nil {
		e.chJSErrors(site, ids)
	} else {
		p := dbx.Params{"w": site, "ids": string(b), "after": "", "n": PageSize}
		e.pages(`SELECT * FROM js_errors WHERE website = {:w} AND id > {:after}
				AND session IN (SELECT id FROM sessions WHERE website = {:w} AND visitor IN (SELECT value FROM json_each({:ids})))
			ORDER BY id LIMIT {:n}`, p, func(row map[string]any) {
			e.write(row)
			p["after"] = row["id"]
		})
	}
	e.raw("]}\n")
	if e.err == nil && flush != nil {
		flush()
	}
	return e.err
}

// encoder writes the export's JSON, keeping the first error (after which
// it writes nothing).
type encoder struct {
	ctx   context.Context
	app   core.App
	ch    *clickhouse.Client // nil: SQLite
	w     io.Writer
	flush func()
	comma bool // a row was written in the current array
	err   error
}

func (e *encoder) raw(s string) {
	if e.err == nil {
		_, e.err = io.WriteString(e.w, s)
	}
	e.comma = false
}

func (e *encoder) write(row map[string]any) {
	if e.err != nil {
		return
	}
	b, err := json.Marshal(row)
	if err != nil {
		e.err = fmt.Errorf("visitors: export: %w", err)
		return
	}
	if e.comma {
		b = append([]byte{','}, b...)
	}
	e.comma = true
	_, e.err = e.w.Write(b)
}

// sessions calls each for every session of visitor v, in pages by seq
// (the visitor_seq index).
func (e *encoder) sessions(site, v string, each func(map[string]any)) {
	if e.ch != nil {
		e.chSessions(site, v, each)
		return
	}
	p := dbx.Params{"w": site, "v": v, "seq": -1, "n": PageSize}
	e.pages(`SELECT * FROM sessions WHERE visitor = {:v} AND website = {:w} AND seq > {:seq} ORDER BY seq LIMIT {:n}`, p,
		func(row map[string]any) {
			p["seq"] = row["seq"]
			each(row)
		})
}

// pages runs q until a page is short; each must move q's parameters past
// the row it is given. The page's rows are read before each sees them,
// so that each may query the database itself.
func (e *encoder) pages(q string, p dbx.Params, each func(map[string]any)) {
	for e.err == nil {
		n := e.rows(q, p, each)
		if e.err == nil && e.flush != nil {
			e.flush()
		}
		if n < PageSize {
			return
		}
	}
}

// rows reads one page of q and calls each (nil: write) for every row.
func (e *encoder) rows(q string, p dbx.Params, each func(map[string]any)) int {
	if e.err != nil {
		return 0
	}
	page, err := readRows(e.ctx, e.app, q, p)
	if err != nil {
		e.err = err
		return 0
	}
	if each == nil {
		each = e.write
	}
	for _, row := range page {
		each(row)
	}
	return len(page)
}

func readRows(ctx context.Context, app core.App, q string, p dbx.Params) ([]map[string]any, error) {
	rows, err := app.DB().NewQuery(q).Bind(p).WithContext(ctx).Rows()
	if err != nil {
		return nil, fmt.Errorf("visitors: export: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("visitors: export: %w", err)
	}
	var out []map[string]any
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("visitors: export: %w", err)
		}
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			v := vals[i]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			if s, ok := v.(string); ok && jsonColumns[c] && s != "" && json.Valid([]byte(s)) {
				v = json.RawMessage(s)
			}
			row[c] = v
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("visitors: export: %w", err)
	}
	return out, nil
}
