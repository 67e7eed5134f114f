package worldmap_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/worldmap"
)

// worldSum is the SHA-256 of world.tsv as scripts/update-worldmap.sh
// wrote it (world-atlas 2.0.2, i18n-iso-countries 7.14.0): a hand edit
// fails here; after a refresh, put the new sum here.
const worldSum = "dbb283aa7857a539da2b36755b1fa812f6fffa178a1852f6564d1d2d0e282552"

// regionsSum is the same for regions.tsv (iso-3166 4.4.0).
const regionsSum = "20dc41b59cd8aaf93dbdf812d4fbdefb9df2166bd42bf68a2d7e0826a15ca591"

func TestTheEmbeddedFilesAreTheGeneratedOnes(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]string{"world.tsv": worldSum, "regions.tsv": regionsSum} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s has SHA-256 %x, want %s: regenerate it with scripts/update-worldmap.sh (and update the sum)", file, sum, want)
		}
	}
}

func TestRegionCode(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ country, name, want string }{
		{"DE", "Bayern", "DE-BY"}, {"de", "bayern", "DE-BY"}, {"US", "California", "US-CA"}, {"FR", "Bayern", ""}, {"DE", "", ""},
	} {
		if got, ok := worldmap.RegionCode(c.country, c.name); got != c.want || ok != (c.want != "") {
			t.Errorf("RegionCode(%q, %q) = %q, %v; want %q", c.country, c.name, got, ok, c.want)
		}
	}
}

func TestRegionName(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"US-CA": "California", "us-ca": "California", "DE-BY": "Bayern", "GB-ENG": "England", "FR-IDF": "Île-de-France",
		"Unknown": "Unknown", "": "", "US-ZZ": "US-ZZ", "US": "US", `<b>`: `<b>`, "(other)": "(other)",
	} {
		if got := worldmap.RegionName(code); got != want {
			t.Errorf("RegionName(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestName(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		"DE": "Germany", "de": "Germany", "US": "United States", "GB": "United Kingdom", "RU": "Russia",
		"XK": "Kosovo", "AQ": "Antarctica", "Unknown": "Unknown", "": "", "ZZ": "ZZ", "D": "D",
		`<b>`: `<b>`, "(other)": "(other)",
	} {
		if got := worldmap.Name(code); got != want {
			t.Errorf("Name(%q) = %q, want %q", code, got, want)
		}
	}
}

// pathData is what the generator writes: absolute moves, relative
// integer lines, closes; nothing that could end an attribute.
var pathData = regexp.MustCompile(`^(M\d+ \d+l-?\d+(?:[ -]\d+)*z)+$`)

func TestShapes(t *testing.T) {
	t.Parallel()
	shapes := worldmap.Shapes()
	if len(shapes) < 170 {
		t.Fatalf("%d shapes, want ≥ 170", len(shapes))
	}
	if !slices.IsSortedFunc(shapes, func(a, b worldmap.Shape) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("shapes not sorted by code")
	}
	codes := map[string]bool{}
	for _, s := range shapes {
		codes[s.Code] = true
		if !pathData.MatchString(s.Path) {
			t.Errorf("%s: path data %.40q…", s.Code, s.Path)
		}
		if s.Name == "" || s.Name != worldmap.Name(s.Code) {
			t.Errorf("%s: name %q", s.Code, s.Name)
		}
	}
	for _, c := range []string{"DE", "US", "BR", "CN", "RU", "IN", "AU", "ZA", "XK", "CY", "SO"} {
		if !codes[c] {
			t.Errorf("no shape for %s", c)
		}
	}
	if codes["AQ"] {
		t.Error("Antarctica is drawn")
	}
	if !regexp.MustCompile(`^0 0 1000 \d+$`).MatchString(worldmap.ViewBox()) {
		t.Errorf("ViewBox() = %q", worldmap.ViewBox())
	}
}
