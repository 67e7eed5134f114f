package stats

import (
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
	// idle over 30 s), in seconds to a tenth.
	MedianSeconds float64 `json:"medianSeconds"`
	// MedianScroll is the median of the deepest scroll, in percent of
	// the page (100 for a page without scroll).
	MedianScroll float64 `json:"medianScroll"`
}

// pageEngagement computes the engagement of the pages listed (the top
// pages), honoring the filters, from the raw rows.
func (q *querier) pageEngagement(p Period, pages []Item) ([]PageEngagement, error) {
	out := []PageEngagement{}
	if len(pages) == 0 {
		return out, nil
	}
	params := dbx.Params{}
	var in []string
	for i, it := range pages {
		k := fmt.Sprintf("pg%d", i)
		params[k] = it.Key
		in = append(in, "{:"+k+"}")
	}
	var rows []struct {
		Path   string `db:"path"`
		Ms     int    `db:"ms"`
		Scroll int    `db:"scroll"`
	}
	err := q.db.NewQuery(`SELECT e.path AS path, e.engagedMs AS ms, e.scrollDepth AS scroll` + q.eventsFrom() +
		` AND e.type = 'pageView' AND e.path IN (` + strings.Join(in, ", ") + `) AND (e.engagedMs > 0 OR e.scrollDepth > 0)`).
		WithContext(q.ctx).Bind(q.params(p, params)).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("stats: page engagement: %w", err)
	}
	ms, scroll := map[string][]int{}, map[string][]int{}
	for _, r := range rows {
		ms[r.Path] = append(ms[r.Path], r.Ms)
		scroll[r.Path] = append(scroll[r.Path], r.Scroll)
	}
	for _, it := range pages { // in the top list's order
		if len(ms[it.Key]) == 0 {
			continue
		}
		out = append(out, PageEngagement{Path: it.Key, Views: len(ms[it.Key]),
			MedianSeconds: math.Round(median(ms[it.Key])/100) / 10, MedianScroll: median(scroll[it.Key])})
	}
	return out, nil
}

// median is the middle value of xs (the mean of the two middle ones for
// an even count); xs is sorted in place.
func median(xs []int) float64 {
	sort.Ints(xs)
	n := len(xs)
	if n%2 == 1 {
		return float64(xs[n/2])
	}
	return float64(xs[n/2-1]+xs[n/2]) / 2
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
	var rows []struct {
		Name     string `db:"name"`
		Value    string `db:"value"`
		Page     string `db:"page"`
		Visitors int    `db:"visitors"`
		Count    int    `db:"n"`
	}
	err := q.db.NewQuery(`SELECT e.eventName AS name, COALESCE(CASE e.eventName
			WHEN {:form} THEN json_extract(e.eventData, '$.form')
			WHEN {:e404} THEN ''
			ELSE json_extract(e.eventData, '$.url') END, '') AS value,
		e.path AS page, COUNT(DISTINCT e.session) AS visitors, COUNT(*) AS n` + q.eventsFrom() +
		` AND e.type = 'custom' AND e.eventName IN ({:out}, {:dl}, {:e404}, {:form}) GROUP BY name, value, page`).
		WithContext(q.ctx).Bind(q.params(p, dbx.Params{"out": EventOutbound, "dl": EventDownload, "e404": Event404, "form": EventForm})).All(&rows)
	if err != nil {
		return nil, fmt.Errorf("stats: automatic events: %w", err)
	}
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
	return out, nil
}
