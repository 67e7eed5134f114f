package dashboard_test

// WCAG AA contrast of both themes, computed from static/app.css: its
// :root block is the palette (every color as light-dark(light, dark), or
// one value for both themes), and every other rule may only use it.

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rgba is a color with straight (not premultiplied) alpha, channels 0–1.
type rgba struct{ r, g, b, a float64 }

// over composites c over an opaque bg.
func (c rgba) over(bg rgba) rgba {
	mix := func(f, b float64) float64 { return f*c.a + b*(1-c.a) }
	return rgba{mix(c.r, bg.r), mix(c.g, bg.g), mix(c.b, bg.b), 1}
}

// luminance is the WCAG 2.x relative luminance of an opaque color.
func (c rgba) luminance() float64 {
	lin := func(v float64) float64 {
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.r) + 0.7152*lin(c.g) + 0.0722*lin(c.b)
}

// contrast is the WCAG 2.x contrast ratio of two opaque colors (1–21).
func contrast(a, b rgba) float64 {
	la, lb := a.luminance(), b.luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

var (
	hexColor  = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
	rgbColor  = regexp.MustCompile(`^rgba?\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*(?:,\s*([\d.]+)\s*)?\)$`)
	varRef    = regexp.MustCompile(`var\(\s*(--[\w-]+)`)
	innermost = regexp.MustCompile(`\{([^{}]*)\}`)
	// literal finds a color written out: hex, a color function, or a
	// common named color
	literal = regexp.MustCompile(`(?i)#[0-9a-f]{3,8}\b|\b(rgba?|hsla?|hwb|lab|lch|oklab|oklch|color|color-mix|light-dark)\(|\b(white|black|red|green|blue|yellow|orange|purple|pink|gray|grey|silver|navy|teal|maroon|olive|lime|aqua|fuchsia|gold|indigo|violet|brown|cyan|magenta|crimson|tomato)\b`)
)

// parseColor reads the forms the palette uses: #rgb, #rrggbb, rgb() and
// rgba() with commas, and the keywords white and black.
func parseColor(s string) (rgba, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "white":
		return rgba{1, 1, 1, 1}, nil
	case "black":
		return rgba{0, 0, 0, 1}, nil
	}
	if m := hexColor.FindStringSubmatch(s); m != nil {
		h := m[1]
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		v, _ := strconv.ParseUint(h, 16, 32)
		return rgba{float64(v>>16&255) / 255, float64(v>>8&255) / 255, float64(v&255) / 255, 1}, nil
	}
	if m := rgbColor.FindStringSubmatch(s); m != nil {
		var ch [3]float64
		for i := range ch {
			n, _ := strconv.Atoi(m[i+1])
			if n > 255 {
				return rgba{}, fmt.Errorf("color %q: channel above 255", s)
			}
			ch[i] = float64(n) / 255
		}
		a := 1.0
		if m[4] != "" {
			var err error
			if a, err = strconv.ParseFloat(m[4], 64); err != nil || a > 1 {
				return rgba{}, fmt.Errorf("color %q: bad alpha", s)
			}
		}
		return rgba{ch[0], ch[1], ch[2], a}, nil
	}
	return rgba{}, fmt.Errorf("not a color the test reads: %q", s)
}

// splitTop splits s at sep where it is outside parentheses.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, from := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case sep:
			if depth == 0 {
				out = append(out, s[from:i])
				from = i + 1
			}
		}
	}
	return append(out, s[from:])
}

// palette is app.css split into its :root block's custom properties (both
// themes) and the rest of the file.
type palette struct {
	light, dark map[string]rgba
	names       map[string]bool // every custom property, colors or not
	rest        string          // the file without comments and without the palette
}

