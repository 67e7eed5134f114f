// Package adopt lets Skopos for Go start on the data dir of a Skopos Node
// installation (the Node SDK writing into a PocketBase the Node dashboard
// prepared) and carry on with its data.
//
// The reference's collections stay theirs: adopting adds Skopos' fields
// and indexes next to theirs (an index with the same definition under
// another name is reused), fills the fields Skopos derives (sessions.seq
// per visitor by start time, events.website and timestamp,
// sessions.startedAt, lastActivity, eventCount, isEngaged, entry and exit
// pages where missing) and builds Skopos' summaries from the raw rows, plus
// one day row per daily_stats day whose raw rows retention removed. It
// never deletes a row or changes a value the reference wrote, so the Node
// dashboard keeps running on the same data.
//
// It runs in two steps around Skopos' schema migrations: Prepare (a
// PocketBase backup first, then the fields and the indexes that do not
// cover them, the seq numbering the UNIQUE (visitor, seq) index needs,
// and the derived fields), then Finish (the summaries). Every step is
// batched in its own transactions and restarts where it stopped: a kill
// in the middle and a restart finish the job. Progress is logged.
package adopt

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
	"github.com/skopos-go/skopos/schema/collections"
)

// stateName is the skopos_state row of the adoption: "prepared" after
// Prepare, "summaries:<website>:<day>" while Finish builds summaries,
// "done" when finished.
const stateName = "adopt"

const stateDone = "done"

// DefaultBatchRows bounds the rows one fill statement changes (one
// transaction) unless Prepare is given another bound.
const DefaultBatchRows = 20000

// BackupPrefix starts the name of the backup Prepare writes.
const BackupPrefix = "skopos-adopt-"

// deferred are the indexes Prepare leaves for the schema migration: the
// UNIQUE (visitor, seq) the rows as found violate until Prepare has
// numbered them, and every index over a column Prepare fills, which
// SQLite builds in one sort afterwards instead of updating entry by entry
// (a fill measured 17 times faster without them).
var deferred = map[string][]string{
	schema.Sessions: indexNames(schema.Sessions, "visitor_seq", "website_startedAt", "website_lastActivity", "visitor_lastActivity"),
	schema.Events:   indexNames(schema.Events, "session_timestamp", "website_timestamp", "website_path_timestamp", "website_eventName_timestamp"),
}

func indexNames(collection string, suffixes ...string) []string {
	out := make([]string, len(suffixes))
	for i, s := range suffixes {
		out[i] = schema.IndexName(collection, s)
	}
	return out
}

// Pending reports whether the data dir is a Skopos Node installation not
// yet (completely) adopted: it has the reference's daily_stats and
// sessions collections, and no finished adoption.
func Pending(db dbx.Builder) (bool, error) {
	var n int
	if err := db.NewQuery(`SELECT COUNT(*) FROM _collections WHERE name IN ('daily_stats', 'sessions', 'events', 'websites')`).Row(&n); err != nil {
		return false, fmt.Errorf("adopt: %w", err)
	}
	if n < 4 {
		return false, nil
	}
	st, err := state(db)
	return st != stateDone, err
}

// Adopted reports whether the data dir was adopted from Skopos Node.
func Adopted(db dbx.Builder) (bool, error) {
	st, err := state(db)
	return st == stateDone, err
}

