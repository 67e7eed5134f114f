package stats

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/goal"
)

// ErrBadFilter is returned for a filter that cannot be read: an unknown
// dimension, a missing ':' or an unknown goal.
var ErrBadFilter = errors.New("stats: bad filter")

// FilterDimensions are the dimensions a Filter may name. Session
// dimensions select sessions (and their events); page, event and goal
// select events, and the visitor figures then count the sessions with at
// least one selected event.
var FilterDimensions = []string{
	"page", "entryPage", "exitPage", "referrer", "country", "device", "browser", "os", "language",
	"utm_source", "utm_medium", "utm_campaign", "event", "goal",
}

// Filter is one condition: Dim equals Value, or differs from it when Not.
// Values are the keys the breakdowns list: "Unknown" for a session
// without country (device, browser, os, language), "Direct" for a
// session without referrer, a referrer's host without "www.".
type Filter struct {
	Dim   string `json:"dimension"`
	Value string `json:"value"`
	Not   bool   `json:"not,omitempty"`
}

// String is the filter as the API's filter parameter spells it.
func (f Filter) String() string {
	v := f.Value
	if f.Not {
		v = "!" + v
	}
	return f.Dim + ":" + v
}

// ParseFilter reads "<dimension>:<value>" or "<dimension>:!<value>".
func ParseFilter(s string) (Filter, error) {
	dim, v, ok := strings.Cut(s, ":")
	if !ok {
		return Filter{}, fmt.Errorf("%w: %q: use <dimension>:<value>", ErrBadFilter, s)
	}
	if !isFilterDim(dim) {
		return Filter{}, fmt.Errorf("%w: unknown dimension %q (use one of %s)", ErrBadFilter, dim, strings.Join(FilterDimensions, ", "))
	}
	f := Filter{Dim: dim, Value: v}
	if strings.HasPrefix(v, "!") {
		f.Value, f.Not = v[1:], true
	}
	return f, nil
}

// ParseFilters reads every filter parameter.
func ParseFilters(raw []string) ([]Filter, error) {
	out := make([]Filter, 0, len(raw))
	for _, s := range raw {
		f, err := ParseFilter(s)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func isFilterDim(d string) bool {
	for _, x := range FilterDimensions {
		if x == d {
			return true
		}
	}
	return false
}

// sessionColumn is the sessions column of a plain session dimension.
var sessionColumn = map[string]string{
	"entryPage": "entryPath", "exitPage": "exitPath", "country": "country", "device": "device",
	"browser": "browser", "os": "os", "language": "language",
}

// conds are the SQL conditions the filters (and goals) turn into. Event
// conditions are written for any alias of events (a subquery uses e2),
// session conditions for alias s.
type conds struct {
	params dbx.Params
	sess   []string
	ev     []func(alias string) string
	n      int
}

func newConds() *conds { return &conds{params: dbx.Params{}} }

// param binds v and returns its placeholder.
func (c *conds) param(v any) string {
	name := "c" + strconv.Itoa(c.n)
	c.n++
	c.params[name] = v
	return "{:" + name + "}"
}

func not(neg bool, expr string) string {
	if neg {
		return "NOT (" + expr + ")"
	}
	return "(" + expr + ")"
}

// textValue is a JSON property's value as text, the way goals and the
// properties breakdown compare and list it: strings as they are, true and
// false as words, numbers as SQLite prints them, objects and arrays as
// JSON.
const textValue = `CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' ELSE CAST(j.value AS TEXT) END`

// goalCond is the condition an event of alias a meets when it counts for
// g. Page patterns with "*" are resolved with resolve into the stored
// paths they match.
func (c *conds) goalCond(g goal.Spec, resolve func(prefix string, p *goal.Pattern) ([]string, error)) (func(a string) string, error) {
	if g.Type == goal.Event {
		name := c.param(g.Match)
		prop := ""
		if g.PropertyKey != "" {
			prop = fmt.Sprintf(` AND EXISTS (SELECT 1 FROM json_each(%%[1]s.eventData) j WHERE j.key = %s AND %s = %s)`,
				c.param(g.PropertyKey), textValue, c.param(g.PropertyValue))
		}
		return func(a string) string {
			return fmt.Sprintf(`%[1]s.type = 'custom' AND %[1]s.eventName = `+name+prop, a)
		}, nil
	}
	pat, err := goal.CompilePattern(g.Match)
	if err != nil {
		return nil, err
	}
	body, subtree := strings.CutSuffix(g.Match, "/**")
	if !strings.Contains(body, "*") {
		// no wildcard in a segment: plain comparisons on the index
		eq := c.param(body)
		if !subtree {
			return func(a string) string { return fmt.Sprintf(`%[1]s.type = 'pageView' AND %[1]s.path = `+eq, a) }, nil
		}
		lo, hi := c.param(body+"/"), c.param(body+"0") // '0' follows '/'
		return func(a string) string {
			return fmt.Sprintf(`%[1]s.type = 'pageView' AND (%[1]s.path = `+eq+` OR (%[1]s.path >= `+lo+` AND %[1]s.path < `+hi+`))`, a)
		}, nil
	}
	prefix, _, _ := strings.Cut(body, "*")
	paths, err := resolve(prefix, pat)
	if err != nil {
		return nil, err
	}
	list := c.param(jsonList(paths))
	return func(a string) string {
		return fmt.Sprintf(`%[1]s.type = 'pageView' AND %[1]s.path IN (SELECT value FROM json_each(`+list+`))`, a)
	}, nil
}

// upper is the smallest string above every string with prefix p.
func upper(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\xff\xff\xff\xff"
}
