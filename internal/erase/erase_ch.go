package erase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/store/chstore"
	"github.com/skopos-go/skopos/schema"
)

// ErrIncomplete: an erasure corrected the summaries, deleted the
// visitors and logged itself in PocketBase, and ClickHouse failed to
// delete the raw rows. The deletion stays recorded; the next
// EraseClickHouse (the same call again) finishes it first.
var ErrIncomplete = errors.New("erase: ClickHouse deletion not finished")

// pendingPrefix starts the names of the skopos_state rows that hold the
// ClickHouse deletions of committed erasures, until they are done: the
// erased sessions' ids and the JS error groups to delete. They leave
// with the deletion; the erasure log never holds ids.
const pendingPrefix = "erase/clickhouse/"

// pendingValue bounds a pending row's value (skopos_state.value holds
// 1 024 characters).
const pendingValue = 1000

// pending is one skopos_state row of a deletion still to run.
type pending struct {
	Website  string   `json:"w"`
	Hashes   []string `json:"h,omitempty"`
	Sessions []string `json:"s,omitempty"`
}

// chIDs bounds the ids of one ClickHouse IN list.
const chIDs = 2000

// EraseClickHouse is Erase for a website whose events, sessions and JS
// errors are in ClickHouse (written by st), its visitors and summaries
// in PocketBase; same Result, same correction of the summaries. In
// order: st's outbox is shipped, so that ClickHouse holds every row of
// the target; the rows are read from ClickHouse (sessions FINAL, JS
// error groups summed over their rows); one PocketBase transaction
// subtracts their contribution from the summaries, deletes the visitors,
// logs the erasure and records the ClickHouse deletion to run; st
// forgets the sessions; then ClickHouse deletes (mutations, waited for)
// and the record goes.
//
// If ClickHouse fails after the commit, the error wraps ErrIncomplete
// and Result counts what was erased: the recorded deletion is finished
// by the next EraseClickHouse, which runs what is recorded before
// anything else (a second call with the same target then reports
// ErrNotFound: nothing of it is left).
//
// JS errors in ClickHouse are rows per group and write; the group's
// count is their sum and its session, as SQLite's row keeps it, the
// latest write's that had one. A group of one occurrence in an erased
// session is deleted (every row), a larger group linked to one counts
// as unlinked; every row naming an erased session has it blanked.
//
// Like Erase, it runs on the pipeline's worker (pipeline.Exclusive).
func EraseClickHouse(ctx context.Context, app core.App, st *chstore.Store, t Target, actor string) (Result, error) {
	res := Result{Kind: t.Kind}
	if err := t.check(); err != nil {
		return res, err
	}
	if err := st.Ship(ctx); err != nil {
		return res, fmt.Errorf("erase: shipping the outbox: %w", err)
	}
	if err := finishPending(ctx, app, st); err != nil {
		return res, fmt.Errorf("%w: an earlier erasure's: %w", ErrIncomplete, err)
	}
	e := &eraser{ctx: ctx, db: app.DB(), website: t.Website, res: &res, d: newDelta(), ch: st.ClickHouse()}
	visitorIDs, sessionIDs, err := e.targets(t)
	if err != nil {
		return Result{Kind: t.Kind}, err
	}
	res.Sessions = len(sessionIDs)
	hashes, err := e.chCount(sessionIDs)
	if err != nil {
		return Result{Kind: t.Kind}, err
	}
	err = app.RunInTransaction(func(tx core.App) error {
		e.db = tx.DB()
		if err := e.subtract(); err != nil {
			return err
		}
		if err := e.removeVisitors(visitorIDs); err != nil {
			return err
		}
		if err := logErasure(tx, t, actor, res); err != nil {
			return err
		}
		return addPending(ctx, tx.DB(), t.Website, hashes, sessionIDs)
	})
	if err != nil {
		return Result{Kind: t.Kind}, err
	}
	st.Forget(sessionIDs)
	if err := finishPending(ctx, app, st); err != nil {
		return res, fmt.Errorf("%w (summaries, visitors and the erasure log are done; run it again to finish): %w", ErrIncomplete, err)
	}
	return res, nil
}

