package botdetect

import (
	_ "embed"
	"fmt"
	"regexp"
	"regexp/syntax"
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
// patterns. One expression of 200 alternatives costs Go's regexp about
// 250 µs on a browser's UA, so they are split: each pattern that requires
// a literal runs only when its literal is in the UA (most are names:
// "24x7", ".com", "bot", "apache/"); the few left are joined, those
// anchored at the start apart from the others. Patterns with JavaScript lookarounds (RE2 has none) are
// lookPatterns, also behind their core's literal.
type patternSet struct {
	anchored *regexp.Regexp // nil when none
	literal  []litPattern
	rest     *regexp.Regexp // nil when none
	looks    []lookPattern
	n        int // patterns compiled
}

// litPattern is a pattern that cannot match unless the lower-cased UA
// contains lit.
type litPattern struct {
	lit string
	re  *regexp.Regexp
}

// lookPattern is a pattern of the form
// [(?<!A|B…)]core[(?!C)]: a match of core counts unless the text right
// before it ends with one of notBefore or the text right after it starts
// with notAfter.
type lookPattern struct {
	lit       string // required by core; "" when none
	core      *regexp.Regexp
	notBefore []string // lower case
	notAfter  *regexp.Regexp
}

// compilePatterns compiles patterns (JavaScript syntax, matched ignoring
// case); it fails naming the first pattern it cannot read.
func compilePatterns(patterns []string) (*patternSet, error) {
	ps := &patternSet{}
	var anchored, rest []string
	for _, p := range patterns {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		ps.n++
		if strings.Contains(p, "(?<!") || strings.Contains(p, "(?!") || strings.Contains(p, "(?=") || strings.Contains(p, "(?<=") {
			lp, err := parseLook(p)
			if err != nil {
				return nil, fmt.Errorf("bot pattern %q: %w", p, err)
			}
			ps.looks = append(ps.looks, lp)
			continue
		}
		re, err := regexp.Compile("(?i)" + p)
		if err != nil {
			return nil, fmt.Errorf("bot pattern %q: %w", p, err)
		}
		switch lit := requiredLiteral(p); {
		case lit != "":
			ps.literal = append(ps.literal, litPattern{lit: lit, re: re})
		case strings.HasPrefix(p, "^"):
			anchored = append(anchored, "(?:"+p+")")
		default:
			rest = append(rest, "(?:"+p+")")
		}
	}
	var err error
	if ps.anchored, err = joinPatterns(anchored); err != nil {
		return nil, err
	}
	if ps.rest, err = joinPatterns(rest); err != nil {
		return nil, err
	}
	return ps, nil
}

func joinPatterns(ps []string) (*regexp.Regexp, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	re, err := regexp.Compile("(?i)" + strings.Join(ps, "|"))
	if err != nil {
		return nil, fmt.Errorf("bot patterns: %w", err)
	}
	return re, nil
}

// requiredLiteral returns a lower-case string every match of the pattern
// contains, "" when it finds none.
func requiredLiteral(p string) string {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return ""
	}
	return strings.ToLower(literalOf(re.Simplify()))
}

func literalOf(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase == 0 {
			return string(re.Rune)
		}
	case syntax.OpCapture, syntax.OpPlus:
		return literalOf(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return literalOf(re.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range re.Sub {
			if l := literalOf(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
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
	lp.core, lp.lit = re, requiredLiteral(p)
	return lp, nil
}

// match reports whether ua matches one of the patterns.
func (ps *patternSet) match(ua string) bool {
	if ps == nil {
		return false
	}
	if ps.anchored != nil && ps.anchored.MatchString(ua) {
		return true
	}
	lower := strings.ToLower(ua)
	for _, lp := range ps.literal {
		if strings.Contains(lower, lp.lit) && lp.re.MatchString(ua) {
			return true
		}
	}
	if ps.rest != nil && ps.rest.MatchString(ua) {
		return true
	}
	for _, lp := range ps.looks {
		if (lp.lit == "" || strings.Contains(lower, lp.lit)) && lp.match(ua) {
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
type Patterns struct{ set *patternSet }

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
	return &Patterns{set: set}, nil
}

// Len is the number of patterns.
func (p *Patterns) Len() int {
	if p == nil {
		return 0
	}
	return p.set.n
}

func (p *Patterns) match(ua string) bool { return p != nil && p.set.match(ua) }
