package dashboard

import (
	"errors"
	"net/http"
	"net/url"
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
	"event": "Custom event", "goal": "Goal",
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
}

// segmentChip is the chip of the page's segment=.
type segmentChip struct {
	ID, Name, RemoveURL string
}

// filters builds the chips of the reader's own filters (rd.own), of its
// segment and of the segment its shared link is pinned to.
func (rd *reader) filters(p stats.Period, link func(url.Values) string) filterView {
	v := viewFilters(p, rd.own, link)
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
