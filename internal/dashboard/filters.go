package dashboard

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/skopos-go/skopos/internal/stats"
)

// requestFilters reads the repeated ?filter=<dimension>:<value>
// parameters (at most stats.MaxFilters, as the API takes).
func requestFilters(r *http.Request) ([]stats.Filter, error) {
	return stats.ParseFilters(r.URL.Query()["filter"])
}

// badFilter is the message of a 400 for a filter the page cannot apply.
func badFilter(err error) string {
	return "That filter is not valid: " + strings.TrimPrefix(strings.TrimPrefix(err.Error(), stats.ErrBadFilter.Error()), ": ") + "."
}

// isBadRequest reports whether err is the user's (a bad period or filter).
func isBadRequest(err error) (string, bool) {
	switch {
	case errors.Is(err, stats.ErrBadFilter):
		return badFilter(err), true
	case errors.Is(err, stats.ErrBadPeriod):
		return badPeriod(err), true
	}
	return "", false
}

// viewQuery is the query that selects the period and the filters again.
func viewQuery(p stats.Period, fs []stats.Filter) url.Values {
	q := periodQuery(p)
	for _, f := range fs {
		q.Add("filter", f.String())
	}
	return q
}

// viewQuery is viewQuery of the reader's own filters, with its segment:
// for the links that leave the reader's pages (rd.url adds the segment
// itself).
func (rd *reader) viewQuery(p stats.Period) url.Values {
	q := viewQuery(p, rd.own)
	if rd.seg != nil {
		q.Set("segment", rd.seg.ID)
	}
	return q
}

// dimLabels name the filter dimensions in chips.
var dimLabels = map[string]string{
	"page": "Page", "entryPage": "Entry page", "exitPage": "Exit page", "referrer": "Referrer",
	"country": "Country", "region": "Region", "device": "Device", "browser": "Browser", "os": "OS", "language": "Language",
	"utm_source": "UTM source", "utm_medium": "UTM medium", "utm_campaign": "UTM campaign",
	"utm_term": "UTM term", "utm_content": "UTM content", "channel": "Channel", "source": "Source",
	"event": "Custom event", "goal": "Goal", "user": "User ID", "identified": "Identified",
}

// filterView is what a page shows of its filters: chips to remove or
// negate each, and the hidden inputs that keep them across the period
// form.
type filterView struct {
	Chips    []chip
	Params   []string // filter parameter values, for hidden inputs
	ClearURL string
	// Segment is the saved segment the page applies (nil: none), a chip
	// of its own; Pinned names the segment a shared link is pinned to,
	// which its reader cannot remove.
	Segment *segmentChip
	Pinned  string
	// Picker is the "+ Filter" form; nil on a page that readView did
	// not read.
	Picker *filterPicker
}

// filterPicker is the "+ Filter" form: a plain GET form to the page
// itself, whose fdim, fop and fval addedFilter turns into a filter=
// (the page's other parameters ride along as hidden inputs); app.js
// suggests values from SuggestURL as one types.
type filterPicker struct {
	Action     string
	Hidden     []hiddenInput
	Dims       []dimOption
	SuggestURL string
	MaxValue   int
}

// dimOption is a dimension of the picker's select.
type dimOption struct{ Value, Label string }

// pickerDims are the dimensions the picker offers, in the order of
// stats.FilterDimensions (metadata keys are typed in URLs only).
func pickerDims() []dimOption {
	out := make([]dimOption, 0, len(stats.FilterDimensions))
	for _, d := range stats.FilterDimensions {
		out = append(out, dimOption{d, dimLabels[d]})
	}
	return out
}

// picker is the "+ Filter" form of the page rd.here, which keeps its
// parameters but the page number (a new filter starts the list again).
func (rd *reader) picker(p stats.Period) *filterPicker {
	if rd.here == nil {
		return nil
	}
	fp := &filterPicker{Action: rd.here.Path, Dims: pickerDims(), MaxValue: stats.MaxFilterValue,
		SuggestURL: rd.url("suggest", rd.viewQuery(p))}
	q := rd.here.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "page" || slices.Contains(pickerParams, k) {
			continue
		}
		for _, v := range q[k] {
			fp.Hidden = append(fp.Hidden, hiddenInput{k, v})
		}
	}
	return fp
}

// pickerParams are the "+ Filter" form's own fields.
var pickerParams = []string{"fdim", "fop", "fval"}

