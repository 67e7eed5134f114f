package hourly

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/schema"
)

// statements writes rows with statements prepared once per migration:
// multi-row INSERTs for new rows, UPDATEs and DELETEs by id for the rows
// a day has. INSERT OR FAIL: a statement that writes several rows
// otherwise journals every page it touches first, to undo itself alone
// (see internal/store/localstore); a failure fails the whole migration
// anyway.
type statements struct {
	db       dbx.Builder
	prepared map[string]*dbx.Query
	sums     [][]any
	items    [][]any
}

// insertRows bounds the rows of one INSERT statement.
const insertRows = 64

var (
	sumCols  = append(append([]string{"id", "created", "updated", "website", "date"}, counterCols...), "jsErrors")
	itemCols = []string{"id", "created", "updated", "website", "date", "dimension", "key", "count"}
)

// query returns the statement q, prepared on first use.
func (st *statements) query(q string) (*dbx.Query, error) {
	if p := st.prepared[q]; p != nil {
		return p, nil
	}
	p := st.db.NewQuery(q).Prepare()
	if p.LastError != nil {
		return nil, p.LastError
	}
	st.prepared[q] = p
	return p, nil
}

func (st *statements) close() {
	for _, q := range st.prepared {
		_ = q.Close()
	}
}

func (st *statements) exec(q string, params dbx.Params) error {
	p, err := st.query(q)
	if err != nil {
		return err
	}
	_, err = p.Bind(params).Execute()
	return err
}

func (st *statements) insertSum(id, website, date string, c counters, now string) {
	row := []any{id, now, now, website, date}
	for _, v := range c {
		row = append(row, v)
	}
	st.sums = append(st.sums, append(row, 0)) // no JS errors on a new hour
}

func (st *statements) insertItem(id, website, date, dim, key string, n int, now string) {
	st.items = append(st.items, []any{id, now, now, website, date, dim, key, n})
}

func (st *statements) updateSum(id string, c counters, now string) error {
	params := dbx.Params{"id": id, "updated": now}
	var set []string
	for i, col := range counterCols {
		params[col] = c[i]
		set = append(set, quote(col)+" = {:"+col+"}")
	}
	return st.exec("UPDATE `dash_sum` SET "+strings.Join(set, ", ")+", `updated` = {:updated} WHERE `id` = {:id}", params)
}

func (st *statements) updateItem(id string, n int, now string) error {
	return st.exec("UPDATE `dash_sum_items` SET `count` = {:n}, `updated` = {:updated} WHERE `id` = {:id}",
		dbx.Params{"id": id, "n": n, "updated": now})
}

func (st *statements) deleteItem(id string) error {
	return st.exec("DELETE FROM `dash_sum_items` WHERE `id` = {:id}", dbx.Params{"id": id})
}

// flush inserts the rows gathered.
func (st *statements) flush() error {
	if err := st.insert(schema.DashSum, sumCols, st.sums); err != nil {
		return err
	}
	st.sums = st.sums[:0]
	if err := st.insert(schema.DashSumItems, itemCols, st.items); err != nil {
		return err
	}
	st.items = st.items[:0]
	return nil
}

func (st *statements) insert(table string, cols []string, rows [][]any) error {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quote(c)
	}
	for len(rows) > 0 {
		n := min(len(rows), insertRows)
		if n < insertRows && n > 1 {
			n = 1 << (bits.Len(uint(n)) - 1) // a few statement shapes: 64, 32, …, 1 rows
		}
		params := dbx.Params{}
		values := make([]string, n)
		for r, row := range rows[:n] {
			ph := make([]string, len(row))
			for c, v := range row {
				name := "p" + strconv.Itoa(r) + "_" + strconv.Itoa(c)
				params[name] = v
				ph[c] = "{:" + name + "}"
			}
			values[r] = "(" + strings.Join(ph, ", ") + ")"
		}
		q := "INSERT OR FAIL INTO " + quote(table) + " (" + strings.Join(quoted, ", ") + ") VALUES " + strings.Join(values, ", ")
		if err := st.exec(q, params); err != nil {
			return fmt.Errorf("%s insert: %w", table, err)
		}
		rows = rows[n:]
	}
	return nil
}

func quote(name string) string { return "`" + name + "`" }
