package goal_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/skopos-go/skopos/internal/goal"
	"github.com/skopos-go/skopos/schema"
)

func TestPatternMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern string
		yes, no []string
	}{
		{"/", []string{"/"}, []string{"", "/a", "//"}},
		{"/pricing", []string{"/pricing"}, []string{"/pricing/", "/pricing/x", "/Pricing", "/pricingx", "pricing", "/x/pricing"}},
		{"/blog/*", []string{"/blog/a", "/blog/", "/blog/a-long-post"}, []string{"/blog", "/blog/a/b", "/blog/a/", "/blogx/a"}},
		{"/docs/**", []string{"/docs", "/docs/", "/docs/x", "/docs/x/y", "/docs/x/y/"}, []string{"/docsx", "/docsx/y", "/doc", "/", "/x/docs"}},
		{"/p-*", []string{"/p-", "/p-1", "/p-abc"}, []string{"/p", "/p-1/x", "/q-1", "/xp-1"}},
		{"/*/edit", []string{"/1/edit", "//edit"}, []string{"/edit", "/1/2/edit", "/1/editx"}},
		{"/a*b*c", []string{"/abc", "/a1b2c", "/abbc"}, []string{"/ab", "/a/b/c", "/acb"}},
		{"/shop/*/**", []string{"/shop/x", "/shop/x/", "/shop/x/y/z", "/shop/"}, []string{"/shop", "/shopx/y"}},
		{"/**", []string{"/", "/a", "/a/b"}, []string{"a", "x/"}},
		// regular expression metacharacters are literal
		{"/a.b", []string{"/a.b"}, []string{"/axb", "/a/b"}},
		{"/a+b", []string{"/a+b"}, []string{"/aab", "/ab"}},
		{"/(x)", []string{"/(x)"}, []string{"/x"}},
		{"/a|b", []string{"/a|b"}, []string{"/a", "b"}},
		{"/[ab]?$^\\d{2}", []string{"/[ab]?$^\\d{2}"}, []string{"/a", "/a$^12"}},
		{"/ü/*", []string{"/ü/ö"}, []string{"/u/o"}},
		// a newline is an ordinary character (paths are stored as sent)
		{"/docs/**", []string{"/docs/a\nb"}, nil},
		{"/x/*", []string{"/x/a\nb"}, []string{"/x/a\n/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			t.Parallel()
			p, err := goal.CompilePattern(tt.pattern)
			if err != nil {
				t.Fatalf("CompilePattern(%q): %v", tt.pattern, err)
			}
			for _, path := range tt.yes {
				if !p.Match(path) {
					t.Errorf("%q does not match %q", tt.pattern, path)
				}
			}
			for _, path := range tt.no {
				if p.Match(path) {
					t.Errorf("%q matches %q", tt.pattern, path)
				}
			}
		})
	}
}