// chSessions is the ids of the website's sessions where (a condition on
// sessions' columns, its ? placeholders bound to args), read FINAL.
func (e *eraser) chSessions(where string, args ...any) ([]string, error) {
	type row struct {
		ID string `json:"id"`
	}
	got, err := clickhouse.Select[row](e.ctx, e.ch, "SELECT id FROM sessions FINAL WHERE website = ? AND "+where+" ORDER BY id",
		append([]any{e.website}, args...)...)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(got))
	for i, r := range got {
		ids[i] = r.ID
	}
	return ids, nil
}

// chCount adds to the delta what the sessions, their events and their
// single-occurrence JS error groups added to the summaries, counts the
// events and JS error groups into the result, and returns the hashes of
// the groups to delete.
func (e *eraser) chCount(ids []string) ([]string, error) {
	erased := make(map[string]bool, len(ids))
	for _, id := range ids {
		erased[id] = true
	}
	seen := map[string]bool{}
	var hashes []string
	for part := range chunksOf(ids, chIDs) {
		if err := e.chSessionsDelta(part); err != nil {
			return nil, fmt.Errorf("sessions: %w", err)
		}
		if err := e.chEventsDelta(part); err != nil {
			return nil, fmt.Errorf("events: %w", err)
		}
		type group struct {
			Hash     string `json:"hash"`
			Count    int64  `json:"n"`
			Message  string `json:"message"`
			LastSeen int64  `json:"lastSeen"`
			Session  string `json:"session"`
		}
		groups, err := clickhouse.Select[group](e.ctx, e.ch, `SELECT errorHash AS hash, toInt64(sum(count)) AS n,
				argMax(errorMessage, batch) AS message, max(lastSeen) AS lastSeen, argMaxIf(session, batch, session != '') AS session
			FROM js_errors WHERE website = ? AND errorHash IN (SELECT errorHash FROM js_errors WHERE website = ? AND session IN `+clickhouse.List(part)+`)
			GROUP BY errorHash`, e.website, e.website)
		if err != nil {
			return nil, fmt.Errorf("js_errors: %w", err)
		}
		for _, g := range groups {
			if seen[g.Hash] || !erased[g.Session] {
				continue
			}
			seen[g.Hash] = true
			if g.Count > 1 {
				e.res.JSErrorsUnlinked++
				continue
			}
			e.res.JSErrors++
			hashes = append(hashes, g.Hash)
			e.d.addJSError(time.UnixMilli(g.LastSeen), g.Message)
		}
	}
	return hashes, nil
}

// chSessionsDelta counts the sessions ids as the pipeline did.
func (e *eraser) chSessionsDelta(ids []string) error {
	type row struct {
		StartedAt    int64    `json:"startedAt"`
		LastActivity int64    `json:"lastActivity"`
		IsNew        uint8    `json:"isNewVisitor"`
		Engaged      uint8    `json:"isEngaged"`
		EventCount   int      `json:"eventCount"`
		UTM          string   `json:"utm"`
		Values       []string `json:"vals"`
	}
	cols := make([]string, len(pipeline.SessionDimensions))
	args := []any{}
	for i, sd := range pipeline.SessionDimensions {
		cols[i] = "?"
		args = append(args, clickhouse.Ident(sd.Column))
	}
	got, err := clickhouse.Select[row](e.ctx, e.ch, `SELECT startedAt, lastActivity, isNewVisitor, isEngaged, eventCount, utm,
			[`+strings.Join(cols, ", ")+`] AS vals
		FROM sessions FINAL WHERE website = ? AND id IN `+clickhouse.List(ids), append(args, e.website)...)
	if err != nil {
		return err
	}
	for _, r := range got {
		s := erasedSession{start: time.UnixMilli(r.StartedAt), last: time.UnixMilli(r.LastActivity), utm: r.UTM,
			isNew: r.IsNew != 0, engaged: r.Engaged != 0, eventCount: r.EventCount, values: r.Values}
		e.d.addSession(&s)
	}
	return nil
}

