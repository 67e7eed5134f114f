package localstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/store"
)

// The pipeline has validated and sized every value before it reaches the
// store, so creating its rows through PocketBase's record layer (field
// interceptors, validators, a SELECT per relation, hooks) costs most of
// the writer's time for nothing. Creates are written instead as multi-row
// INSERT statements, prepared once and reused across transactions. Every
// value still goes through the collection's own fields (Record.Set and
// Record.DBExport), so the stored bytes are exactly those PocketBase's
// record API writes (proven by TestSQLCreatesWriteTheSameRowsAsTheRecordAPI).
// Record hooks and realtime events do not fire for these rows; the plugin
// offers OnStored instead.

// maxInsertRows bounds the rows of one INSERT statement.
const maxInsertRows = 64

// rowSizes are the multi-row statement sizes used: a run of n rows is
// written with the largest sizes that fit (23 = 16 + 4 + 2 + 1), so that
// a handful of statement shapes per table stay prepared.
var rowSizes = []int{64, 16, 4, 2, 1}

// sizeFor returns the largest row size that fits n.
func sizeFor(n int) int {
	for _, sz := range rowSizes {
		if sz <= n {
			return sz
		}
	}
	return 1
}

// maxStatements bounds the prepared statements one Store keeps.
const maxStatements = 512

// stmtCache keeps the store's SQL statements prepared on PocketBase's
// writer connection (the pool has exactly one), so that every transaction
// reuses them instead of parsing SQL again. A statement first seen inside
// a transaction runs unprepared once and is prepared before the next one:
// preparing on the pool while the transaction holds its only connection
// would wait forever.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	want  map[string]bool
	cols  map[string][]string // collection id/updated → columns in order
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[string]*sql.Stmt{}, want: map[string]bool{}, cols: map[string][]string{}}
}

// exec runs q in t, prepared when it can be.
func (c *stmtCache) exec(ctx context.Context, t *sql.Tx, q string, args []any) (sql.Result, error) {
	c.mu.Lock()
	st := c.stmts[q]
	if st == nil && len(c.stmts)+len(c.want) < maxStatements {
		c.want[q] = true
	}
	c.mu.Unlock()
	if st != nil {
		return t.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.ExecContext(ctx, q, args...)
}

// prepareWanted prepares, outside any transaction, the statements that
// ran unprepared.
func (c *stmtCache) prepareWanted(ctx context.Context, app core.App) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.want) == 0 {
		return
	}
	db, ok := app.NonconcurrentDB().(*dbx.DB)
	if !ok {
		return // inside someone's transaction: keep them for later
	}
	for q := range c.want {
		if st, err := db.DB().PrepareContext(ctx, q); err == nil {
			c.stmts[q] = st
		}
		delete(c.want, q)
	}
}

// columns returns the collection's columns in a stable order.
func (c *stmtCache) columns(col *core.Collection) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := col.Id + "/" + col.Updated.String()
	if cs, ok := c.cols[key]; ok {
		return cs
	}
	names := make([]string, 0, len(col.Fields))
	for _, f := range col.Fields {
		names = append(names, f.GetName())
	}
	slices.Sort(names)
	c.cols[key] = names
	return names
}

// sqlTx returns the *sql.Tx behind a PocketBase transaction app, or nil
// when it cannot be reached (the record path is then used).
func sqlTx(tx core.App) *sql.Tx {
	dtx, ok := tx.DB().(*dbx.Tx)
	if !ok {
		return nil
	}
	b, ok := dtx.Builder.(interface{ Executor() dbx.Executor })
	if !ok {
		return nil
	}
	t, _ := b.Executor().(*sql.Tx)
	return t
}

func quote(name string) string { return "`" + name + "`" }

// values returns "(?,?,…),(…)" for rows rows of n columns.
func values(rows, n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", n), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
}

// createRun writes the run of consecutive creates of one collection that
// starts ops (at most maxInsertRows) and returns how many it wrote; 0
// means ops[0] is not a create this path takes. On failure it returns an
// *store.OpError whose Index is relative to ops.
func (s *Store) createRun(ctx context.Context, tx core.App, t *sql.Tx, ops []store.Op) (int, error) {
	if len(ops) == 0 || ops[0].Action != store.Create {
		return 0, nil
	}
	col, err := tx.FindCachedCollectionByNameOrId(ops[0].Collection)
	if err != nil {
		return 0, err
	}
	n := 1
	for n < len(ops) && n < maxInsertRows && ops[n].Action == store.Create && ops[n].Collection == ops[0].Collection {
		n++
	}
	cols := s.stmts.columns(col)
	now := types.NowDateTime()
	var autodates []string // what the autodate fields' interceptors would set
	for _, f := range col.Fields {
		if af, ok := f.(*core.AutodateField); ok && af.OnCreate {
			autodates = append(autodates, af.Name)
		}
	}
	rows := make([][]any, n)
	for i, op := range ops[:n] {
		rec := core.NewRecord(col)
		rec.Id = op.ID
		for k, v := range op.Data {
			rec.Set(k, v)
		}
		for _, name := range autodates {
			rec.SetRaw(name, now)
		}
		exp, err := rec.DBExport(tx)
		if err != nil {
			return 0, &store.OpError{Index: i, Permanent: true, Err: err}
		}
		row := make([]any, len(cols))
		for c, name := range cols {
			row[c] = exp[name]
		}
		rows[i] = row
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	insert := "INSERT INTO " + quote(col.Name) + " (" + strings.Join(quoted, ",") + ") VALUES "
	for done := 0; done < n; {
		size := sizeFor(n - done)
		if err := s.insert(ctx, t, insert, len(cols), rows[done:done+size]); err != nil {
			// SQLite rolled back the failed statement alone: find the row
			// that fails, one by one, for an exact op index
			for i := done; i < done+size; i++ {
				if rerr := s.insert(ctx, t, insert, len(cols), rows[i:i+1]); rerr != nil {
					return 0, classify(i, rerr)
				}
			}
			return 0, classify(done, err)
		}
		done += size
	}
	return n, nil
}

func (s *Store) insert(ctx context.Context, t *sql.Tx, insert string, ncols int, rows [][]any) error {
	args := make([]any, 0, len(rows)*ncols)
	for _, r := range rows {
		args = append(args, r...)
	}
	_, err := s.stmts.exec(ctx, t, insert+values(len(rows), ncols), args)
	return err
}

func classify(i int, err error) *store.OpError {
	msg := err.Error()
	unique := strings.Contains(msg, "UNIQUE constraint failed")
	return &store.OpError{Index: i, Unique: unique, Permanent: !unique && strings.Contains(msg, "constraint failed"), Err: err}
}
