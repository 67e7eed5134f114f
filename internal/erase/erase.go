// Package erase deletes what Skopos stored about one session, one visitor
// or one identified user (every visitor id identify() linked to the user
// id) of a website, the right to erasure of GDPR article 17, and corrects
// the summaries so that they still equal the raw rows that remain.
//
// The summaries (dash_sum hourly, dash_sum_items daily) are corrected by
// subtraction: what the erased rows contributed is computed from them,
// with the pipeline's own rules (a session counts on its start hour, a
// page view or custom event on its own hour, the breakdown keys as the
// pipeline maps them), and subtracted from the rows they were added to.
// Subtraction rather than a recomputation of the days: a day whose raw
// rows were partly pruned by retention, or whose summaries came from an
// earlier version or an import, keeps everything else it counts. A
// breakdown key the pipeline sent to "(other)" (the day's key cap) is
// taken from there; a row that comes to zero is deleted, so that no key
// of the erased data (a path, an event name) stays behind.
//
// JS errors are stored per error group with a lifetime count and the
// session of the group's first occurrence only, so occurrences cannot be
// told apart by visitor: a group whose single occurrence was an erased
// session's is deleted (and uncounted from the summaries); a larger
// group loses its link to the erased session and keeps its count.
//
// Erase runs in one transaction. In the server it runs on the pipeline's
// worker (pipeline.Exclusive), so that no write of the pipeline
// interleaves and the worker re-reads the visitors and sessions it had
// in memory.
//
// EraseClickHouse is the same erasure for a website whose events store
// is ClickHouse (chstore): the rows are read there and deleted there
// after the PocketBase transaction, which records the deletion until it
// is done.
package erase

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/clickhouse"
	"github.com/skopos-go/skopos/schema"
)

// Kind is what one erasure deletes.
type Kind string

const (
	// Session erases one session and its events; its visitor stays.
	Session Kind = "session"
	// Visitor erases one visitor (one visitor id, one device) with every
	// session and event of it.
	Visitor Kind = "visitor"
	// User erases every visitor of the website identified as one user id,
	// with their sessions and events.
	User Kind = "user"
)

// Target names what to erase.
type Target struct {
	Website string // the website's record id
	Kind    Kind
	// ID is the session's or the visitor's record id, or the user id
	// that identify() was given.
	ID string
}

// Result counts the rows an erasure deleted or changed.
type Result struct {
	Kind     Kind `json:"kind"`
	Visitors int  `json:"visitors"`
	Sessions int  `json:"sessions"`
	Events   int  `json:"events"`
	// JSErrors are the error groups deleted (their one occurrence was
	// erased); JSErrorsUnlinked the larger groups that lost their link
	// to an erased session.
	JSErrors         int `json:"jsErrors"`
	JSErrorsUnlinked int `json:"jsErrorsUnlinked"`
	// Summaries are the dash_sum and dash_sum_items rows corrected
	// (changed or, at zero, deleted).
	Summaries int `json:"summaries"`
}

// ErrNotFound: the website has no such session, visitor or user.
var ErrNotFound = errors.New("erase: not found")

// ErrBadTarget: the target's kind or id is not usable.
var ErrBadTarget = errors.New("erase: bad target")

// idsPerStatement bounds the ids bound in one IN (...) list.
const idsPerStatement = 500

// Erase deletes the target's rows and corrects the summaries, in one
// transaction, and records the erasure in the erasure log (schema.Erasures:
// who, what kind, how many rows; never the erased data or its ids). actor
// names who asked ("users/<id>", "_superusers/<id>", with " (API key)"
// when through a key).
func Erase(ctx context.Context, app core.App, t Target, actor string) (Result, error) {
	res := Result{Kind: t.Kind}
	if err := t.check(); err != nil {
		return res, err
	}
	err := app.RunInTransaction(func(tx core.App) error {
		e := &eraser{ctx: ctx, db: tx.DB(), website: t.Website, res: &res, d: newDelta()}
		visitorIDs, sessionIDs, err := e.targets(t)
		if err != nil {
			return err
		}
		for ids := range chunks(sessionIDs) {
			if err := e.count(ids); err != nil {
				return err
			}
		}
		if err := e.subtract(); err != nil {
			return err
		}
		for ids := range chunks(sessionIDs) {
			if err := e.remove(ids); err != nil {
				return err
			}
		}
		if err := e.removeVisitors(visitorIDs); err != nil {
			return err
		}
		return logErasure(tx, t, actor, res)
	})
	if err != nil {
		return Result{Kind: t.Kind}, err
	}
	return res, nil
}

func (t Target) check() error {
	if t.Website == "" || strings.TrimSpace(t.ID) == "" {
		return fmt.Errorf("%w: website and id are required", ErrBadTarget)
	}
	return nil
}

// eraser is one erasure's work inside its transaction.
type eraser struct {
	ctx     context.Context
	db      dbx.Builder
	website string
	res     *Result
	d       *delta
	// ch, when set, holds the events, sessions and JS errors
	// (EraseClickHouse); db then only the visitors and summaries
	ch *clickhouse.Client
}

