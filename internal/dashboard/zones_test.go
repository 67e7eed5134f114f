package dashboard

import (
	"testing"

	"github.com/skopos-go/skopos/internal/stats"
)

// TestZoneSuggestionsLoad: every name the time zone picker offers is one
// the server accepts.
func TestZoneSuggestionsLoad(t *testing.T) {
	t.Parallel()
	if len(commonZones) < 300 || commonZones[0] != "UTC" {
		t.Fatalf("%d zones, first %q", len(commonZones), commonZones[0])
	}
	for _, z := range commonZones {
		if _, err := stats.Location(z); err != nil {
			t.Errorf("%s: %v", z, err)
		}
	}
}