// state reads the adoption's state ("" before Prepare).
func state(db dbx.Builder) (string, error) {
	var has int
	if err := db.NewQuery(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = {:t}`).
		Bind(dbx.Params{"t": schema.State}).Row(&has); err != nil || has == 0 {
		return "", err
	}
	var v string
	err := db.NewQuery(`SELECT value FROM skopos_state WHERE name = {:n}`).Bind(dbx.Params{"n": stateName}).Row(&v)
	if err != nil && !isNoRows(err) {
		return "", err
	}
	return v, nil
}

func setState(db dbx.Builder, v string) error {
	_, err := db.NewQuery(`INSERT INTO skopos_state (id, name, value, created, updated)
		VALUES ({:id}, {:n}, {:v}, strftime('%Y-%m-%d %H:%M:%fZ'), strftime('%Y-%m-%d %H:%M:%fZ'))
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated`).
		Bind(dbx.Params{"id": "skoposadopt0000", "n": stateName, "v": v}).Execute()
	return err
}

// Prepare backs the data dir up (once: a backup of an earlier attempt is
// kept), adds Skopos' collections, fields and indexes but the deferred
// ones, numbers each visitor's sessions by start time and fills the
// derived fields. Skopos' schema migrations run next (they add the
// deferred indexes); then Finish.
//
// batchRows bounds the rows of one transaction (0: DefaultBatchRows):
// smaller batches hold the write lock for less time each.
func Prepare(ctx context.Context, app core.App, log *slog.Logger, batchRows int) error {
	if batchRows <= 0 {
		batchRows = DefaultBatchRows
	}
	st, err := state(app.DB())
	if err != nil {
		return err
	}
	if st == "" {
		log.Warn("skopos: this data dir is a Skopos Node installation: adopting it (its own collections are kept as they are)")
		if err := backup(ctx, app, log); err != nil {
			return err
		}
		if _, err := collections.ApplyExcept(app, deferred); err != nil {
			return fmt.Errorf("adopt: schema: %w", err)
		}
		if err := setState(app.DB(), "prepared"); err != nil {
			return fmt.Errorf("adopt: %w", err)
		}
	}
	if err := numberSessions(ctx, app, log, batchRows); err != nil {
		return err
	}
	for _, f := range fills {
		if err := fillByRowid(ctx, app, log, f, int64(batchRows)); err != nil {
			return err
		}
	}
	return nil
}

// backup writes PocketBase's backup zip of the data dir, unless an
// earlier attempt wrote one, and says where.
func backup(ctx context.Context, app core.App, log *slog.Logger) error {
	dir := filepath.Join(app.DataDir(), core.LocalBackupsDirName)
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), BackupPrefix) {
				log.Info("skopos: adopting: the backup of an earlier attempt is kept", "backup", filepath.Join(dir, e.Name()))
				return nil
			}
		}
	}
	name := BackupPrefix + time.Now().UTC().Format("20060102150405") + ".zip"
	start := time.Now()
	if err := app.CreateBackup(ctx, name); err != nil {
		return fmt.Errorf("adopt: backup before adopting: %w", err)
	}
	log.Warn("skopos: adopting: backup of the data dir as it was written", "backup", filepath.Join(dir, name),
		"took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// numberSessions sets sessions.seq: each visitor's sessions numbered 1, 2,
// … by created time (then id), a batch of visitors per transaction.
func numberSessions(ctx context.Context, app core.App, log *slog.Logger, batchRows int) error {
	total := 0
	for {
		n, err := exec(ctx, app, `UPDATE sessions SET seq = (SELECT COUNT(*) FROM sessions s2 WHERE s2.visitor = sessions.visitor
				AND (s2.created < sessions.created OR (s2.created = sessions.created AND s2.id <= sessions.id)))
			WHERE visitor IN (SELECT DISTINCT visitor FROM sessions WHERE seq IS NULL OR seq = 0 LIMIT {:n})`, dbx.Params{"n": max(1, batchRows/5)})
		if err != nil {
			return fmt.Errorf("adopt: sessions.seq: %w", err)
		}
		if n == 0 {
			break
		}
		total += n
		log.Info("skopos: adopting: sessions numbered per visitor", "sessions", total)
	}
	return nil
}

// exec runs one statement in its own transaction and returns the rows
// it changed.
func exec(ctx context.Context, app core.App, q string, params dbx.Params) (int, error) {
	var n int64
	err := app.RunInTransaction(func(tx core.App) error {
		r, err := tx.DB().NewQuery(q).Bind(params).WithContext(ctx).Execute()
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	return int(n), err
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