// chEventsDelta counts the sessions' page views and custom events on
// their hours, and every event of them into the result.
func (e *eraser) chEventsDelta(ids []string) error {
	type row struct {
		Hour  int64  `json:"hour"`
		Type  string `json:"type"`
		Value string `json:"value"`
		N     int    `json:"n"`
	}
	got, err := clickhouse.Select[row](e.ctx, e.ch, `SELECT intDiv(timestamp, 3600000) AS hour, type,
			if(type = 'pageView', path, eventName) AS value, toInt64(count()) AS n
		FROM events WHERE website = ? AND session IN `+clickhouse.List(ids)+` GROUP BY hour, type, value`, e.website)
	if err != nil {
		return err
	}
	for _, r := range got {
		e.res.Events += r.N
		if r.Type == "pageView" || r.Type == "custom" {
			e.d.addEvents(time.Unix(r.Hour*3600, 0), r.Type, r.Value, r.N)
		}
	}
	return nil
}

// addPending records, in the erasure's transaction, the ClickHouse
// deletion to run: the groups' rows first, then the sessions', in rows
// of at most pendingValue characters whose names keep that order.
func addPending(ctx context.Context, db dbx.Builder, website string, hashes, sessions []string) error {
	var rows []pending
	add := func(ids []string, hashes bool) {
		cur := pending{Website: website}
		size := 0
		flush := func() {
			if len(cur.Hashes)+len(cur.Sessions) > 0 {
				rows = append(rows, cur)
			}
			cur, size = pending{Website: website}, 0
		}
		for _, id := range ids {
			if size+len(id)+3 > pendingValue-len(website)-20 {
				flush()
			}
			size += len(id) + 3
			if hashes {
				cur.Hashes = append(cur.Hashes, id)
			} else {
				cur.Sessions = append(cur.Sessions, id)
			}
		}
		flush()
	}
	add(hashes, true)
	add(sessions, false)
	stamp := time.Now().UTC().Format("20060102T150405.000000000")
	for i, p := range rows {
		v, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = db.NewQuery("INSERT INTO " + schema.State + " (id, name, value, created, updated) VALUES ({:id}, {:name}, {:value}, {:at}, {:at})").
			WithContext(ctx).Bind(dbx.Params{"id": pipeline.NewID(), "name": fmt.Sprintf("%s%s/%06d", pendingPrefix, stamp, i),
			"value": string(v), "at": pbDate(time.Now())}).Execute()
		if err != nil {
			return fmt.Errorf("pending deletion: %w", err)
		}
	}
	return nil
}

// FinishClickHouse runs the ClickHouse deletions that erasures recorded
// but could not finish (ErrIncomplete), for a server starting up:
// EraseClickHouse also runs them first, but nothing else would.
func FinishClickHouse(ctx context.Context, app core.App, st *chstore.Store) error {
	return finishPending(ctx, app, st)
}

// finishPending runs the recorded ClickHouse deletions in order, each
// row's record deleted once ClickHouse is done with it.
func finishPending(ctx context.Context, app core.App, st *chstore.Store) error {
	var rows []struct {
		ID    string `db:"id"`
		Value string `db:"value"`
	}
	if err := app.DB().NewQuery("SELECT id, value FROM " + schema.State + " WHERE name LIKE {:p} ORDER BY name").
		WithContext(ctx).Bind(dbx.Params{"p": pendingPrefix + "%"}).All(&rows); err != nil {
		return fmt.Errorf("pending deletions: %w", err)
	}
	for _, r := range rows {
		var p pending
		if err := json.Unmarshal([]byte(r.Value), &p); err != nil {
			return fmt.Errorf("pending deletion %s: %w", r.ID, err)
		}
		if err := st.DeleteSessions(ctx, p.Website, p.Sessions, p.Hashes); err != nil {
			return err
		}
		if _, err := app.DB().NewQuery("DELETE FROM " + schema.State + " WHERE id = {:id}").WithContext(ctx).
			Bind(dbx.Params{"id": r.ID}).Execute(); err != nil {
			return fmt.Errorf("pending deletion %s: %w", r.ID, err)
		}
	}
	return nil
}
