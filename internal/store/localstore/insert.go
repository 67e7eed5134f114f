package localstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Multi-row INSERTs are written OR FAIL rather than with SQLite's default
// ABORT: an ABORT statement that writes several rows inside a transaction
// copies every page it touches into a statement journal first, so that it
// can undo itself alone, and that copying measured 15 % of the writer's
// CPU. OR FAIL needs no journal but keeps the rows before a failing one,
// so a failure rolls the transaction back and Apply runs it again in
// precise mode (one row per statement, plain INSERT), which names the
// failing op exactly. Failures are rare (a duplicate after a lost reply).

// errPrecise asks Apply to rerun the transaction in precise mode.
var errPrecise = errors.New("localstore: rerun row by row")

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
	convs map[string]*rowConverter
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[string]*sql.Stmt{}, want: map[string]bool{}, cols: map[string][]string{}, convs: map[string]*rowConverter{}}
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

// converter returns the collection's row converter, built once per
// version of the collection.
func (c *stmtCache) converter(app core.App, col *core.Collection) (*rowConverter, error) {
	cols := c.columns(col)
	key := col.Id + "/" + col.Updated.String()
	c.mu.Lock()
	conv := c.convs[key]
	c.mu.Unlock()
	if conv != nil {
		return conv, nil
	}
	conv, err := newRowConverter(app, col, cols)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.convs[key] = conv
	c.mu.Unlock()
	return conv, nil
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
func (s *Store) createRun(ctx context.Context, tx core.App, t *sql.Tx, ops []store.Op, precise bool) (int, error) {
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
	conv, err := s.stmts.converter(tx, col)
	if err != nil {
		return 0, err
	}
	cols := conv.cols
	now := types.NowDateTime()
	scratch := core.NewRecord(col)
	rows := make([][]any, n)
	for i, op := range ops[:n] {
		row, err := conv.row(scratch, op, now)
		if err != nil {
			return 0, &store.OpError{Index: i, Permanent: true, Err: err}
		}
		rows[i] = row
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	verb := "INSERT OR FAIL INTO "
	if precise {
		verb = "INSERT INTO "
	}
	insert := verb + quote(col.Name) + " (" + strings.Join(quoted, ",") + ") VALUES "
	for done := 0; done < n; {
		size := sizeFor(n - done)
		if precise {
			size = 1
		}
		if err := s.insert(ctx, t, insert, len(cols), rows[done:done+size]); err != nil {
			if !precise {
				// OR FAIL kept the rows before the failing one: only a
				// rerun of the transaction row by row can name the op
				return 0, errPrecise
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

// rowConverter turns an op's data into a row of its collection's columns
// exactly as core.NewRecord + Record.Set + Record.DBExport would, without
// building a record per row (that measured 9 % of the writer's CPU): the
// row of a new record is exported once, and each value set goes through
// the field's own setter and DriverValue on one scratch record.
type rowConverter struct {
	cols      []string
	pos       map[string]int // column → index in cols
	zero      []any          // DBExport of a new record, in cols order
	setters   map[string]fieldSetter
	autodates []int // OnCreate autodate columns
}

type fieldSetter struct {
	field  core.Field
	set    core.SetterFunc // nil: the field's PrepareValue
	driver core.DriverValuer
}

func newRowConverter(app core.App, col *core.Collection, cols []string) (*rowConverter, error) {
	zero, err := core.NewRecord(col).DBExport(app)
	if err != nil {
		return nil, err
	}
	c := &rowConverter{cols: cols, pos: make(map[string]int, len(cols)), zero: make([]any, len(cols)), setters: map[string]fieldSetter{}}
	for i, name := range cols {
		c.pos[name] = i
		c.zero[i] = zero[name]
	}
	for _, f := range col.Fields {
		if af, ok := f.(*core.AutodateField); ok && af.OnCreate {
			c.autodates = append(c.autodates, c.pos[af.Name])
		}
	}
	// the setter Record.Set would pick: the first field that has one
	// for the key, else the field of that name with its PrepareValue
	for _, name := range cols {
		for _, f := range col.Fields {
			var fs fieldSetter
			if sf, ok := f.(core.SetterFinder); ok {
				if set := sf.FindSetter(name); set != nil {
					fs = fieldSetter{field: f, set: set}
				}
			}
			if fs.field == nil && f.GetName() == name {
				fs = fieldSetter{field: f}
			}
			if fs.field == nil {
				continue
			}
			fs.driver, _ = fs.field.(core.DriverValuer)
			c.setters[name] = fs
			break
		}
	}
	return c, nil
}

// row converts op; scratch is a record of the collection that only this
// call uses.
func (c *rowConverter) row(scratch *core.Record, op store.Op, now types.DateTime) ([]any, error) {
	row := slices.Clone(c.zero)
	row[c.pos["id"]] = op.ID
	for k, v := range op.Data {
		fs, ok := c.setters[k]
		if !ok || fs.field.GetName() != k || k == "id" {
			return nil, fmt.Errorf("localstore: %q is not a column of its own", k)
		}
		if fs.set != nil {
			fs.set(scratch, v)
		} else {
			pv, _ := fs.field.PrepareValue(scratch, v)
			scratch.SetRaw(k, pv)
		}
		if fs.driver != nil {
			dv, err := fs.driver.DriverValue(scratch)
			if err != nil {
				return nil, err
			}
			row[c.pos[k]] = dv
		} else {
			row[c.pos[k]] = scratch.GetRaw(k)
		}
	}
	for _, i := range c.autodates {
		row[i] = now
	}
	return row, nil
}
