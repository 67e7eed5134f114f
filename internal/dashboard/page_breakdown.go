package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/skopos-go/skopos/internal/stats"
)

// breakdownPageSize is how many keys one page of "Show all" lists.
const breakdownPageSize = 50

// metricLabels name what a breakdown counts (stats.BreakdownMetric).
var metricLabels = map[string]string{"visitors": "Visitors", "pageviews": "Pageviews", "events": "Events"}

// metricLabel is the column header of dim's count.
func metricLabel(dim string) string { return metricLabels[stats.BreakdownMetric(dim)] }

// breakdownDims are the dimensions "Show all" lists, from the cards:
// their title, key label and filter dimension.
func breakdownDims() map[string]tableDef {
	out := map[string]tableDef{}
	for _, c := range cardDefs {
		for _, td := range c.tables {
			if td.caption == "" {
				td.caption = c.title
			}
			out[td.dim] = td
		}
	}
	return out
}

type breakdownData struct {
	Site     siteView
	Period   periodView
	Filters  filterView
	Title    string
	Dim      string
	KeyLabel string
	// KeySort and MetricSort are the column headers' links.
	KeySort, MetricSort sortHeader
	Search              string
	MaxSearch           int
	Action              string
	Hidden              []hiddenInput
	Rows                []breakdownRowView
	Total               int
	Page, Pages         int
	PrevURL, NextURL    string
	BackURL             string
}

// sortHeader is a sortable column's header: the link sorts by it (the
// other way when it is the current sort).
type sortHeader struct {
	Label, Href string
	Sort        string // aria-sort: ascending, descending, none
}

type breakdownRowView struct {
	Key, Percent, Share, Href string
	Count                     int
}

// breakdownPage lists every key of one dimension ("Show all" under a
// card), paged by the stats package: searchable (GET form), sortable by
// key or count, each key a link that filters the site page.
func (s *server) breakdownPage(w http.ResponseWriter, r *http.Request, rd *reader) {
	dim := r.PathValue("dim")
	td, ok := breakdownDims()[dim]
	if !ok {
		s.notFound(w, r, rd.u)
		return
	}
	req, leave, ok := s.readView(w, r, rd)
	if !ok {
		return
	}
	defer leave()
	q := r.URL.Query()
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(1, min(page, stats.MaxBreakdownOffset/breakdownPageSize))
	search := q.Get("q")
	if len(search) > stats.MaxBreakdownSearch {
		s.fail(w, r, rd.u, http.StatusBadRequest, "The search is too long.")
		return
	}
	sortBy, order := q.Get("sort"), q.Get("order")
	if sortBy != "key" {
		sortBy = "" // the metric
	}
	if order != "asc" && order != "desc" {
		order = ""
	}
	breq := stats.BreakdownRequest{Request: req, Dimension: dim,
		Search: search, Sort: sortBy, Order: order, Limit: breakdownPageSize, Offset: (page - 1) * breakdownPageSize}
	if dim == "country" || dim == "region" {
		// what the rows show: "germ" finds DE
		breq.Name = func(k string) string { return keyName(dim, k) }
	}
	res, err := stats.Breakdown(r.Context(), s.app, rd.site.Id, breq)
	if errors.Is(err, stats.ErrBadBreakdown) {
		s.fail(w, r, rd.u, http.StatusBadRequest, "This list cannot be shown: "+strings.TrimPrefix(err.Error(), stats.ErrBadBreakdown.Error()+": ")+".")
		return
	}
	if err != nil {
		s.queryFailed(w, r, rd.u, err)
		return
	}
	p, fs := req.Period, rd.own
	base := rd.viewQuery(p) // period, filters, segment
	sub := "breakdown/" + url.PathEscape(dim)
	// link is this page with the search and sort kept, and kv set
	link := func(kv ...string) string {
		v := with(base, "q", search)
		if search == "" {
			v.Del("q")
		}
		if sortBy != "" {
			v.Set("sort", sortBy)
		}
		if order != "" {
			v.Set("order", order)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return rd.url(sub, v)
	}
	d := breakdownData{Site: s.readerSite(rd), Period: viewPeriod(p), Title: td.caption, Dim: dim, KeyLabel: td.keyLabel,
		Search: search, MaxSearch: stats.MaxBreakdownSearch, Action: rd.url(sub, nil), Total: res.Total, Page: page,
		Pages: max(1, (res.Total+breakdownPageSize-1)/breakdownPageSize), BackURL: rd.url("", viewQuery(p, fs))}
	d.Filters = rd.filters(p, func(v url.Values) string { return rd.url(sub, v) })
	d.Hidden = hiddenInputs(base)
	if sortBy != "" {
		d.Hidden = append(d.Hidden, hiddenInput{"sort", sortBy})
	}
	if order != "" {
		d.Hidden = append(d.Hidden, hiddenInput{"order", order})
	}
	// the current order, as Breakdown defaults it
	curAsc := order == "asc" || (order == "" && sortBy == "key")
	header := func(label, by string, active bool) sortHeader {
		l := sortHeader{Label: label, Sort: "none"}
		next := "asc"
		if by == "" {
			next = "desc" // counts read highest first
		}
		if active {
			l.Sort, next = "descending", "asc"
			if curAsc {
				l.Sort, next = "ascending", "desc"
			}
		}
		sortVal := by
		if sortVal == "" {
			sortVal = stats.BreakdownMetric(dim)
		}
		l.Href = link("sort", sortVal, "order", next, "page", "1")
		return l
	}
	d.KeySort = header(td.keyLabel, "key", sortBy == "key")
	d.MetricSort = header(metricLabel(dim), "", sortBy == "")
	top := 0
	for _, row := range res.Rows {
		top = max(top, row.Count())
	}
	for _, row := range res.Rows {
		v := breakdownRowView{Key: row.Key, Count: row.Count(), Percent: percent(row.Percent), Share: barWidth(row.Count(), top)}
		if row.Key == "" {
			v.Key = emptyKeyLabel(dim)
		} else {
			v.Key = keyName(dim, row.Key)
		}
		if td.filter != "" && row.Key != otherKey {
			v.Href = rd.url("", viewQuery(p, withFilter(fs, stats.Filter{Dim: td.filter, Value: row.Key})))
		}
		d.Rows = append(d.Rows, v)
	}
	if page > 1 {
		d.PrevURL = link("page", strconv.Itoa(page-1))
	}
	if page < d.Pages {
		d.NextURL = link("page", strconv.Itoa(page+1))
	}
	s.render(w, http.StatusOK, "breakdown", rd.page(td.caption+" · "+rd.site.GetString("name"), d))
}
