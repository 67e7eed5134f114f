package dashboard

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// Bounds of the "+ Filter" suggestions.
const (
	suggestDefault = 10
	maxSuggest     = 20
)

// suggestion is one value the "+ Filter" form offers: Value is what the
// filter compares, Label what the form shows and puts in its input (a
// country's or region's name, keyName; addedFilter reads it back as the
// code).
type suggestion struct {
	Value string `json:"value"`
	Label string `json:"label"`
	Count int    `json:"count,omitempty"`
}

type suggestions struct {
	Dimension string       `json:"dimension"`
	Metric    string       `json:"metric,omitempty"`
	Values    []suggestion `json:"values"`
}

// suggestDims are the breakdowns whose keys a filter dimension takes.
var suggestDims = map[string]string{"event": "customEvent"}

// suggest answers the "+ Filter" form's value suggestions as JSON: the
// top values of ?dim= containing ?q= in the page's period under its
// filters (those on dim left out: the new filter replaces them) and
// segment, the goals for goal, yes and no for identified, none for a
// user id.
func (s *server) suggest(w http.ResponseWriter, r *http.Request, rd *reader) {
	q := r.URL.Query()
	dim, search := q.Get("dim"), q.Get("q")
	limit := suggestDefault
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSuggest {
			writeJSONError(w, "limit must be 1.."+strconv.Itoa(maxSuggest))
			return
		}
		limit = n
	}
	switch {
	case !slices.Contains(stats.FilterDimensions, dim):
		writeJSONError(w, "unknown dimension "+strconv.Quote(dim)+": use one of "+strings.Join(stats.FilterDimensions, ", "))
		return
	case len(search) > stats.MaxFilterValue:
		writeJSONError(w, "q is at most "+strconv.Itoa(stats.MaxFilterValue)+" bytes")
		return
	}
	// the suggestions of a dimension ignore the page's filters on it
	kept := r.Clone(r.Context())
	fq := kept.URL.Query()
	fq.Del("filter")
	for _, f := range q["filter"] {
		if d, _, _ := strings.Cut(f, ":"); d != dim {
			fq.Add("filter", f)
		}
	}
	kept.URL.RawQuery = fq.Encode()
	req, leave, ok := s.readView(w, kept, rd)
	if !ok {
		return
	}
	defer leave()
	out := suggestions{Dimension: dim, Values: []suggestion{}}
	var err error
	switch dim {
	case "user":
		// ids are not listed to whoever holds the page: typed only
	case "identified":
		for _, v := range []string{"yes", "no"} {
			if strings.Contains(v, strings.ToLower(search)) {
				out.Values = append(out.Values, suggestion{Value: v, Label: v})
			}
		}
	case "goal":
		out.Values, err = s.goalSuggestions(rd.site.Id, search, limit)
	default:
		out.Metric, out.Values, err = breakdownSuggestions(r, s, rd, req, dim, search, limit)
	}
	if err != nil {
		s.queryFailed(w, r, rd.u, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// breakdownSuggestions are the top keys of dim's breakdown containing
// search: Breakdown searches at most stats.MaxBreakdownSearch bytes, so
// a longer search is narrowed here.
func breakdownSuggestions(r *http.Request, s *server, rd *reader, req stats.Request, dim, search string, limit int) (string, []suggestion, error) {
	bdim := dim
	if d, ok := suggestDims[dim]; ok {
		bdim = d
	}
	head := search
	for len(head) > stats.MaxBreakdownSearch {
		_, size := utf8.DecodeLastRuneInString(head)
		head = head[:len(head)-size]
	}
	// countries and regions by name too, "Germany", "Bayern, Germany"
	// (addedFilter reads the name back as the code)
	label := func(k string) string { return keyName(dim, k) }
	breq := stats.BreakdownRequest{Request: req, Dimension: bdim, Search: head, Limit: stats.MaxBreakdownLimit, Name: label}
	res, err := stats.Breakdown(r.Context(), s.app, rd.site.Id, breq)
	if err != nil {
		return "", nil, err
	}
	out := []suggestion{}
	needle := strings.ToLower(search)
	for _, row := range res.Rows {
		if len(out) == limit {
			break
		}
		l := label(row.Key)
		if row.Key != "" && (strings.Contains(strings.ToLower(row.Key), needle) || strings.Contains(strings.ToLower(l), needle)) {
			out = append(out, suggestion{Value: row.Key, Label: l, Count: row.Count()})
		}
	}
	return res.Metric, out, nil
}

// goalSuggestions are the website's goals whose name contains search,
// by name.
func (s *server) goalSuggestions(siteID, search string, limit int) ([]suggestion, error) {
	recs, err := s.app.FindAllRecords(schema.Goals, dbx.HashExp{"website": siteID})
	if err != nil {
		return nil, err
	}
	sortByName(recs)
	out := []suggestion{}
	needle := strings.ToLower(search)
	for _, g := range recs {
		name := g.GetString("name")
		if len(out) < limit && strings.Contains(strings.ToLower(name), needle) {
			out = append(out, suggestion{Value: name, Label: name})
		}
	}
	return out, nil
}

// writeJSON answers v as JSON; the escaping of '<', '>' and '&' keeps a
// stored value inert even where a browser would sniff the body as HTML.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONError answers 400 with the reason.
func writeJSONError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
}