func loadPalette(t *testing.T) palette {
	t.Helper()
	b, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	css := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(b), "")
	m := regexp.MustCompile(`(?m)^:root\s*\{([^}]*)\}`).FindStringSubmatchIndex(css)
	if m == nil {
		t.Fatal("app.css: no :root { … } palette block")
	}
	p := palette{light: map[string]rgba{}, dark: map[string]rgba{}, names: map[string]bool{},
		rest: css[:m[0]] + css[m[1]:]}
	for _, decl := range strings.Split(css[m[2]:m[3]], ";") {
		name, val, ok := strings.Cut(strings.TrimSpace(decl), ":")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		if !ok || !strings.HasPrefix(name, "--") {
			continue
		}
		p.names[name] = true
		light, dark := val, val
		if inner, ok := strings.CutPrefix(val, "light-dark("); ok {
			args := splitTop(strings.TrimSuffix(inner, ")"), ',')
			if len(args) != 2 || !strings.HasSuffix(inner, ")") {
				t.Errorf("%s: light-dark needs two colors: %s", name, val)
				continue
			}
			light, dark = args[0], args[1]
		}
		lc, lerr := parseColor(light)
		dc, derr := parseColor(dark)
		switch {
		case lerr == nil && derr == nil:
			p.light[name], p.dark[name] = lc, dc
		case val != light || literal.MatchString(val):
			// a color the test cannot read would escape the check
			t.Errorf("%s: %v %v", name, lerr, derr)
		}
	}
	return p
}

// pair is a foreground drawn on a stack of backgrounds (bottom first;
// translucent ones are composited over what is under them).
type pair struct {
	what string
	fg   string
	bg   []string
	ui   bool // a UI component or graphic: 3:1; text: 4.5:1
}

func on(bg ...string) []string { return bg }

// pairs is every place a color must stand out from what it sits on.
var pairs = []pair{
	{"body text on the page", "--text", on("--bg"), false},
	{"body and table text on a card", "--text", on("--card"), false},
	{"text in an input or a button", "--text", on("--card", "--field"), false},
	{"button text, hovered", "--text", on("--card", "--field-hover"), false},
	{"code", "--text", on("--card", "--code-bg"), false},
	{"a row's text on its bar", "--text", on("--card", "--accent-soft"), false},
	{"a live row's text as it arrives", "--text", on("--card", "--fresh"), false},
	{"muted text on the page", "--muted", on("--bg"), false},
	{"muted text on a card", "--muted", on("--card"), false},
	{"placeholder", "--muted", on("--card", "--field"), false},
	{"badge", "--muted", on("--card", "--surface"), false},
	{"link on the page", "--accent", on("--bg"), false},
	{"link on a card", "--accent", on("--card"), false},
	{"a row's link on its bar", "--accent", on("--card", "--accent-soft"), false},
	{"id badge", "--accent-text", on("--card", "--accent-soft"), false},
	{"filter chip", "--accent-text", on("--bg", "--accent-soft"), false},
	{"chip's remove button", "--accent-text", on("--bg", "--accent-soft", "--chip-remove"), false},
	{"primary button", "--on-accent", on("--accent-bg"), false},
	{"primary button, hovered", "--on-accent", on("--accent-bg-hover"), false},
	{"danger button", "--on-accent", on("--bad-bg"), false},
	{"danger button, hovered", "--on-accent", on("--bad-bg-hover"), false},
	{"KPI change, good", "--good", on("--card"), false},
	{"KPI change, bad; field error", "--bad", on("--card"), false},
	{"ok badge", "--good", on("--card", "--good-bg"), false},
	{"warning badge", "--warn", on("--card", "--warn-bg"), false},
	{"warning text (SEO)", "--warn", on("--card"), false},
	{"alert", "--alert", on("--bg", "--alert-bg"), false},
	{"notice", "--notice", on("--bg", "--notice-bg"), false},
	{"header text", "--top-text", on("--top-bg"), false},
	{"header link", "--top-nav", on("--top-bg"), false},
	{"header link, hovered", "--top-text", on("--top-bg", "--top-hover"), false},
	{"header link, current page", "--top-text", on("--top-bg", "--top-current"), false},
	{"header user name, shared note", "--top-muted", on("--top-bg"), false},

	{"input and button border on a card", "--control-line", on("--card"), true},
	{"input and button border on the page", "--control-line", on("--bg"), true},
	{"button border, hovered", "--control-line-hover", on("--card"), true},
	{"focus ring on a card", "--focus", on("--card"), true},
	{"focus ring on the page", "--focus", on("--bg"), true},
	{"focus ring in the header", "--top-focus", on("--top-bg"), true},
	{"header button border", "--top-btn-line", on("--top-bg"), true},
	{"chart line, pageviews; funnel bar", "--accent", on("--card"), true},
	{"funnel bar on its track", "--accent", on("--card", "--surface"), true},
	{"chart line, visitors", "--vis", on("--card"), true},
	{"status dot, up; SEO gauge", "--good", on("--card"), true},
	{"status dot, down; SEO gauge", "--bad", on("--card"), true},
	{"SEO gauge, needs work", "--caution", on("--card"), true},
	{"status dot, unknown", "--dot", on("--card"), true},
	{"active-now pulse", "--pulse", on("--card"), true},
}

