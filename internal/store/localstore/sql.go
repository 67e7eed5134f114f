package localstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/store"
)

// The in-process store writes updates and upserts of plain values (the
// pipeline's session updates, summary rows and JS error counters) as one
// SQL statement each, inside the same transaction as the record creates:
// `count = count + n` in SQL instead of a find, a full record validation
// and a save. These rows skip PocketBase's record hooks (and so realtime
// notifications); creates of visitors, sessions and events still go
// through core.App with validation and hooks.

// sqlValue converts a plain Go value to what PocketBase stores; ok=false
// for anything else (JSON objects), which takes the record path.
func sqlValue(v any) (any, bool) {
	switch x := v.(type) {
	case string, bool, int, int64, float64:
		return x, true
	case time.Time:
		return x.UTC().Format(types.DefaultDateLayout), true
	}
	return nil, false
}

type sqlField struct {
	col   string
	value any
	delta int // +1 / -1 for "col+" / "col-" modifiers, 0 for a plain set
}

func sqlFields(data map[string]any) ([]sqlField, bool) {
	out := make([]sqlField, 0, len(data))
	for k, v := range data {
		f := sqlField{col: k}
		switch {
		case strings.HasSuffix(k, "+"):
			f.col, f.delta = strings.TrimSuffix(k, "+"), 1
		case strings.HasSuffix(k, "-"):
			f.col, f.delta = strings.TrimSuffix(k, "-"), -1
		}
		val, ok := sqlValue(v)
		if !ok || !validColumn(f.col) {
			return nil, false
		}
		if f.delta != 0 {
			n, isNum := val.(int)
			if !isNum {
				return nil, false
			}
			val = n * f.delta
		}
		f.value = val
		out = append(out, f)
	}
	return out, true
}

func validColumn(c string) bool {
	if c == "" || c == "id" || c == "created" || c == "updated" {
		return false
	}
	for _, r := range c {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// sqlWrite writes an Update or Upsert of plain values with one
// statement; handled=false leaves the op to the record path.
func (s *Store) sqlWrite(ctx context.Context, t *sql.Tx, op store.Op) (handled bool, err error) {
	if t == nil || (op.Action != store.Update && op.Action != store.Upsert) {
		return false, nil
	}
	fields, ok := sqlFields(op.Data)
	if !ok {
		return false, nil
	}
	// a stable column order, so that one shape is one prepared statement
	slices.SortFunc(fields, func(a, b sqlField) int { return strings.Compare(a.col, b.col) })
	now := types.NowDateTime().String()
	var set, cols []string
	var setArgs, valArgs []any
	for _, f := range fields {
		cols = append(cols, quote(f.col))
		valArgs = append(valArgs, f.value)
		if f.delta != 0 {
			set = append(set, quote(f.col)+" = "+quote(f.col)+" + ?")
		} else {
			set = append(set, quote(f.col)+" = ?")
		}
		setArgs = append(setArgs, f.value)
	}
	set = append(set, "`updated` = ?")
	setArgs = append(setArgs, now)
	table := quote(op.Collection)
	if op.Action == store.Update {
		res, err := s.stmts.exec(ctx, t, "UPDATE "+table+" SET "+strings.Join(set, ", ")+" WHERE `id` = ?", append(setArgs, op.ID))
		if err != nil {
			return true, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return true, store.ErrNotFound
		}
		return true, nil
	}
	q := "INSERT INTO " + table + " (`id`, `created`, `updated`, " + strings.Join(cols, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(cols)+3), ", ") + ") ON CONFLICT(`id`) DO UPDATE SET " + strings.Join(set, ", ")
	args := append(append([]any{op.ID, now, now}, valArgs...), setArgs...)
	_, err = s.stmts.exec(ctx, t, q, args)
	return true, err
}

// maxRunRows bounds the rows of one multi-row upsert statement.
const maxRunRows = 64

// sqlUpsertRun writes a run (≥ 2 rows, of a size in rowSizes) of
// consecutive plain-value upserts into one collection with the same
// fields as one INSERT … ON CONFLICT(id) DO UPDATE statement;
// "field+"/"field-" become field = field + excluded.field, so the inserted
// value is the delta. It returns how many ops it wrote (0: no such run;
// the caller writes ops[0] on its own). The ids of a run are distinct (the
// pipeline aggregates per chunk), as SQLite requires.
func (s *Store) sqlUpsertRun(ctx context.Context, t *sql.Tx, ops []store.Op) (int, error) {
	// (updates stay single statements: SQLite's UPDATE … FROM a VALUES
	// list measured slower than one UPDATE per row)
	if t == nil || len(ops) < 2 || ops[0].Action != store.Upsert {
		return 0, nil
	}
	first, ok := sqlFields(ops[0].Data)
	if !ok {
		return 0, nil
	}
	shape := fieldShape(first)
	rows := [][]sqlField{first}
	seen := map[string]bool{ops[0].ID: true}
	for _, op := range ops[1:min(len(ops), maxRunRows)] {
		if op.Action != ops[0].Action || op.Collection != ops[0].Collection || seen[op.ID] {
			break
		}
		f, ok := sqlFields(op.Data)
		if !ok || fieldShape(f) != shape {
			break
		}
		rows = append(rows, f)
		seen[op.ID] = true
	}
	rows = rows[:sizeFor(len(rows))]
	if len(rows) < 2 {
		return 0, nil
	}
	cols := strings.Split(shape, ",")
	now := types.NowDateTime().String()
	args := make([]any, 0, len(rows)*(len(cols)+3))
	for r, fs := range rows {
		m := make(map[string]any, len(fs))
		for _, f := range fs {
			m[f.col] = f.value
		}
		args = append(args, ops[r].ID, now, now)
		for _, col := range cols {
			args = append(args, m[strings.TrimRight(col, "+")])
		}
	}
	var colSQL, set []string
	for _, col := range cols {
		name := quote(strings.TrimRight(col, "+"))
		colSQL = append(colSQL, name)
		if strings.HasSuffix(col, "+") {
			set = append(set, name+" = "+name+" + excluded."+name)
		} else {
			set = append(set, name+" = excluded."+name)
		}
	}
	set = append(set, "`updated` = excluded.`updated`")
	q := "INSERT INTO " + quote(ops[0].Collection) + " (`id`, `created`, `updated`, " + strings.Join(colSQL, ", ") +
		") VALUES " + values(len(rows), len(cols)+3) + " ON CONFLICT(`id`) DO UPDATE SET " + strings.Join(set, ", ")
	_, err := s.stmts.exec(ctx, t, q, args)
	return len(rows), err
}

// fieldShape names a row's columns in order, "+" marking deltas.
func fieldShape(fs []sqlField) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.col
		if f.delta != 0 {
			names[i] += "+"
		}
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}
