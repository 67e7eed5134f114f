// Package chmigrate copies a SQLite store's history (the events, sessions
// and JS errors rows of PocketBase) into the ClickHouse events store's
// tables: `skopos clickhouse migrate`. It is resumable: each table is
// copied in rowid order, page by page, and the last rowid copied is kept
// in skopos_state (per target server and database) after each page; a
// page sent before an interruption
// and not recorded is found by its batch column and not sent twice.
//
// Run it with the server stopped (or before switching it to ClickHouse):
// rows are copied as they are when read, and a session updated after its
// page was copied keeps the copied state. Summaries stay in PocketBase
// and are not copied.
package chmigrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/schema"
)

// Options configure Copy. The zero value is usable.
type Options struct {
	// Page is how many rows one INSERT carries; default 50 000.
	Page int
	// Progress, when set, is told after each page what a table has
	// copied so far (this run and earlier ones) of its total; an error
	// it returns stops Copy there (the page is recorded).
	Progress func(table string, copied, total int64) error
}

// Result counts the rows Copy sent, per table, in this run.
type Result struct {
	Sessions, Events, JSErrors int64
}

// tables are copied in this order, each with its time columns (SQLite
// dates, Int64 Unix milliseconds in ClickHouse).
var tables = []struct {
	name  string
	times []string
	// batched: immutable rows, which carry the batch column (a page sent
	// twice would count twice); sessions are versioned rows instead
	batched bool
}{
	{schema.Sessions, []string{"lastActivity", "startedAt", "created", "updated"}, false},
	{schema.Events, []string{"timestamp", "created", "updated"}, true},
	{schema.JSErrors, []string{"lastSeen", "created", "updated"}, true},
}

// stateName is the skopos_state row holding a table's last copied rowid
// into one server's database: another target (a new database, another
// server) is copied from the start.
func stateName(table, target string) string { return "chmigrate:" + table + "@" + target }

// Copy copies what is left to copy of each table into ch, whose database
// holds clickhouse.Schema's tables.
func Copy(ctx context.Context, app core.App, ch *clickhouse.Client, opts Options) (Result, error) {
	if opts.Page <= 0 {
		opts.Page = 50_000
	}
	var res Result
	for _, t := range tables {
		n, err := copyTable(ctx, app, ch, t.name, t.times, t.batched, opts)
		switch t.name {
		case schema.Sessions:
			res.Sessions = n
		case schema.Events:
			res.Events = n
		default:
			res.JSErrors = n
		}
		if err != nil {
			return res, fmt.Errorf("chmigrate: %s: %w", t.name, err)
		}
	}
	return res, nil
}

func copyTable(ctx context.Context, app core.App, ch *clickhouse.Client, table string, times []string, batched bool, opts Options) (int64, error) {
	cols, err := commonColumns(ctx, app, ch, table)
	if err != nil {
		return 0, err
	}
	target := ch.Target()
	last, err := lastCopied(ctx, app.DB(), table, target)
	if err != nil {
		return 0, err
	}
	var total, done int64
	if err := app.DB().NewQuery("SELECT count(*) FROM " + table).WithContext(ctx).Row(&total); err != nil {
		return 0, err
	}
	if err := app.DB().NewQuery("SELECT count(*) FROM " + table + " WHERE rowid <= {:r}").
		WithContext(ctx).Bind(dbx.Params{"r": last}).Row(&done); err != nil {
		return 0, err
	}
	isTime := map[string]bool{}
	for _, c := range times {
		isTime[c] = true
	}
	var sent int64
	unsure := batched // the first page may have been sent by an interrupted run
	for {
		rows, through, err := readPage(ctx, app.DB(), table, cols, isTime, last, opts.Page)
		if err != nil {
			return sent, err
		}
		if len(rows) == 0 {
			return sent, nil
		}
		batch := "migrate:" + table + ":" + strconv.FormatInt(last, 10)
		if batched {
			for _, r := range rows {
				r["batch"] = batch
			}
		}
		skip := false
		if unsure {
			n, err := ch.Count(ctx, table, "batch = ?", batch)
			if err != nil {
				return sent, err
			}
			switch {
			case n == int64(len(rows)):
				skip = true
			case n > 0:
				if err := ch.Delete(ctx, table, "batch = ?", batch); err != nil {
					return sent, err
				}
			}
			unsure = false
		}
		if !skip {
			if err := ch.Insert(ctx, table, rows); err != nil {
				return sent, err
			}
			sent += int64(len(rows))
		}
		last = through
		if err := writeLastCopied(ctx, app.DB(), table, target, last); err != nil {
			return sent, err
		}
		done += int64(len(rows))
		if opts.Progress != nil {
			if err := opts.Progress(table, done, total); err != nil {
				return sent, err
			}
		}
	}
}

