package dashboard

import (
	"testing"

	"github.com/skopos-go/skopos/internal/stats"
)

// TestKPIChangeAgainstAnEmptyPeriodSaysNew: with nothing in the previous
// period there is no percentage to show.
func TestKPIChangeAgainstAnEmptyPeriodSaysNew(t *testing.T) {
	t.Parallel()
	num := func(float64) string { return "" }
	for _, tc := range []struct {
		m      stats.Metric
		change string
		good   string
	}{
		{stats.Metric{Value: 5, Previous: 0, Change: 100}, "new", "neutral"},
		{stats.Metric{Value: 0, Previous: 0, Change: 0}, "0%", "neutral"},
		{stats.Metric{Value: 10, Previous: 5, Change: 100}, "+100%", "good"},
		{stats.Metric{Value: 0, Previous: 5, Change: -100}, "−100%", "bad"},
	} {
		k := makeKPI("x", "X", "", tc.m, num, false)
		if k.Change != tc.change || k.Good != tc.good {
			t.Errorf("%+v: change %q (%s), want %q (%s)", tc.m, k.Change, k.Good, tc.change, tc.good)
		}
	}
}
