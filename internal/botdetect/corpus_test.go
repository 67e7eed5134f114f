package botdetect

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

// The bars of the corpus test.
const (
	minRecall        = 0.99
	maxFalsePositive = 0.005
)

func readLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" && !strings.HasPrefix(l, "#") {
			// monitors.tsv: the user agent, a tab, its source
			ua, _, _ := strings.Cut(l, "\t")
			out = append(out, ua)
		}
	}
	return out
}

// beaconHeaders are the headers of a real browser's sendBeacon (the
// corpus is sent with them, as a bot imitating a browser would).
func beaconHeaders() http.Header {
	return http.Header{
		"Accept":          {"*/*"},
		"Accept-Language": {"en-GB,en;q=0.9"},
		"Accept-Encoding": {"gzip, deflate, br, zstd"},
		"Sec-Fetch-Site":  {"same-origin"},
		"Sec-Fetch-Mode":  {"no-cors"},
		"Sec-Fetch-Dest":  {"empty"},
	}
}

// TestCorpusRecallAndFalsePositives: every user agent of the bot corpus
// (testdata/SOURCE.md) and of the browser corpus is scored as a browser
// beacon with a real browser's headers; at least 99 % of the bots and at
// most 0.5 % of the browsers are bots.
func TestCorpusRecallAndFalsePositives(t *testing.T) {
	t.Parallel()
	d := New(Options{})
	h := beaconHeaders()
	var bots []string
	for _, f := range []string{"testdata/crawlers.txt", "testdata/monitors.tsv"} {
		bots = append(bots, readLines(t, f)...)
	}
	browsers := readLines(t, "testdata/browsers.txt")
	if len(browsers) < 900 {
		t.Fatalf("browser corpus has %d user agents, want at least 900", len(browsers))
	}
	var missed, flagged []string
	for _, ua := range bots {
		if !d.IsBot(ua, h) {
			missed = append(missed, ua)
		}
	}
	for _, ua := range browsers {
		if d.IsBot(ua, h) {
			flagged = append(flagged, ua)
		}
	}
	recall := 1 - float64(len(missed))/float64(len(bots))
	fp := float64(len(flagged)) / float64(len(browsers))
	t.Logf("recall %.2f %% (%d of %d bots missed); false positives %.2f %% (%d of %d browsers)",
		100*recall, len(missed), len(bots), 100*fp, len(flagged), len(browsers))
	if recall < minRecall {
		t.Errorf("recall %.2f %% < %.0f %%; missed:\n  %s", 100*recall, 100*minRecall, strings.Join(missed, "\n  "))
	} else if len(missed) > 0 {
		t.Logf("missed:\n  %s", strings.Join(missed, "\n  "))
	}
	if fp > maxFalsePositive {
		t.Errorf("false positives %.2f %% > %.1f %%:\n  %s", 100*fp, 100*maxFalsePositive, strings.Join(flagged, "\n  "))
	} else if len(flagged) > 0 {
		t.Logf("browsers flagged:\n  %s", strings.Join(flagged, "\n  "))
	}
}

// TestBrowserFormatsAreNotBots: the hand-written browser formats of the
// names corpus (in-app browsers, tablets, TVs, consoles) all pass.
func TestBrowserFormatsAreNotBots(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../uaname/testdata/formats.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		UA string `json:"ua"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	d := New(Options{})
	for _, r := range rows {
		if s := d.Score(r.UA, beaconHeaders()); s >= Threshold {
			t.Errorf("Score(%q) = %d: a browser made a bot", r.UA, s)
		}
	}
}
