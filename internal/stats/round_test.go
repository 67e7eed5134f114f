package stats

import "testing"

// The rounding of rates and changes is exact where floating point is not:
// a figure that is exactly x.5 rounds as it reads.
func TestRatesAndChangesRoundExactly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		part, whole, want float64
	}{
		{0, 0, 0}, {1, 3, 33.3}, {2, 3, 66.7}, {1, 8, 12.5}, {1, 16, 6.3},
		{201, 400, 50.3}, {203, 400, 50.8}, {1001, 2000, 50.1}, {400, 400, 100},
	} {
		if got := pct(tc.part, tc.whole); got != tc.want {
			t.Errorf("pct(%v, %v) = %v, want %v", tc.part, tc.whole, got, tc.want)
		}
	}
	for _, tc := range []struct {
		cur, prev float64
		want      int
	}{
		{0, 0, 0}, {5, 0, 100}, {0, 5, -100}, {3, 2, 50}, {1, 3, -67}, {2, 3, -33},
		{72.4, 80, -10}, {26.7, 60, -56}, {3, 8, -63}, {11, 8, 38}, {20.1, 20, 1}, {33.3, 25, 33},
	} {
		if got := change(tc.cur, tc.prev); got != tc.want {
			t.Errorf("change(%v, %v) = %d, want %d", tc.cur, tc.prev, got, tc.want)
		}
	}
}
