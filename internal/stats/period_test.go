package stats_test

import (
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/stats"
)

// The "24h" series steps are the site's local hours, also where an hour
// does not start on a whole UTC hour.
func TestLast24HoursStepsAreLocalHours(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 1, 3, 25, 11, 0, time.UTC)
	for _, tc := range []struct {
		zone  string
		first string // the first step's local start
	}{
		{"UTC", "2026-10-31 03:00"},
		{"America/New_York", "2026-10-30 23:00"},
		{"Asia/Kolkata", "2026-10-31 08:00"},   // 02:30 UTC
		{"Asia/Kathmandu", "2026-10-31 09:00"}, // 03:15 UTC
	} {
		t.Run(tc.zone, func(t *testing.T) {
			t.Parallel()
			loc, err := stats.Location(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			p, err := stats.ParsePeriodIn("24h", "", "", now, loc)
			if err != nil {
				t.Fatal(err)
			}
			b := p.Buckets()
			if got := b[0].In(loc).Format("2006-01-02 15:04"); got != tc.first || b[0].After(p.From) {
				t.Errorf("first step %s, want %s (the local hour of %v)", got, tc.first, p.From.In(loc))
			}
			if len(b) != 26 || !b[len(b)-1].Equal(now) {
				t.Errorf("%d bounds ending %v; want 25 steps ending now", len(b), b[len(b)-1])
			}
			for i := 1; i+1 < len(b); i++ {
				if b[i].Sub(b[i-1]) != time.Hour || b[i].In(loc).Minute() != 0 {
					t.Errorf("step %d starts %v", i, b[i].In(loc))
				}
			}
		})
	}
}
