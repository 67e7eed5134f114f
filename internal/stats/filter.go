package stats

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/schema"
)

// ErrBadFilter is returned for a filter that cannot be read: an unknown
// dimension, a missing ':' or an unknown goal.
var ErrBadFilter = errors.New("stats: bad filter")

// FilterDimensions are the dimensions a Filter may name, besides
// "meta.<key>" (MetaPrefix). Session dimensions select sessions (and
// their events); page, event and goal select events, and the visitor
// figures then count the sessions with at least one selected event. The
// account dimensions (user, identified, meta.<key>) are session
// dimensions read from the session's visitor: the user id and metadata
// identify() stored for it, whenever it was identified (sessions before
// identify() included).
var FilterDimensions = []string{
	"page", "entryPage", "exitPage", "referrer", "country", "region", "device", "browser", "os", "language",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "channel", "source",
	"event", "goal", "user", "identified",
}

// MetaPrefix starts a metadata dimension: "meta.plan" compares the
// identified user's metadata key "plan", as text (strings as they are,
// true and false as words, numbers as SQLite prints them).
const MetaPrefix = "meta."

// maxMetaKey bounds a metadata key in a filter.
const maxMetaKey = 64

// MaxFilters bounds the filters of one request (the API's and the
// dashboard's): each is a condition, and a referrer or goal filter a
// lookup of its own, in every query of the report, so the cost of a
// request grows with their number.
const MaxFilters = 10

// MaxFilterValue bounds a filter's value, in bytes: the longest stored
// value a filter can select is a page path (schema.MaxPath). A filter
// has one value; several values of one dimension are several filters,
// counted by MaxFilters.
const MaxFilterValue = schema.MaxPath

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
// identified takes yes or no, user a non-empty id, and a meta.<key> key
// is 1 to 64 letters, digits, '_', '-' or '.'.
func ParseFilter(s string) (Filter, error) {
	dim, v, ok := strings.Cut(s, ":")
	if !ok {
		return Filter{}, fmt.Errorf("%w: %q: use <dimension>:<value>", ErrBadFilter, s)
	}
	f := Filter{Dim: dim, Value: v}
	if strings.HasPrefix(v, "!") {
		f.Value, f.Not = v[1:], true
	}
	if len(f.Value) > MaxFilterValue {
		return Filter{}, fmt.Errorf("%w: %s: a value is at most %d bytes", ErrBadFilter, dim, MaxFilterValue)
	}
	return f, f.check()
}

// check rejects a dimension that is unknown and a value an account
// dimension cannot take.
func (f Filter) check() error {
	if key, ok := strings.CutPrefix(f.Dim, MetaPrefix); ok {
		if !validMetaKey(key) {
			return fmt.Errorf("%w: metadata key %q: use 1 to %d letters, digits, '_', '-' or '.'", ErrBadFilter, key, maxMetaKey)
		}
		return nil
	}
	if !isFilterDim(f.Dim) {
		return fmt.Errorf("%w: unknown dimension %q (use one of %s, %s<key>)", ErrBadFilter, f.Dim,
			strings.Join(FilterDimensions, ", "), MetaPrefix)
	}
	switch {
	case f.Dim == "identified" && f.Value != "yes" && f.Value != "no":
		return fmt.Errorf("%w: identified:%s: use identified:yes or identified:no", ErrBadFilter, f.Value)
	case f.Dim == "user" && f.Value == "":
		return fmt.Errorf("%w: user: needs a user id (identified:no selects the visitors without one)", ErrBadFilter)
	}
	return nil
}

// validMetaKey: the key becomes part of a JSON path, so it holds no
// quote, bracket or '$'.
func validMetaKey(k string) bool {
	if k == "" || len(k) > maxMetaKey {
		return false
	}
	for _, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		default:
			return false
		}
	}
	return true
}

// ParseFilters reads every filter parameter: at most MaxFilters.
func ParseFilters(raw []string) ([]Filter, error) {
	if len(raw) > MaxFilters {
		return nil, fmt.Errorf("%w: at most %d filters, not %d", ErrBadFilter, MaxFilters, len(raw))
	}
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
	"entryPage": "entryPath", "exitPage": "exitPath", "country": "country", "region": "state", "device": "device",
	"browser": "browser", "os": "os", "language": "language", "channel": "channel", "source": "source",
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

// visitorCond adds the session condition that s's visitor (a row of
// visitors, alias v) meets cond, or does not when neg: a session whose
// visitor has no row, or no user, is "not" every user and metadata value.
// The visitors that meet cond are listed once per statement (through the
// (website, userId) index) and each session checks its visitor against
// that list, rather than looking its visitor up one session at a time.
func (c *conds) visitorCond(neg bool, cond string) {
	c.sess = append(c.sess, not(neg, "s.visitor IN (SELECT v.id FROM visitors v WHERE v.website = {:w} AND "+cond+")"))
}

// metaText is the value at the (bound) JSON path of column col as text,
// as textValue reads a property: NULL when the key is missing.
func metaText(col, path string) string {
	return `CASE json_type(` + col + `, ` + path + `) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' ` +
		`ELSE CAST(json_extract(` + col + `, ` + path + `) AS TEXT) END`
}

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
