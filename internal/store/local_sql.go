package store

import (
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
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

// sqlWrite writes an Update or Upsert of plain values with one statement;
// handled=false leaves the op to the record path.
func sqlWrite(tx core.App, op Op) (handled bool, err error) {
	fields, ok := sqlFields(op.Data)
	if !ok || (op.Action != Update && op.Action != Upsert) {
		return false, nil
	}
	now := types.NowDateTime().String()
	params := dbx.Params{"id": op.ID, "now": now}
	var set, cols, vals []string
	for i, f := range fields {
		p := fmt.Sprintf("p%d", i)
		params[p] = f.value
		cols = append(cols, "[["+f.col+"]]")
		vals = append(vals, "{:"+p+"}")
		if f.delta != 0 {
			set = append(set, fmt.Sprintf("[[%s]] = [[%s]] + {:%s}", f.col, f.col, p))
		} else {
			set = append(set, fmt.Sprintf("[[%s]] = {:%s}", f.col, p))
		}
	}
	set = append(set, "[[updated]] = {:now}")
	table := "{{" + op.Collection + "}}"
	if op.Action == Update {
		res, err := tx.DB().NewQuery("UPDATE " + table + " SET " + strings.Join(set, ", ") + " WHERE [[id]] = {:id}").Bind(params).Execute()
		if err != nil {
			return true, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return true, ErrNotFound
		}
		return true, nil
	}
	q := "INSERT INTO " + table + " ([[id]], [[created]], [[updated]], " + strings.Join(cols, ", ") + ") VALUES ({:id}, {:now}, {:now}, " +
		strings.Join(vals, ", ") + ") ON CONFLICT([[id]]) DO UPDATE SET " + strings.Join(set, ", ")
	_, err = tx.DB().NewQuery(q).Bind(params).Execute()
	return true, err
}
