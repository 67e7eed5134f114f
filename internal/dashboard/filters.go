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

// dimLabels name the filter dimensions in chips.
var dimLabels = map[string]string{
	"page": "Page", "entryPage": "Entry page", "exitPage": "Exit page", "referrer": "Referrer",
	"country": "Country", "device": "Device", "browser": "Browser", "os": "OS", "language": "Language",
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

// filterChip is the text of f's chip: "Country is DE", and for the
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