func TestCompilePatternInvalid(t *testing.T) {
	t.Parallel()
	for _, p := range []string{
		"",
		"blog/*",
		"*",
		"**",
		" /blog",
		"/docs/**/x",
		"/docs**",
		"/a**/",
		"/**/**",
		"/docs/***",
		"/\xffbad-utf8",
	} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			if _, err := goal.CompilePattern(p); !errors.Is(err, goal.ErrInvalid) {
				t.Fatalf("CompilePattern(%q) = %v; want an error wrapping ErrInvalid", p, err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	// runes, not bytes: "é" is two bytes
	runes := func(n int) string { return strings.Repeat("é", n) }
	page := func(match string) goal.Spec { return goal.Spec{Name: "p", Type: goal.Page, Match: match} }
	event := func(key, value string) goal.Spec {
		return goal.Spec{Name: "e", Type: goal.Event, Match: "signup", PropertyKey: key, PropertyValue: value}
	}
	tests := []struct {
		name  string
		spec  goal.Spec
		field string // "" = valid
	}{
		{"page", page("/blog/*"), ""},
		{"event", event("", ""), ""},
		{"event with property", event("plan", "pro"), ""},
		{"name 255", goal.Spec{Name: runes(255), Type: goal.Event, Match: "x"}, ""},
		{"name 256", goal.Spec{Name: runes(256), Type: goal.Event, Match: "x"}, "name"},
		{"no name", goal.Spec{Type: goal.Event, Match: "x"}, "name"},
		{"blank name", goal.Spec{Name: " \t", Type: goal.Event, Match: "x"}, "name"},
		{"page match 512", page("/" + runes(schema.MaxGoalMatch-1)), ""},
		{"page match 513", page("/" + runes(schema.MaxGoalMatch)), "match"},
		{"event match 512", goal.Spec{Name: "e", Type: goal.Event, Match: runes(schema.MaxGoalMatch)}, ""},
		{"event match 513", goal.Spec{Name: "e", Type: goal.Event, Match: runes(schema.MaxGoalMatch + 1)}, "match"},
		{"no match", goal.Spec{Name: "e", Type: goal.Event}, "match"},
		{"bad page pattern", page("blog"), "match"},
		{"page ** in the middle", page("/a/**/b"), "match"},
		{"event name needs no slash", goal.Spec{Name: "e", Type: goal.Event, Match: "a**b"}, ""},
		{"key 255", event(runes(255), "v"), ""},
		{"key 256", event(runes(256), "v"), "propertyKey"},
		{"value 255", event("k", runes(255)), ""},
		{"value 256", event("k", runes(256)), "propertyValue"},
		{"key without value", event("plan", ""), "propertyValue"},
		{"value without key", event("", "pro"), "propertyKey"},
		{"page with property", goal.Spec{Name: "p", Type: goal.Page, Match: "/", PropertyKey: "k", PropertyValue: "v"}, "propertyKey"},
		{"page with property value only", goal.Spec{Name: "p", Type: goal.Page, Match: "/", PropertyValue: "v"}, "propertyValue"},
		{"no type", goal.Spec{Name: "x", Match: "/"}, "type"},
		{"unknown type", goal.Spec{Name: "x", Type: "click", Match: "/"}, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.spec.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			var fe *goal.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, goal.ErrInvalid) {
				t.Fatalf("Validate() = %v (%#v); want an ErrInvalid naming %s", err, fe, tt.field)
			}
		})
	}
}

func TestParseSteps(t *testing.T) {
	t.Parallel()
	steps := func(n int) string {
		out := make([]goal.Spec, n)
		for i := range out {
			out[i] = goal.Spec{Name: fmt.Sprintf("s%d", i+1), Type: goal.Page, Match: fmt.Sprintf("/step/%d", i+1)}
		}
		b, _ := json.Marshal(out)
		return string(b)
	}
	tests := []struct {
		name, raw string
		want      int    // steps returned; 0 = refused
		errHas    string // refused: the error says this
	}{
		{"1 step", steps(1), 0, "not 1"},
		{"2 steps", steps(2), 2, ""},
		{"8 steps", steps(8), 8, ""},
		{"9 steps", steps(9), 0, "not 9"},
		{"empty array", `[]`, 0, "not 0"},
		{"null", `null`, 0, "not 0"},
		{"empty input", ``, 0, "JSON array"},
		{"bad JSON", `[{"name":"a",`, 0, "JSON array"},
		{"an object", `{"name":"a","type":"page","match":"/"}`, 0, "JSON array"},
		{"wrong field type", `[{"name":1,"type":"page","match":"/"},{"name":"b","type":"page","match":"/"}]`, 0, "JSON array"},
		{"event steps with property", `[{"name":"a","type":"event","match":"signup","propertyKey":"plan","propertyValue":"pro"},{"name":"b","type":"page","match":"/thanks"}]`, 2, ""},
		{"bad third step", `[{"name":"a","type":"page","match":"/"},{"name":"b","type":"page","match":"/b"},{"name":"c","type":"page","match":"c"}]`, 0, "step 3:"},
		{"bad first step", `[{"name":"","type":"page","match":"/"},{"name":"b","type":"page","match":"/b"}]`, 0, "step 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := goal.ParseSteps([]byte(tt.raw))
			if tt.want > 0 {
				if err != nil || len(got) != tt.want {
					t.Fatalf("ParseSteps = %d steps, %v; want %d", len(got), err, tt.want)
				}
				return
			}
			if !errors.Is(err, goal.ErrInvalid) || !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("ParseSteps = %v; want an ErrInvalid saying %q", err, tt.errHas)
			}
		})
	}
	got, err := goal.ParseSteps([]byte(`[{"name":"a","type":"event","match":"signup","propertyKey":"plan","propertyValue":"pro"},{"name":"b","type":"page","match":"/thanks"}]`))
	want := []goal.Spec{{Name: "a", Type: goal.Event, Match: "signup", PropertyKey: "plan", PropertyValue: "pro"}, {Name: "b", Type: goal.Page, Match: "/thanks"}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("ParseSteps = %+v, %v; want %+v", got, err, want)
	}
}