// commonColumns lists the columns both the SQLite table and the
// ClickHouse one have (a column only one side knows is left out).
func commonColumns(ctx context.Context, app core.App, ch *clickhouse.Client, table string) ([]string, error) {
	got, err := clickhouse.Select[struct {
		Name string `json:"name"`
	}](ctx, ch, "SELECT name FROM system.columns WHERE database = ? AND table = ?", dbName(ch), table)
	if err != nil {
		return nil, err
	}
	inCH := map[string]bool{}
	for _, c := range got {
		inCH[c.Name] = true
	}
	if len(inCH) == 0 {
		return nil, fmt.Errorf("no table %s in ClickHouse database %s (run `skopos clickhouse schema`)", table, dbName(ch))
	}
	var info []struct {
		Name string `db:"name"`
	}
	if err := app.DB().NewQuery("SELECT name FROM pragma_table_info({:t})").WithContext(ctx).
		Bind(dbx.Params{"t": table}).All(&info); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range info {
		if inCH[c.Name] {
			out = append(out, c.Name)
		}
	}
	return out, nil
}

func dbName(ch *clickhouse.Client) string {
	if ch.Database() == "" {
		return "default"
	}
	return ch.Database()
}

// readPage reads up to n rows after rowid last, as ClickHouse rows, and
// the rowid of the last one.
func readPage(ctx context.Context, db dbx.Builder, table string, cols []string, isTime map[string]bool, last int64, n int) ([]map[string]any, int64, error) {
	quoted := "rowid"
	for _, c := range cols {
		quoted += ", [[" + c + "]]"
	}
	rs, err := db.NewQuery("SELECT " + quoted + " FROM " + table + " WHERE rowid > {:last} ORDER BY rowid LIMIT {:n}").
		WithContext(ctx).Bind(dbx.Params{"last": last, "n": n}).Rows()
	if err != nil {
		return nil, last, err
	}
	defer rs.Close()
	var out []map[string]any
	vals := make([]any, len(cols)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, last, err
		}
		last = vals[0].(int64)
		row := make(map[string]any, len(cols))
		for i, c := range cols {
			v := vals[i+1]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			switch {
			case v == nil:
				continue // the column's default
			case isTime[c]:
				s, _ := v.(string)
				if s == "" {
					continue
				}
				t, err := time.Parse("2006-01-02 15:04:05.000Z", s)
				if err != nil {
					return nil, last, fmt.Errorf("row %d: %s %q: %w", last, c, s, err)
				}
				v = t
			case c == "eventData" || c == "utm":
				if v == "null" {
					continue
				}
			}
			row[c] = v
		}
		out = append(out, row)
	}
	return out, last, rs.Err()
}

func lastCopied(ctx context.Context, db dbx.Builder, table, target string) (int64, error) {
	var v string
	err := db.NewQuery("SELECT value FROM " + schema.State + " WHERE name = {:name}").
		WithContext(ctx).Bind(dbx.Params{"name": stateName(table, target)}).Row(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

func writeLastCopied(ctx context.Context, db dbx.Builder, table, target string, rowid int64) error {
	now := time.Now().UTC().Format("2006-01-02 15:04:05.000Z")
	_, err := db.NewQuery("INSERT INTO " + schema.State + ` (id, name, value, created, updated)
		VALUES ({:id}, {:name}, {:value}, {:at}, {:at})
		ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated = excluded.updated`).
		WithContext(ctx).Bind(dbx.Params{"id": stateID(table, target), "name": stateName(table, target), "value": strconv.FormatInt(rowid, 10), "at": now}).Execute()
	return err
}

// stateID is the skopos_state record id of a table's progress into a
// target: 15 characters [a-z0-9] derived from both.
func stateID(table, target string) string {
	sum := sha256.Sum256([]byte(table + "@" + target))
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 15)
	for i := range out {
		out[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	return string(out)
}
