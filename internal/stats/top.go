package stats

import (
	"fmt"
	"sort"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/schema"
)

// The breakdowns ("top lists"): the top keys of every dimension.

// dimRow is one key of a breakdown as a query returns it.
type dimRow struct {
	Dim   string `db:"dim"`
	Key   string `db:"key"`
	Count int    `db:"n"`
}

// emptyTop is a breakdown map with every dimension present.
func emptyTop() map[string][]Item {
	out := map[string][]Item{}
	for _, d := range schema.Dimensions {
		out[d] = []Item{}
	}
	return out
}

// sortItems orders a breakdown: highest count first, then by key.
func sortItems(items []Item) {
	sort.Slice(items, func(i, j int) bool {
		if items[i].Count != items[j].Count {
			return items[i].Count > items[j].Count
		}
		return items[i].Key < items[j].Key
	})
}

// counts accumulates breakdown counts by dimension and key.
type counts map[string]map[string]int

func (c counts) add(dim, key string, n int) {
	if c[dim] == nil {
		c[dim] = map[string]int{}
	}
	c[dim][key] += n
}

// utcDay is the UTC midnight of t, or of the next day when up and t is
// not a midnight.
func utcDay(t time.Time, up bool) time.Time {
	d := t.UTC().Truncate(24 * time.Hour)
	if up && d.Before(t) {
		d = d.Add(24 * time.Hour)
	}
	return d
}

// summaryParts splits p into the whole UTC days the daily breakdown
// summaries serve (nil for none) and the partial days at its ends, which
// the raw rows count.
func summaryParts(p Period) (days *Period, edges []Period) {
	d0, d1 := utcDay(p.From, true), utcDay(p.To, false)
	if !d0.Before(d1) { // no whole UTC day inside
		return nil, []Period{p}
	}
	if p.From.Before(d0) {
		edges = append(edges, Period{From: p.From, To: d0})
	}
	if d1.Before(p.To) {
		edges = append(edges, Period{From: d1, To: p.To})
	}
	return &Period{From: d0, To: d1}, edges
}

// top returns the topN keys of every dimension of a period the summaries
// serve (useSummaries). The breakdown summaries are daily (UTC): the whole
// UTC days inside the period are read from them and the partial days at
// its ends (a site in another time zone) from the raw rows.
func (q *querier) top(p Period, n int) (map[string][]Item, error) {
	c := counts{}
	days, edges := summaryParts(p)
	if days != nil {
		limit := ""
		if len(edges) == 0 {
			// the summaries alone decide the ranking
			limit = " WHERE rn <= {:n}"
		}
		var rows []dimRow
		err := q.db.NewQuery(`SELECT dim, key, n FROM (
				SELECT dimension AS dim, key, SUM(count) AS n,
					ROW_NUMBER() OVER (PARTITION BY dimension ORDER BY SUM(count) DESC, key) AS rn
				FROM dash_sum_items WHERE website = {:w} AND date >= {:from} AND date < {:to} AND dimension != 'jsError'
				GROUP BY dimension, key HAVING SUM(count) > 0)` + limit).
			WithContext(q.ctx).Bind(q.params(*days, dbx.Params{"n": n})).All(&rows)
		if err != nil {
			return nil, fmt.Errorf("stats: top: %w", err)
		}
		for _, r := range rows {
			c.add(r.Dim, r.Key, r.Count)
		}
	}
	for _, e := range edges {
		_, _, items, err := q.raw(e, 0)
		if err != nil {
			return nil, err
		}
		for dim, list := range items {
			for _, it := range list {
				c.add(dim, it.Key, it.Count)
			}
		}
	}
	out := map[string][]Item{}
	for _, d := range schema.Dimensions {
		items := make([]Item, 0, len(c[d]))
		for k, n := range c[d] {
			if n > 0 {
				items = append(items, Item{Key: k, Count: n})
			}
		}
		sortItems(items)
		out[d] = items[:min(n, len(items))]
	}
	return out, q.jsErrorTop(p, n, out)
}

// jsErrorTop sets out["jsError"]: JS errors by message are counted per
// UTC day, so over the UTC days p touches; none under filters (error
// groups are not linked to sessions).
func (q *querier) jsErrorTop(p Period, n int, out map[string][]Item) error {
	if q.filtered() {
		delete(out, "jsError")
		return nil
	}
	var js []dimRow
	err := q.db.NewQuery(`SELECT 'jsError' AS dim, key, SUM(count) AS n FROM dash_sum_items
		WHERE website = {:w} AND date >= {:from} AND date < {:to} AND dimension = 'jsError'
		GROUP BY key HAVING n > 0 ORDER BY n DESC, key LIMIT {:n}`).
		WithContext(q.ctx).Bind(q.params(Period{From: utcDay(p.From, false), To: utcDay(p.To, true)}, dbx.Params{"n": n})).All(&js)
	out["jsError"] = []Item{}
	for _, r := range js {
		out["jsError"] = append(out["jsError"], Item{Key: r.Key, Count: r.Count})
	}
	return err
}
