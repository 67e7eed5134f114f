// Package export streams a website's analytics as CSV: one row per stored
// event, per session, or per local day of a period (the stats KPIs).
//
// Rows are read in keyset pages of PageSize and written and flushed page
// by page, so memory stays flat whatever the number of rows. Every cell
// that a spreadsheet would read as a formula (it begins with =, +, -, @,
// a tab or a carriage return) is prefixed with a single quote (OWASP's
// advice against CSV injection): the values came from untrusted browsers.
package export

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/stats"
)

// Kind is what one row of an export is.
type Kind string

// The kinds of export.
const (
	Events   Kind = "events"   // one row per stored event
	Sessions Kind = "sessions" // one row per session started in the period
	Summary  Kind = "summary"  // one row per local day: the stats KPIs
)

// ErrBadKind is returned by ParseKind for an unknown kind.
var ErrBadKind = errors.New("export: kind must be events, sessions or summary")

// PageSize is how many rows one keyset page reads.
const PageSize = 1000

// ParseKind reads a kind; empty is Events.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case "":
		return Events, nil
	case Events, Sessions, Summary:
		return k, nil
	}
	return "", fmt.Errorf("%w: %q", ErrBadKind, s)
}

// Filename is the attachment name of an export:
// skopos-<domain>-<kind>-<from>-<to>.csv with the period's first and last
// local days.
func Filename(domain string, kind Kind, p stats.Period) string {
	loc := p.Location()
	last := p.To.In(loc)
	if last.After(p.From) {
		last = last.Add(-time.Nanosecond)
	}
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, domain)
	if clean == "" {
		clean = "site"
	}
	return fmt.Sprintf("skopos-%s-%s-%s-%s.csv", clean, kind, p.From.In(loc).Format(time.DateOnly), last.Format(time.DateOnly))
}

// Serve answers an HTTP request with the export of site (a websites
// record): the CSV headers, then the rows as they are read. An error
// after the first byte can only cut the response short; Serve returns it
// for the caller to log.
func Serve(w http.ResponseWriter, r *http.Request, app core.App, site *core.Record, kind Kind, req stats.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", Filename(site.GetString("domain"), kind, req.Period)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	rc := http.NewResponseController(w)
	flush := func() {
		// a long export must outlive the server's WriteTimeout (5 minutes
		// in PocketBase): each page gets a minute from now instead
		_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
		_ = rc.Flush() // a writer that cannot flush buffers: still correct
	}
	flush()
	if err := Write(r.Context(), app, w, flush, site.Id, kind, req); err != nil {
		return fmt.Errorf("export %s of %s: %w", kind, site.Id, err)
	}
	return nil
}

// Write writes the CSV export of the website with id site to w, calling
// flush (may be nil) after every page of rows. With req.ClickHouse set,
// the rows are read from that events store.
func Write(ctx context.Context, app core.App, w io.Writer, flush func(), site string, kind Kind, req stats.Request) error {
	cw := &writer{csv: csv.NewWriter(w), flush: flush}
	switch {
	case kind == Events && req.ClickHouse != nil:
		return writeEventsClickHouse(ctx, req.ClickHouse, cw, site, req.Period)
	case kind == Sessions && req.ClickHouse != nil:
		return writeSessionsClickHouse(ctx, req.ClickHouse, cw, site, req.Period)
	}
	switch kind {
	case Events:
		return writeEvents(ctx, app, cw, site, req.Period)
	case Sessions:
		return writeSessions(ctx, app, cw, site, req.Period)
	case Summary:
		return writeSummary(ctx, app, cw, site, req)
	}
	return fmt.Errorf("%w: %q", ErrBadKind, kind)
}

// writer writes neutralized records and flushes between pages.
type writer struct {
	csv   *csv.Writer
	flush func()
	rec   []string
}

func (w *writer) write(cells ...string) error {
	w.rec = w.rec[:0]
	for _, c := range cells {
		w.rec = append(w.rec, Neutralize(c))
	}
	return w.csv.Write(w.rec)
}

func (w *writer) page() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if w.flush != nil {
		w.flush()
	}
	return nil
}

// Neutralize prefixes a cell that a spreadsheet would evaluate as a
// formula with a single quote.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

const pbLayout = "2006-01-02 15:04:05.000Z"

