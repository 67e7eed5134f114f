package uaname

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

type corpusRow struct {
	UA      string `json:"ua"`
	Browser string `json:"browser"`
	OS      string `json:"os"`
	Device  string `json:"device"`
}

func loadCorpus(t testing.TB) []corpusRow { return load(t, "testdata/browsers.json") }

func load(t testing.TB, name string) []corpusRow {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var rows []corpusRow
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// minAgreement is the share of the corpus on which each field must equal
// ua-parser-js's.
const minAgreement = 0.98

// TestNamesAgreeWithUAParserJS: on the corpus of real user agents
// (testdata/SOURCE.md), the browser, OS and device names equal those of
// ua-parser-js 2.x on at least 98 % of them, field by field.
func TestNamesAgreeWithUAParserJS(t *testing.T) {
	t.Parallel()
	rows := loadCorpus(t)
	if len(rows) < 900 {
		t.Fatalf("corpus has %d user agents, want at least 900", len(rows))
	}
	miss := map[string]map[string]int{"browser": {}, "os": {}, "device": {}}
	examples := map[string]string{}
	for _, r := range rows {
		got := Parse(r.UA)
		for field, pair := range map[string][2]string{
			"browser": {got.Browser, r.Browser}, "os": {got.OS, r.OS}, "device": {got.Device, r.Device},
		} {
			if pair[0] != pair[1] {
				k := fmt.Sprintf("%q want %q", pair[0], pair[1])
				miss[field][k]++
				examples[field+k] = r.UA
			}
		}
	}
	for _, field := range []string{"browser", "os", "device"} {
		n := 0
		var keys []string
		for k, c := range miss[field] {
			n += c
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return miss[field][keys[i]] > miss[field][keys[j]] })
		agree := 1 - float64(n)/float64(len(rows))
		t.Logf("%s: %.2f %% agreement (%d of %d differ)", field, 100*agree, n, len(rows))
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "  %4d × %s  e.g. %s\n", miss[field][k], k, examples[field+k])
		}
		if agree < minAgreement {
			t.Errorf("%s agreement %.2f %% < %.0f %%; differences:\n%s", field, 100*agree, 100*minAgreement, b.String())
		} else if b.Len() > 0 {
			t.Logf("%s differences:\n%s", field, b.String())
		}
	}
}

// TestNamedCases are the cases the issue names and the kinds the corpus
// holds few of.
func TestNamedCases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ua   string
		want Names
	}{
		{"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Names{"Chrome", "Android", Tablet}},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Names{"Chrome", "Android", Tablet}},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
			Names{"Mobile Chrome", "Android", Mobile}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/321.0.645817380 Mobile/15E148 Safari/604.1",
			Names{"GSA", "iOS", Mobile}},
		{"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
			Names{"Mobile Safari", "iOS", Tablet}},
		{"Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/128.3.1 like Chrome/128.0.6613.137 Safari/537.36",
			Names{"Silk", "Android", Tablet}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
			Names{"Safari", "macOS", Desktop}},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
			Names{"Chrome", "Chrome OS", Desktop}},
		{"", Names{"", "", Desktop}},
	} {
		if got := Parse(tc.ua); got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.ua, got, tc.want)
		}
	}
}

// TestHandWrittenFormatsAgree: the formats of in-app browsers, tablets,
// TVs and consoles (testdata/formats.json, named by ua-parser-js) are
// named exactly as ua-parser-js names them.
func TestHandWrittenFormatsAgree(t *testing.T) {
	t.Parallel()
	for _, r := range load(t, "testdata/formats.json") {
		want := Names{r.Browser, r.OS, r.Device}
		if got := Parse(r.UA); got != want {
			t.Errorf("Parse(%q)\n = %+v, want %+v", r.UA, got, want)
		}
	}
}