// addedFilter answers a submitted "+ Filter" form (fdim, fop, fval): a
// redirect to the same page with that filter in place of the filters
// on its dimension, the other parameters kept but the page number; or
// 400 for a filter that cannot be read. A country may be named
// ("Germany"): the filter keeps its code. It returns false, having
// answered nothing, for any other request.
func (s *server) addedFilter(w http.ResponseWriter, r *http.Request, rd *reader) bool {
	q := r.URL.Query()
	if !q.Has("fdim") {
		return false
	}
	raw := q.Get("fdim") + ":" + strings.TrimSpace(q.Get("fval"))
	if q.Get("fop") == "not" {
		raw = q.Get("fdim") + ":!" + strings.TrimSpace(q.Get("fval"))
	}
	f, err := stats.ParseFilter(raw)
	if err != nil {
		s.fail(w, r, rd.u, http.StatusBadRequest, badFilter(err))
		return true
	}
	f.Value = keyCode(f.Dim, f.Value)
	fs, err := requestFilters(r)
	if err != nil {
		s.fail(w, r, rd.u, http.StatusBadRequest, badFilter(err))
		return true
	}
	for _, k := range append([]string{"page", "filter"}, pickerParams...) {
		q.Del(k)
	}
	for _, g := range withFilter(fs, f) {
		q.Add("filter", g.String())
	}
	http.Redirect(w, r, withQuery(r.URL.Path, q), http.StatusSeeOther)
	return true
}

// segmentChip is the chip of the page's segment=.
type segmentChip struct {
	ID, Name, RemoveURL string
}

// filters builds the chips of the reader's own filters (rd.own), of its
// segment and of the segment its shared link is pinned to.
func (rd *reader) filters(p stats.Period, link func(url.Values) string) filterView {
	v := viewFilters(p, rd.own, link)
	v.Picker = rd.picker(p)
	if rd.seg != nil {
		v.Segment = &segmentChip{ID: rd.seg.ID, Name: rd.seg.Name, RemoveURL: withoutParam(link(viewQuery(p, rd.own)), "segment")}
	}
	if rd.link != nil {
		v.Pinned = rd.link.Segment
		if rd.pinned() && v.Pinned == "" {
			v.Pinned = "(unnamed)"
		}
	}
	return v
}

// withoutParam is the URL u without its query parameter key.
func withoutParam(u, key string) string {
	path, raw, _ := strings.Cut(u, "?")
	q, err := url.ParseQuery(raw)
	if err != nil {
		return path
	}
	q.Del(key)
	return withQuery(path, q)
}

type chip struct {
	Label, Op, Value string
	RemoveURL        string
	ToggleURL        string
	ToggleLabel      string
}

// viewFilters builds the chips of fs; link turns a query into the URL of
// the same page.
func viewFilters(p stats.Period, fs []stats.Filter, link func(url.Values) string) filterView {
	v := filterView{ClearURL: link(periodQuery(p))}
	for i, f := range fs {
		c := filterChip(f)
		rest := append(append([]stats.Filter{}, fs[:i]...), fs[i+1:]...)
		c.RemoveURL = link(viewQuery(p, rest))
		toggled := append([]stats.Filter{}, fs...)
		toggled[i].Not = !f.Not
		c.ToggleURL = link(viewQuery(p, toggled))
		v.Chips = append(v.Chips, c)
		v.Params = append(v.Params, f.String())
	}
	return v
}

// filterChip is the text of f's chip: "Country is Germany", and for the
// account filters "User: abc", "Identified: yes" and "plan = pro" (a
// metadata key as the site named it); negated "User: not abc",
// "Identified: no" and "plan is not pro".
func filterChip(f stats.Filter) chip {
	c := chip{Label: dimLabels[f.Dim], Op: "is", Value: f.Value, ToggleLabel: "is not"}
	if f.Not {
		c.Op, c.ToggleLabel = "is not", "is"
	}
	switch key, meta := strings.CutPrefix(f.Dim, stats.MetaPrefix); {
	case meta:
		c.Label = key
		if !f.Not {
			c.Op = "="
		}
	case f.Dim == "user":
		c.Label, c.Op = "User:", ""
		if f.Not {
			c.Op = "not"
		}
	case f.Dim == "identified":
		// "not yes" is "no": the chip says which, and offers the other
		c.Label, c.Op, c.Value, c.ToggleLabel = "Identified:", "", "yes", "no"
		if f.Not == (f.Value == "yes") {
			c.Value, c.ToggleLabel = "no", "yes"
		}
	case c.Label == "":
		c.Label = f.Dim
	case f.Dim == "country" || f.Dim == "region":
		// the name; the filter and its URL keep the code
		c.Value = keyName(f.Dim, f.Value)
	}
	return c
}

// withFilter is fs with f in place of the filters on f's dimension: two
// values of one dimension would select nothing.
func withFilter(fs []stats.Filter, f stats.Filter) []stats.Filter {
	out := make([]stats.Filter, 0, len(fs)+1)
	for _, g := range fs {
		if g.Dim != f.Dim {
			out = append(out, g)
		}
	}
	return append(out, f)
}

// hiddenInputs are q's values as a form's hidden fields, in the order of
// their names: a map's order would change the page from one request to
// the next.
func hiddenInputs(q url.Values) []hiddenInput {
	var out []hiddenInput
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			out = append(out, hiddenInput{k, v})
		}
	}
	return out
}