func dbTime(t time.Time) string { return t.UTC().Format(pbLayout) }

// rfc3339 turns a stored date into RFC 3339 in UTC ("" stays "").
func rfc3339(s string) string {
	t, err := time.Parse(pbLayout, s)
	if err != nil {
		return s
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// keyset reads the rows of q page by page in (time, id) order. q selects
// the key columns first (time, id) and has {:w}, {:lo}, {:to}, {:t},
// {:id} and {:n} placeholders: {:lo} is the one lower bound of the time
// (the period's start, then the last time written), so that the index
// range starts at the page, not at the period (two lower bounds would let
// SQLite pick the period's and scan every earlier page again); row scans
// one row and returns its key.
func keyset(ctx context.Context, app core.App, w *writer, q string, site string, p stats.Period,
	row func(*dbx.Rows) (t, id string, err error)) error {
	from := dbTime(p.From)
	params := dbx.Params{"w": site, "lo": from, "to": dbTime(p.To), "t": "", "id": "", "n": PageSize}
	for {
		rows, err := app.DB().NewQuery(q).Bind(params).WithContext(ctx).Rows()
		if err != nil {
			return fmt.Errorf("query page: %w", err)
		}
		n := 0
		for rows.Next() {
			t, id, err := row(rows)
			if err != nil {
				rows.Close()
				return err
			}
			params["t"], params["id"], params["lo"] = t, id, max(from, t)
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("read page: %w", err)
		}
		if err := w.page(); err != nil {
			return err
		}
		if n < PageSize {
			return nil
		}
	}
}

// EventColumns is the header of an events export.
var EventColumns = []string{"time", "id", "type", "path", "eventName", "eventData", "session", "visitor",
	"engagedMs", "scrollDepth", "revenueAmount", "revenueCurrency", "orderId"}

func writeEvents(ctx context.Context, app core.App, w *writer, site string, p stats.Period) error {
	if err := w.write(EventColumns...); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	// the website_timestamp index bounds the range; ties on the
	// timestamp are ordered by id, and the page starts after the last
	// (timestamp, id) written
	const q = `SELECT e.timestamp, e.id, e.type, e.path, e.eventName, COALESCE(e.eventData, ''), e.session, COALESCE(s.visitor, ''),
			CAST(COALESCE(e.engagedMs, 0) AS INTEGER), CAST(COALESCE(e.scrollDepth, 0) AS INTEGER),
			CAST(COALESCE(e.revenueAmount, 0) AS INTEGER), COALESCE(e.revenueCurrency, ''), COALESCE(e.orderId, '')
		FROM events e LEFT JOIN sessions s ON s.id = e.session
		WHERE e.website = {:w} AND e.timestamp >= {:lo} AND e.timestamp < {:to}
			AND NOT (e.timestamp = {:t} AND e.id <= {:id})
		ORDER BY e.timestamp, e.id LIMIT {:n}`
	var c [13]sql.NullString
	dest := make([]any, len(c))
	for i := range c {
		dest[i] = &c[i]
	}
	return keyset(ctx, app, w, q, site, p, func(rows *dbx.Rows) (string, string, error) {
		if err := rows.Scan(dest...); err != nil {
			return "", "", fmt.Errorf("scan event: %w", err)
		}
		data := c[5].String
		if data == "null" {
			data = ""
		}
		// engagement and revenue as stored (0 and "" without; the amount
		// in the currency's minor units)
		if err := w.write(rfc3339(c[0].String), c[1].String, c[2].String, c[3].String, c[4].String, data, c[6].String, c[7].String,
			c[8].String, c[9].String, c[10].String, c[11].String, c[12].String); err != nil {
			return "", "", fmt.Errorf("write event: %w", err)
		}
		return c[0].String, c[1].String, nil
	})
}

// SessionColumns is the header of a sessions export.
var SessionColumns = []string{"started", "lastActivity", "id", "visitor", "entryPath", "exitPath", "referrer", "country",
	"device", "browser", "os", "language", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"eventCount", "engaged", "isNew", "durationSeconds", "source", "channel"}

func writeSessions(ctx context.Context, app core.App, w *writer, site string, p stats.Period) error {
	if err := w.write(SessionColumns...); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	// sessions started in the period (the stats' visitors)
	const q = `SELECT startedAt, id, COALESCE(lastActivity, ''), visitor, entryPath, exitPath, referrer, country, device, browser, os, language,
			COALESCE(json_extract(utm, '$.utm_source'), ''), COALESCE(json_extract(utm, '$.utm_medium'), ''),
			COALESCE(json_extract(utm, '$.utm_campaign'), ''), COALESCE(json_extract(utm, '$.utm_term'), ''),
			COALESCE(json_extract(utm, '$.utm_content'), ''), eventCount, isEngaged, isNewVisitor,
			COALESCE(source, ''), COALESCE(channel, '')
		FROM sessions
		WHERE website = {:w} AND startedAt >= {:lo} AND startedAt < {:to}
			AND NOT (startedAt = {:t} AND id <= {:id})
		ORDER BY startedAt, id LIMIT {:n}`
	var c [17]sql.NullString
	var count, engaged, isNew sql.NullInt64
	var source, channel sql.NullString
	dest := make([]any, 0, 22)
	for i := range c {
		dest = append(dest, &c[i])
	}
	dest = append(dest, &count, &engaged, &isNew, &source, &channel)
	return keyset(ctx, app, w, q, site, p, func(rows *dbx.Rows) (string, string, error) {
		if err := rows.Scan(dest...); err != nil {
			return "", "", fmt.Errorf("scan session: %w", err)
		}
		dur := ""
		if s, err1 := time.Parse(pbLayout, c[0].String); err1 == nil {
			if l, err2 := time.Parse(pbLayout, c[2].String); err2 == nil {
				// rounded as the stats round it: to the nearest second
				dur = strconv.FormatInt(int64(max(0, l.Sub(s)+500*time.Millisecond)/time.Second), 10)
			}
		}
		cells := []string{rfc3339(c[0].String), rfc3339(c[2].String), c[1].String}
		for i := 3; i < len(c); i++ {
			cells = append(cells, c[i].String)
		}
		cells = append(cells, strconv.FormatInt(count.Int64, 10), strconv.FormatBool(engaged.Int64 != 0),
			strconv.FormatBool(isNew.Int64 != 0), dur, source.String, channel.String)
		if err := w.write(cells...); err != nil {
			return "", "", fmt.Errorf("write session: %w", err)
		}
		return c[0].String, c[1].String, nil
	})
}

// SummaryColumns is the header of a summary export.
var SummaryColumns = []string{"date", "from", "to", "pageViews", "visitors", "newVisitors", "returningVisitors",
	"engagementRate", "bounceRate", "avgDurationSeconds", "jsErrors"}

// writeSummary writes one row per local day the period touches, each the
// stats.Query report of that whole local day (so "24h" gives its two
// days in full): the hourly summaries serve whole UTC hours, raw rows
// the rest, exactly as the stats API computes them.
func writeSummary(ctx context.Context, app core.App, w *writer, site string, req stats.Request) error {
	if err := w.write(SummaryColumns...); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	loc := req.Period.Location()
	f := req.Period.From.In(loc)
	day := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
	for ; day.Before(req.Period.To); day = day.AddDate(0, 0, 1) {
		d := day.Format(time.DateOnly)
		p, err := stats.ParsePeriodIn("custom", d, d, req.Now, loc)
		if err != nil {
			return fmt.Errorf("day %s: %w", d, err)
		}
		r, err := stats.Query(ctx, app, site, stats.Request{Period: p, Filters: req.Filters, Top: 1, Now: req.Now, Budget: req.Budget,
			ClickHouse: req.ClickHouse})
		if err != nil {
			return fmt.Errorf("stats of %s: %w", d, err)
		}
		js := ""
		if r.JSErrors != nil {
			js = num(r.JSErrors.Value)
		}
		if err := w.write(d, p.From.UTC().Format(time.RFC3339), p.To.UTC().Format(time.RFC3339),
			num(r.PageViews.Value), num(r.Visitors.Value), num(r.NewVisitors.Value), num(r.ReturningVisitors.Value),
			num(r.EngagementRate.Value), num(r.BounceRate.Value), num(r.AvgDuration.Value), js); err != nil {
			return fmt.Errorf("write day %s: %w", d, err)
		}
		if err := w.page(); err != nil {
			return err
		}
	}
	return w.page()
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
