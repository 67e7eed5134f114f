package hourly

import (
	"fmt"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/pipeline"
)

// Build writes a website's summaries of the UTC days in [from, to) from
// its raw rows, for days that have no summary rows yet (a data dir whose
// raw rows were written by another program: a Skopos Node installation
// being adopted). Each day's breakdown keys are capped at maxKeys per
// dimension, the most counted first, the rest under "(other)". JS errors
// are not among them (js_errors holds lifetime counts, see the package
// doc). It returns how many days it wrote. Run it in a transaction:
// a day's rows are written with bulk SQL, no record hooks.
func Build(tx core.App, website string, from, to time.Time, maxKeys int) (int, error) {
	if maxKeys <= 0 {
		maxKeys = pipeline.DefaultMaxDimensionKeys
	}
	from, to = from.UTC().Truncate(24*time.Hour), to.UTC()
	st := &statements{db: tx.DB(), prepared: map[string]*dbx.Query{}}
	defer st.close()
	m := &migration{tx: tx, st: st, website: website, maxKeys: maxKeys, now: types.NowDateTime().String(), res: &Result{}}
	days := map[string]*day{}
	var order []string
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		k := d.Format(time.DateOnly)
		days[k] = &day{start: d, raw: map[hourItem]int{}}
		order = append(order, k)
	}
	var stored []string
	if err := tx.DB().NewQuery(`SELECT DISTINCT substr(date, 1, 10) FROM dash_sum WHERE website = {:w} AND date >= {:from} AND date < {:to}`).
		Bind(dbx.Params{"w": website, "from": pbDate(from), "to": pbDate(to)}).Column(&stored); err != nil {
		return 0, fmt.Errorf("hourly: dash_sum: %w", err)
	}
	for _, k := range stored {
		delete(days, k) // summarized already: leave it
	}
	if err := m.window(days, from, to); err != nil {
		return 0, fmt.Errorf("hourly: website %s: %w", website, err)
	}
	built := 0
	for _, k := range order {
		d := days[k]
		if d == nil || (d.hours == [24]counters{} && len(d.raw) == 0) {
			continue
		}
		if _, err := m.write(d, m.capKeys(d, map[string]map[string]bool{})); err != nil {
			return built, fmt.Errorf("hourly: website %s, %s: %w", website, k, err)
		}
		built++
	}
	return built, nil
}
