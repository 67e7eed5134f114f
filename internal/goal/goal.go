// Package goal is what a goal or a funnel step means: a page path pattern
// or a custom event name (optionally with one property equal to a value),
// how such a definition is validated, and how a page pattern matches a
// stored path. The stats package turns goals into queries; the plugin's
// record hooks validate what owners save.
package goal

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/skopos-go/skopos/schema"
)

// ErrInvalid is wrapped by every validation error of this package.
var ErrInvalid = errors.New("goal: invalid definition")

// Types of goals and steps.
const (
	Page  = "page"
	Event = "event"
)

// Spec is one goal or one funnel step.
type Spec struct {
	Name string `json:"name"`
	// Type is Page or Event.
	Type string `json:"type"`
	// Match is, for Page, a path pattern: literal characters, "*" for
	// any characters within one path segment (no "/"), and an optional
	// trailing "/**" for the path itself or anything below it
	// ("/docs/**" matches /docs, /docs/ and /docs/a/b). For Event, the
	// custom event name, compared exactly.
	Match string `json:"match"`
	// PropertyKey and PropertyValue, for Event only, also require the
	// event's property PropertyKey to equal PropertyValue (compared as
	// text: true, 12 and "12" are "true", "12" and "12"). Both or neither.
	PropertyKey   string `json:"propertyKey,omitempty"`
	PropertyValue string `json:"propertyValue,omitempty"`
}

// FieldError is a validation error of one field of a Spec; every error
// Validate returns is one. It wraps ErrInvalid.
type FieldError struct {
	// Field is the field's JSON name: name, type, match, propertyKey or
	// propertyValue (also the goals collection's field names).
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)}
}

// FromRecord reads a goal (a goals record, with its propertyKey and
// propertyValue) from anything with PocketBase's GetString, such as a
// *core.Record, without this package depending on PocketBase.
func FromRecord(r interface{ GetString(string) string }) Spec {
	return Spec{Name: r.GetString("name"), Type: r.GetString("type"), Match: r.GetString("match"),
		PropertyKey: r.GetString("propertyKey"), PropertyValue: r.GetString("propertyValue")}
}

// Validate reports the first problem of s as a *FieldError wrapping
// ErrInvalid.
func (s Spec) Validate() error {
	switch {
	case strings.TrimSpace(s.Name) == "":
		return invalid("name", "a name is required")
	case utf8.RuneCountInString(s.Name) > 255:
		return invalid("name", "name longer than 255 characters")
	case s.Match == "":
		return invalid("match", "%q: match is required", s.Name)
	case utf8.RuneCountInString(s.Match) > schema.MaxGoalMatch:
		return invalid("match", "%q: match longer than %d characters", s.Name, schema.MaxGoalMatch)
	case utf8.RuneCountInString(s.PropertyKey) > 255:
		return invalid("propertyKey", "%q: property key longer than 255 characters", s.Name)
	case utf8.RuneCountInString(s.PropertyValue) > 255:
		return invalid("propertyValue", "%q: property value longer than 255 characters", s.Name)
	}
	switch s.Type {
	case Page:
		if s.PropertyKey != "" || s.PropertyValue != "" {
			field := "propertyKey"
			if s.PropertyKey == "" {
				field = "propertyValue"
			}
			return invalid(field, "%q: a page goal has no property", s.Name)
		}
		if _, err := CompilePattern(s.Match); err != nil {
			return &FieldError{Field: "match", Err: err}
		}
		return nil
	case Event:
		switch {
		case s.PropertyKey != "" && s.PropertyValue == "":
			return invalid("propertyValue", "%q: propertyKey %q needs a propertyValue", s.Name, s.PropertyKey)
		case s.PropertyKey == "" && s.PropertyValue != "":
			return invalid("propertyKey", "%q: propertyValue needs a propertyKey", s.Name)
		}
		return nil
	}
	return invalid("type", "%q: type must be %q or %q, not %q", s.Name, Page, Event, s.Type)
}

// Pattern is a compiled page path pattern.
type Pattern struct {
	re *regexp.Regexp
}

// CompilePattern compiles a page pattern (see Spec.Match).
func CompilePattern(p string) (*Pattern, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("%w: page pattern %q must start with /", ErrInvalid, p)
	}
	if !utf8.ValidString(p) {
		return nil, fmt.Errorf("%w: page pattern %q is not valid UTF-8", ErrInvalid, p)
	}
	body, rest := p, ""
	if strings.HasSuffix(p, "/**") {
		body, rest = strings.TrimSuffix(p, "/**"), `(?:/.*)?`
	}
	if strings.Contains(body, "**") {
		return nil, fmt.Errorf("%w: page pattern %q: ** only as the last segment (/**)", ErrInvalid, p)
	}
	var b strings.Builder
	// s: "/**" matches anything below, newlines included (a path is
	// stored as the page sent it)
	b.WriteString(`(?s)^`)
	for i, part := range strings.Split(body, "*") {
		if i > 0 {
			b.WriteString(`[^/]*`)
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	b.WriteString(rest + `$`)
	re, err := regexp.Compile(b.String())
	if err != nil { // cannot happen: the parts are quoted
		return nil, fmt.Errorf("%w: page pattern %q: %v", ErrInvalid, p, err)
	}
	return &Pattern{re: re}, nil
}

// Match reports whether the stored path matches.
func (p *Pattern) Match(path string) bool { return p.re.MatchString(path) }

// ParseSteps reads and validates a funnel's steps: a JSON array of
// MinFunnelSteps to MaxFunnelSteps specs.
func ParseSteps(raw []byte) ([]Spec, error) {
	var steps []Spec
	if err := json.Unmarshal(raw, &steps); err != nil {
		return nil, fmt.Errorf("%w: steps must be a JSON array of {name, type, match}: %v", ErrInvalid, err)
	}
	if len(steps) < schema.MinFunnelSteps || len(steps) > schema.MaxFunnelSteps {
		return nil, fmt.Errorf("%w: a funnel has %d to %d steps, not %d", ErrInvalid, schema.MinFunnelSteps, schema.MaxFunnelSteps, len(steps))
	}
	for i, s := range steps {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return steps, nil
}
