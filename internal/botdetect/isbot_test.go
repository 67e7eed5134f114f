package botdetect

import (
	"regexp"
	"strings"
	"testing"
)

// TestIsbotListCompiles: every pattern of the embedded isbot list is
// understood, the lookaround ones included (RE2 has no lookarounds).
func TestIsbotListCompiles(t *testing.T) {
	t.Parallel()
	lines := strings.Split(strings.TrimSpace(isbotList), "\n")
	ps, err := compilePatterns(lines)
	if err != nil {
		t.Fatal(err)
	}
	looks := 0
	for _, l := range lines {
		if strings.Contains(l, "(?<!") || strings.Contains(l, "(?!") {
			looks++
		}
	}
	if len(lines) < 150 || len(ps.looks) != looks || ps.n != len(lines) {
		t.Fatalf("%d patterns, %d with lookarounds, %d of those compiled", len(lines), looks, len(ps.looks))
	}
}

// TestLookaroundPatterns: the JavaScript lookarounds of the isbot list
// keep their meaning (what each one exists to spare, and what it flags).
func TestLookaroundPatterns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ua  string
		bot bool
	}{
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", true},
		{"Mozilla/5.0 (Linux; Android 13; Cubot KingKong) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", false},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GoogleApp/1 Mobile/15E148", false},
		{"Mozilla/5.0 (Linux; Android 14) CamScanner/6.5 Chrome/131.0.0.0 Mobile Safari/537.36", false},
		{"Mozilla/5.0 (compatible; SecurityScan/1.0)", true},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 newsapp-reader", true},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Java/17", true},
	} {
		if got := isbotPatterns.match(tc.ua); got != tc.bot {
			t.Errorf("isbot list on %q = %v, want %v", tc.ua, got, tc.bot)
		}
	}
}

// TestExtraPatterns: an operator's patterns add bots for browser requests
// and server events; a pattern that does not compile is refused naming it.
func TestExtraPatterns(t *testing.T) {
	t.Parallel()
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 ZorgWidget/1.0"
	plain := New(Options{})
	if plain.IsBot(ua, beaconHeaders()) || plain.IsBotServer(ua) {
		t.Fatal("the test UA is a bot without the extra pattern")
	}
	extra, err := CompilePatterns([]string{"# our own monitors", "", "zorgwidget/", `(?<!not)sentinel(?!-ok)`})
	if err != nil {
		t.Fatal(err)
	}
	if extra.Len() != 2 {
		t.Errorf("Len = %d, want 2", extra.Len())
	}
	d := New(Options{Extra: extra})
	if !d.IsBot(ua, beaconHeaders()) || !d.IsBotServer(ua) {
		t.Error("an extra pattern did not make the UA a bot")
	}
	if d.IsBot(strings.Replace(ua, "ZorgWidget/1.0", "notsentinel sentinel-ok", 1), beaconHeaders()) {
		t.Error("lookarounds of an extra pattern ignored")
	}
	for _, bad := range []string{"zorg(", "(?<=a)b", "(?<!a.b)c"} {
		_, err := CompilePatterns([]string{"fine", bad})
		if err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("CompilePatterns(%q) = %v, want an error naming it", bad, err)
		}
	}
}

// TestSplitMatchingEqualsPatternByPattern: the literal prefilters and the
// grouping give the same verdict as trying every pattern on its own, on
// every user agent of the corpus.
func TestSplitMatchingEqualsPatternByPattern(t *testing.T) {
	t.Parallel()
	type one struct {
		re   *regexp.Regexp
		look *lookPattern
	}
	var all []one
	for _, p := range strings.Split(strings.TrimSpace(isbotList), "\n") {
		if strings.Contains(p, "(?<!") || strings.Contains(p, "(?!") {
			lp, err := parseLook(p)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, one{look: &lp})
			continue
		}
		all = append(all, one{re: regexp.MustCompile("(?i)" + p)})
	}
	var uas []string
	for _, f := range []string{"testdata/crawlers.txt", "testdata/monitors.tsv", "testdata/browsers.txt"} {
		uas = append(uas, readLines(t, f)...)
	}
	if raceEnabled { // every 7th: the same kinds of UA, a seventh of the time
		sample := uas[:0]
		for i := 0; i < len(uas); i += 7 {
			sample = append(sample, uas[i])
		}
		uas = sample
	}
	differ := 0
	for _, ua := range uas {
		want := false
		for _, o := range all {
			if (o.re != nil && o.re.MatchString(ua)) || (o.look != nil && o.look.match(ua)) {
				want = true
				break
			}
		}
		if got := isbotPatterns.match(ua); got != want {
			differ++
			t.Errorf("match(%q) = %v, pattern by pattern %v", ua, got, want)
		}
	}
	if differ == 0 {
		t.Logf("%d user agents, same verdicts", len(uas))
	}
}

// TestWhatsAppBrowserIsNotItsPreviewFetcher: WhatsApp's in-app browser
// is a person; its link-preview fetcher is a bot.
func TestWhatsAppBrowserIsNotItsPreviewFetcher(t *testing.T) {
	t.Parallel()
	d := New(Options{})
	const inApp = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 WhatsApp/2.24.12.78"
	if d.IsBot(inApp, beaconHeaders()) {
		t.Errorf("WhatsApp's in-app browser scored %d", d.Score(inApp, beaconHeaders()))
	}
	if !d.IsBot("WhatsApp/2.23.18.78 i", beaconHeaders()) {
		t.Error("WhatsApp's preview fetcher is not a bot")
	}
}

// FuzzCompilePatterns: an operator's patterns file is input like any
// other: whatever a line holds, compiling it either fails with an error or
// gives patterns that match without panicking.
func FuzzCompilePatterns(f *testing.F) {
	for _, seed := range []string{"zorg/", `(?<! cu)bots?(?:\b|_)`, `java(?!;)`, `(?<!a|b)c(?!d)`, "(?<!", "(?!", `\`, "[", "^$", "(?<!x)"} {
		f.Add(seed, uaChrome131)
	}
	f.Fuzz(func(t *testing.T, pattern, ua string) {
		p, err := CompilePatterns([]string{pattern})
		if err != nil {
			return
		}
		_ = p.match(ua)
		_ = p.Len()
	})
}