func (e *eraser) query(q string, params dbx.Params) *dbx.Query {
	return e.db.NewQuery(q).Bind(params).WithContext(e.ctx)
}

func (e *eraser) exec(q string, params dbx.Params) (int, error) {
	r, err := e.query(q, params).Execute()
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	return int(n), err
}

// targets resolves t into the visitor and session record ids it erases;
// ErrNotFound when the website has none.
func (e *eraser) targets(t Target) (visitorIDs, sessionIDs []string, err error) {
	p := dbx.Params{"w": e.website, "id": t.ID}
	switch t.Kind {
	case Session:
		if e.ch != nil {
			sessionIDs, err = e.chSessions("id = ?", t.ID)
		} else {
			err = e.query("SELECT id FROM sessions WHERE website = {:w} AND id = {:id}", p).Column(&sessionIDs)
		}
		if err == nil && len(sessionIDs) == 0 {
			err = ErrNotFound
		}
		return nil, sessionIDs, err
	case Visitor:
		err = e.query("SELECT id FROM visitors WHERE website = {:w} AND id = {:id}", p).Column(&visitorIDs)
	case User:
		err = e.query("SELECT id FROM visitors WHERE website = {:w} AND userId = {:id} ORDER BY id", p).Column(&visitorIDs)
	default:
		return nil, nil, fmt.Errorf("%w: kind %q", ErrBadTarget, t.Kind)
	}
	if err == nil && len(visitorIDs) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	for ids := range chunks(visitorIDs) {
		var s []string
		if e.ch != nil {
			s, err = e.chSessions("visitor IN " + clickhouse.List(ids))
		} else {
			err = e.query("SELECT id FROM sessions WHERE website = {:w} AND visitor IN ("+inList(ids)+") ORDER BY id",
				idParams(e.website, ids)).Column(&s)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("sessions: %w", err)
		}
		sessionIDs = append(sessionIDs, s...)
	}
	return visitorIDs, sessionIDs, nil
}

// remove deletes the sessions' events and rows, and their JS error groups
// or links (see the package doc).
func (e *eraser) remove(ids []string) error {
	p := idParams(e.website, ids)
	n, err := e.exec("DELETE FROM events WHERE session IN ("+inList(ids)+")", p)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	e.res.Events += n
	if n, err = e.exec("DELETE FROM js_errors WHERE website = {:w} AND count <= 1 AND session IN ("+inList(ids)+")", p); err != nil {
		return fmt.Errorf("js_errors: %w", err)
	}
	e.res.JSErrors += n
	if n, err = e.exec("UPDATE js_errors SET session = '' WHERE website = {:w} AND session IN ("+inList(ids)+")", p); err != nil {
		return fmt.Errorf("js_errors: %w", err)
	}
	e.res.JSErrorsUnlinked += n
	if n, err = e.exec("DELETE FROM sessions WHERE website = {:w} AND id IN ("+inList(ids)+")", p); err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	e.res.Sessions += n
	return nil
}

// removeVisitors deletes the visitors' rows (none for a session's
// erasure, which keeps its visitor).
func (e *eraser) removeVisitors(ids []string) error {
	for ids := range chunks(ids) {
		n, err := e.exec("DELETE FROM visitors WHERE website = {:w} AND id IN ("+inList(ids)+")", idParams(e.website, ids))
		if err != nil {
			return fmt.Errorf("visitors: %w", err)
		}
		e.res.Visitors += n
	}
	return nil
}

// logErasure adds the erasure's row to the erasure log.
func logErasure(tx core.App, t Target, actor string, res Result) error {
	col, err := tx.FindCachedCollectionByNameOrId(schema.Erasures)
	if err != nil {
		return fmt.Errorf("erasure log: %w", err)
	}
	r := core.NewRecord(col)
	r.Load(map[string]any{
		"website": t.Website, "kind": string(t.Kind), "actor": actor, "visitors": res.Visitors,
		"sessions": res.Sessions, "events": res.Events, "jsErrors": res.JSErrors + res.JSErrorsUnlinked, "summaries": res.Summaries,
	})
	if err := tx.SaveNoValidate(r); err != nil {
		return fmt.Errorf("erasure log: %w", err)
	}
	return nil
}

// chunks splits ids into IN lists of at most idsPerStatement.
func chunks(ids []string) func(func([]string) bool) { return chunksOf(ids, idsPerStatement) }

// chunksOf splits ids into lists of at most n.
func chunksOf(ids []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(ids) > 0 {
			k := min(len(ids), n)
			if !yield(ids[:k]) {
				return
			}
			ids = ids[k:]
		}
	}
}

// inList is "{:id0}, {:id1}, …" for len(ids) ids bound by idParams.
func inList(ids []string) string {
	var b strings.Builder
	for i := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{:id%d}", i)
	}
	return b.String()
}

func idParams(website string, ids []string) dbx.Params {
	p := dbx.Params{"w": website}
	for i, id := range ids {
		p[fmt.Sprintf("id%d", i)] = id
	}
	return p
}

// pbDate formats t as PocketBase stores dates.
func pbDate(t time.Time) string { return t.UTC().Format(types.DefaultDateLayout) }
