package stats

import (
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/pocketbase/dbx"
)

// PageEngagement is how long and how far one page was read: the medians
// over the period's page views of it that sent engagement (a beacon when
// the page was hidden or left; pages viewed without the script's
// engagement, or before it existed, do not count).
type PageEngagement struct {
	Path string `json:"path"`
	// Views is the number of page views with engagement data.
	Views int `json:"views"`
	// MedianSeconds is the median engaged time (visible, focused, not
	// idle over 30 s), each page view's counted in whole tenths of a
	// second (cut, not rounded), the median rounded half up to a tenth.
	MedianSeconds float64 `json:"medianSeconds"`
	// MedianScroll is the median of the deepest scroll, in percent of
	// the page (100 for a page without scroll).
	MedianScroll float64 `json:"medianScroll"`
}

// pageEngagement computes the engagement of the pages listed (the top
// pages), honoring the filters, from the raw rows: each page's engaged
// times (in whole tenths of a second) and scroll depths (whole percents)
// are counted, and the medians read from the counts.
func (q *querier) pageEngagement(p Period, pages []Item) ([]PageEngagement, error) {
	if len(pages) == 0 {
		return []PageEngagement{}, nil
	}
	if s := q.streamed; s != nil && s.from.Equal(p.From) && s.to.Equal(p.To) {
		return engagementOf(pages, s.engagement), nil
	}
	if q.ch != nil {
		return q.chPageEngagement(p, pages)
	}
	params := dbx.Params{}
	var in []string
	for i, it := range pages {
		k := fmt.Sprintf("pg%d", i)
		params[k] = it.Key
		in = append(in, "{:"+k+"}")
	}
	from := q.eventsFrom() + ` AND e.type = 'pageView' AND e.path IN (` + strings.Join(in, ", ") +
		`) AND (e.engagedMs > 0 OR e.scrollDepth > 0)`
	// the rows are read as a stream into per-page counts (a covering,
	// partial index serves them): no row is kept, no path copied
	rs, err := q.db.NewQuery(`SELECT e.path, CAST(e.engagedMs AS INTEGER), CAST(e.scrollDepth AS INTEGER)` + from).
		WithContext(q.ctx).Bind(q.params(p, params)).Rows()
	if err != nil {
		return nil, fmt.Errorf("stats: page engagement: %w", err)
	}
	defer rs.Close()
	byPath := make(map[string]*engagementCounts, len(pages))
	for _, it := range pages {
		byPath[it.Key] = newEngagementCounts()
	}
	var (
		path      sql.RawBytes
		ms, depth int
	)
	for rs.Next() {
		if err := rs.Scan(&path, &ms, &depth); err != nil {
			return nil, fmt.Errorf("stats: page engagement: %w", err)
		}
		if c := byPath[string(path)]; c != nil {
			c.add(ms, depth)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("stats: page engagement: %w", err)
	}
	return engagementOf(pages, byPath), nil
}

// engagementCounts holds one page's engaged page views: how many engaged
// each tenth of a second and scrolled each percent.
type engagementCounts struct {
	tenths map[int]int
	scroll [101]int
}

func newEngagementCounts() *engagementCounts { return &engagementCounts{tenths: map[int]int{}} }

// add counts one page view with engagement (ms > 0 or depth > 0).
func (c *engagementCounts) add(ms, depth int) {
	c.tenths[ms/100]++
	c.scroll[min(max(depth, 0), 100)]++
}

// engagementOf is the engagement of pages, in their order, from the
// counts of their page views (pages without any are left out).
func engagementOf(pages []Item, byPath map[string]*engagementCounts) []PageEngagement {
	out := []PageEngagement{}
	for _, it := range pages {
		c := byPath[it.Key]
		if c == nil || len(c.tenths) == 0 {
			continue
		}
		tenths := make([]bucket, 0, len(c.tenths))
		for v, n := range c.tenths {
			tenths = append(tenths, bucket{v, n})
		}
		var scroll []bucket
		for v, n := range c.scroll {
			if n > 0 {
				scroll = append(scroll, bucket{v, n})
			}
		}
		med, views := medianOf(tenths)
		sc, _ := medianOf(scroll)
		out = append(out, PageEngagement{Path: it.Key, Views: views,
			MedianSeconds: math.Floor(med+0.5) / 10, MedianScroll: sc})
	}
	return out
}

// bucket is how many page views (n) had one value (v).
type bucket struct{ v, n int }

// medianOf is the median of the values the buckets count (the mean of the
// two middle ones for an even count) and how many values there are.
func medianOf(bs []bucket) (float64, int) {
	sort.Slice(bs, func(i, j int) bool { return bs[i].v < bs[j].v })
	total := 0
	for _, b := range bs {
		total += b.n
	}
	if total == 0 {
		return 0, 0
	}
	// the values at 0-based positions lo and hi (equal for an odd count)
	lo, hi := (total-1)/2, total/2
	var vlo, vhi, seen int
	for _, b := range bs {
		if lo >= seen && lo < seen+b.n {
			vlo = b.v
		}
		if hi >= seen && hi < seen+b.n {
			vhi = b.v
			break
		}
		seen += b.n
	}
	return float64(vlo+vhi) / 2, total
}

// The reserved names of the browser script's automatic events.
const (
	EventOutbound = "Outbound Link: Click"
	EventDownload = "File Download"
	Event404      = "404"
	EventForm     = "Form: Submit"
)

// AutoEvents are the reserved events in the order their cards show.
var AutoEvents = []string{EventOutbound, EventDownload, Event404, EventForm}

// AutoEventItem is one row of an automatic event's card: its value (the
// link's URL, the form's id or name; "" for a 404) on one page.
type AutoEventItem struct {
	Value    string `json:"value"`
	Page     string `json:"page"`
	Visitors int    `json:"visitors"` // sessions
	Count    int    `json:"count"`
}

// autoEvents breaks each automatic event with data in the period down by
// value and page (at most n rows each, most frequent first), honoring the
// filters, from the raw rows.
func (q *querier) autoEvents(p Period, n int) (map[string][]AutoEventItem, error) {
	if q.ch != nil {
		rows, err := q.chAutoEvents(p)
		return autoEventItems(rows, n), err
	}
	var rows []autoEventRow
	err := q.db.NewQuery(`SELECT e.eventName AS name, COALESCE(CASE e.eventName
			WHEN {:form} THEN json_extract(e.eventData, '$.form')
			WHEN {:e404} THEN ''
			ELSE json_extract(e.eventData, '$.url') END, '') AS value,
		e.path AS page, COUNT(DISTINCT e.session) AS visitors, COUNT(*) AS n` + q.eventsFirst() +
		` AND e.type = 'custom' AND e.eventName IN ({:out}, {:dl}, {:e404}, {:form}) GROUP BY name, value, page`).
		WithContext(q.ctx).Bind(q.params(p, dbx.Params{"out": EventOutbound, "dl": EventDownload, "e404": Event404, "form": EventForm})).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("stats: automatic events: %w", err)
	}
	return autoEventItems(rows, n), nil
}

// autoEventRow is one automatic event's count on one value and page.
type autoEventRow struct {
	Name     string `db:"name" json:"name"`
	Value    string `db:"value" json:"value"`
	Page     string `db:"page" json:"page"`
	Visitors int    `db:"visitors" json:"visitors"`
	Count    int    `db:"n" json:"n"`
}

// autoEventItems are the cards of the rows: per event, its top n.
func autoEventItems(rows []autoEventRow, n int) map[string][]AutoEventItem {
	out := map[string][]AutoEventItem{}
	for _, r := range rows {
		out[r.Name] = append(out[r.Name], AutoEventItem{Value: r.Value, Page: r.Page, Visitors: r.Visitors, Count: r.Count})
	}
	for name, items := range out {
		sort.Slice(items, func(i, j int) bool {
			a, b := items[i], items[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			if a.Value != b.Value {
				return a.Value < b.Value
			}
			return a.Page < b.Page
		})
		out[name] = items[:min(len(items), n)]
	}
	return out
}