// globMatch is the meaning of a page pattern written directly, without
// regular expressions: "*" is any bytes but "/", a trailing "/**" the
// base path itself or anything below it.
func globMatch(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/**"); ok {
		if globMatch(base, path) {
			return true
		}
		for i := 0; i < len(path); i++ {
			if path[i] == '/' && globMatch(base, path[:i]) {
				return true
			}
		}
		return false
	}
	for pattern != "" {
		if pattern[0] == '*' {
			for i := 0; ; i++ {
				if globMatch(pattern[1:], path[i:]) {
					return true
				}
				if i == len(path) || path[i] == '/' {
					return false
				}
			}
		}
		if path == "" || path[0] != pattern[0] {
			return false
		}
		pattern, path = pattern[1:], path[1:]
	}
	return path == ""
}

// FuzzCompilePattern: compiling never panics; a compiled pattern without
// "*" matches exactly its own text; every compiled pattern agrees with
// globMatch.
func FuzzCompilePattern(f *testing.F) {
	for _, seed := range [][2]string{
		{"/blog/*", "/blog/a"}, {"/docs/**", "/docs/x/y"}, {"/p-*", "/p-1"}, {"/a.b", "/axb"},
		{"/(x)", "/(x)"}, {"/**", "/"}, {"/a/**/b", "/a/x/b"}, {"blog", "blog"}, {"/x\n/**", "/x\n/a\nb"},
		{"/a*b*", "/aXbY"}, {"/\xff", "/\xff"}, {"/é*", "/éé"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if len(pattern) > 64 || len(path) > 64 {
			return // globMatch backtracks; short inputs find the same bugs
		}
		p, err := goal.CompilePattern(pattern)
		if err != nil {
			if !errors.Is(err, goal.ErrInvalid) {
				t.Fatalf("CompilePattern(%q) = %v, not wrapping ErrInvalid", pattern, err)
			}
			return
		}
		if !strings.HasPrefix(pattern, "/") || !utf8.ValidString(pattern) {
			t.Fatalf("CompilePattern accepted %q", pattern)
		}
		if !strings.Contains(pattern, "*") {
			if !p.Match(pattern) {
				t.Fatalf("%q does not match itself", pattern)
			}
			if got := p.Match(path); got != (path == pattern) {
				t.Fatalf("%q.Match(%q) = %v; a pattern without * is equality", pattern, path, got)
			}
		}
		// stored paths are text (valid UTF-8); the regular expression
		// reads an invalid byte as U+FFFD, the reference a byte at a time
		if !utf8.ValidString(path) {
			return
		}
		if got, want := p.Match(path), globMatch(pattern, path); got != want {
			t.Fatalf("%q.Match(%q) = %v; want %v", pattern, path, got, want)
		}
	})
}
