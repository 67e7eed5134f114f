package botdetect

import (
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// isbotList is the pattern list of the npm package isbot (data/isbot.txt,
// version in data/SOURCE.md, public domain): case-insensitive JavaScript
// regular expressions, one per line. scripts/update-bot-data.sh refreshes
// it.
//
//go:embed data/isbot.txt
var isbotList string

// patternSet matches a user agent against a list of case-insensitive
// patterns: those Go's regexp reads joined into one expression, those
// with JavaScript lookarounds (RE2 has none) one by one (lookPattern).
type patternSet struct {
	joined *regexp.Regexp // nil when every pattern has lookarounds
	looks  []lookPattern
}

// lookPattern is a pattern of the form
// [(?<!A|B…)]core[(?!C)]: a match of core counts unless the text right
// before it ends with one of notBefore or the text right after it starts
// with notAfter.
type lookPattern struct {
	core      *regexp.Regexp
	notBefore []string // lower case
	notAfter  *regexp.Regexp
}

// compilePatterns compiles patterns (JavaScript syntax, matched ignoring
// case); it fails naming the first pattern it cannot read.
func compilePatterns(patterns []string) (*patternSet, error) {
	ps := &patternSet{}
	var plain []string
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		if !strings.Contains(p, "(?<!") && !strings.Contains(p, "(?!") && !strings.Contains(p, "(?=") && !strings.Contains(p, "(?<=") {
			if _, err := regexp.Compile(p); err != nil {
				return nil, fmt.Errorf("bot pattern %q: %w", p, err)
			}
			plain = append(plain, "(?:"+p+")")
			continue
		}
		lp, err := parseLook(p)
		if err != nil {
			return nil, fmt.Errorf("bot pattern %q: %w", p, err)
		}
		ps.looks = append(ps.looks, lp)
	}
	if len(plain) > 0 {
		re, err := regexp.Compile("(?i)" + strings.Join(plain, "|"))
		if err != nil {
			return nil, fmt.Errorf("bot patterns: %w", err)
		}
		ps.joined = re
	}
	return ps, nil
}

// parseLook reads a leading negative lookbehind of plain alternatives and
// a trailing negative lookahead; anything else is refused.
func parseLook(p string) (lookPattern, error) {
	var lp lookPattern
	if rest, ok := strings.CutPrefix(p, "(?<!"); ok {
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return lp, fmt.Errorf("unclosed lookbehind")
		}
		for _, alt := range strings.Split(rest[:end], "|") {
			if strings.ContainsAny(alt, `\[]()*+?.{}^$`) {
				return lp, fmt.Errorf("lookbehind %q is not a list of plain strings", rest[:end])
			}
			lp.notBefore = append(lp.notBefore, strings.ToLower(alt))
		}
		p = rest[end+1:]
	}
	if i := strings.LastIndex(p, "(?!"); i >= 0 {
		if !strings.HasSuffix(p, ")") {
			return lp, fmt.Errorf("the lookahead must end the pattern")
		}
		re, err := regexp.Compile("(?i)^(?:" + p[i+3:len(p)-1] + ")")
		if err != nil {
			return lp, err
		}
		lp.notAfter, p = re, p[:i]
	}
	if strings.Contains(p, "(?<") || strings.Contains(p, "(?=") || strings.Contains(p, "(?!") {
		return lp, fmt.Errorf("unsupported lookaround")
	}
	re, err := regexp.Compile("(?i)" + p)
	if err != nil {
		return lp, err
	}
	lp.core = re
	return lp, nil
}

// match reports whether ua matches one of the patterns.
func (ps *patternSet) match(ua string) bool {
	if ps == nil {
		return false
	}
	if ps.joined != nil && ps.joined.MatchString(ua) {
		return true
	}
	for _, lp := range ps.looks {
		if lp.match(ua) {
			return true
		}
	}
	return false
}

func (lp lookPattern) match(ua string) bool {
	for _, m := range lp.core.FindAllStringIndex(ua, -1) {
		before := strings.ToLower(ua[:m[0]])
		ok := true
		for _, nb := range lp.notBefore {
			if strings.HasSuffix(before, nb) {
				ok = false
				break
			}
		}
		if ok && lp.notAfter != nil && lp.notAfter.MatchString(ua[m[1]:]) {
			ok = false
		}
		if ok {
			return true
		}
	}
	return false
}

// isbotPatterns is the compiled isbot list; the embedded file is tested to
// compile whole (TestIsbotListCompiles), so a failure here is a broken
// build.
var isbotPatterns = func() *patternSet {
	ps, err := compilePatterns(strings.Split(isbotList, "\n"))
	if err != nil {
		panic(err)
	}
	return ps
}()

// Patterns is a compiled list of extra bot patterns (Options.Extra): an
// operator's additions, read from a file, with no code change.
type Patterns struct {
	set *patternSet
	n   int
}

// CompilePatterns compiles lines: one pattern per line, in the syntax of
// the isbot list (regular expressions matched ignoring case; a leading
// negative lookbehind of plain strings and a trailing negative lookahead
// are understood), empty lines and lines starting with # ignored. The
// error names the first line it cannot read.
func CompilePatterns(lines []string) (*Patterns, error) {
	set, err := compilePatterns(lines)
	if err != nil {
		return nil, err
	}
	n := len(set.looks)
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && !strings.Contains(l, "(?<!") && !strings.Contains(l, "(?!") {
			n++
		}
	}
	return &Patterns{set: set, n: n}, nil
}

// ReadPatterns reads and compiles a patterns file (see CompilePatterns).
func ReadPatterns(path string) (*Patterns, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bot patterns: %w", err)
	}
	p, err := CompilePatterns(strings.Split(string(b), "\n"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Len is the number of patterns.
func (p *Patterns) Len() int {
	if p == nil {
		return 0
	}
	return p.n
}

func (p *Patterns) match(ua string) bool { return p != nil && p.set.match(ua) }