// decorative colors need no contrast: each says why.
var decorative = map[string]string{
	"--line":         "card and row separators; cards are not controls",
	"--line-soft":    "row separators",
	"--shadow":       "a card's shadow",
	"--accent-soft":  "chart area and row bars under a line or a number",
	"--accent-faint": "hover tint",
	"--alert-line":   "the alert's background and text carry it",
	"--notice-line":  "the notice's background and text carry it",
	"--down":         "the Incidents table lists the down periods",
	"--pulse-glow":   "the pulse's animation",
	"--brand-ring":   "logo",
	"--brand-dot":    "logo",
}

func TestContrastRatio(t *testing.T) {
	for _, c := range []struct {
		fg, bg string
		want   float64
	}{
		{"#777", "#fff", 4.48},
		{"#000", "#fff", 21},
		{"white", "black", 21},
		{"#fff", "#fff", 1},
		{"rgba(0, 0, 0, .5)", "#fff", 3.98}, // 127.5/255 gray on white
	} {
		fg, err := parseColor(c.fg)
		if err != nil {
			t.Fatal(err)
		}
		bg, err := parseColor(c.bg)
		if err != nil {
			t.Fatal(err)
		}
		if got := contrast(fg.over(bg), bg); math.Abs(got-c.want) > 0.005 {
			t.Errorf("%s on %s: %.3f, want %.2f", c.fg, c.bg, got, c.want)
		}
	}
}

func TestThemeContrast(t *testing.T) {
	p := loadPalette(t)
	used := map[string]bool{}
	for _, theme := range []struct {
		name   string
		colors map[string]rgba
	}{{"light", p.light}, {"dark", p.dark}} {
		color := func(name string) rgba {
			c, ok := theme.colors[name]
			if !ok {
				t.Fatalf("%s is not a color of the palette", name)
			}
			return c
		}
		least := math.Inf(1)
		var lines []string
		for _, pr := range pairs {
			bg := rgba{1, 1, 1, 1} // under the page, the canvas
			for _, layer := range pr.bg {
				bg = color(layer).over(bg)
				used[layer] = true
			}
			used[pr.fg] = true
			r := contrast(color(pr.fg).over(bg), bg)
			least = min(least, r)
			need := 4.5
			if pr.ui {
				need = 3
			}
			lines = append(lines, fmt.Sprintf("%5.2f %s", r, pr.what))
			if r < need {
				top := slices.Clone(pr.bg)
				slices.Reverse(top)
				t.Errorf("%s theme: %s (%s on %s): %.2f:1, below %.1f:1", theme.name, pr.what, pr.fg, strings.Join(top, " over "), r, need)
			}
		}
		t.Logf("%s theme: least %.2f:1\n%s", theme.name, least, strings.Join(lines, "\n"))
	}
	// a new color is either checked or said to be decorative
	for name := range p.light {
		if !used[name] && decorative[name] == "" {
			t.Errorf("%s is in no contrast pair and not declared decorative", name)
		}
	}
}

// TestNoColorOutsidePalette: a rule that wrote its own color would escape
// TestThemeContrast (and the dark theme).
func TestNoColorOutsidePalette(t *testing.T) {
	p := loadPalette(t)
	for _, block := range innermost.FindAllStringSubmatch(p.rest, -1) {
		for _, decl := range strings.Split(block[1], ";") {
			prop, val, ok := strings.Cut(decl, ":")
			if !ok {
				continue
			}
			bare := varRef.ReplaceAllString(val, "var(")
			if m := literal.FindString(bare); m != "" {
				t.Errorf("%s:%s: the color %q is not from the palette", strings.TrimSpace(prop), val, m)
			}
			for _, ref := range varRef.FindAllStringSubmatch(val, -1) {
				if !p.names[ref[1]] {
					t.Errorf("%s:%s: %s is not defined in :root", strings.TrimSpace(prop), val, ref[1])
				}
			}
		}
	}
}
