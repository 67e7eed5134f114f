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

// The named periods and their default steps; 12 months read by month are
// 13 points, by week at most 54 (53 full weeks and two partial ones
// cannot fit in 366 days).
func TestPeriodNamesAndIntervals(t *testing.T) {
	t.Parallel()
	berlin, err := stats.Location("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 15, 4, 5, 0, berlin) // a Monday
	day := func(s string) time.Time {
		d, _ := time.ParseInLocation(time.DateOnly, s, berlin)
		return d
	}
	tests := []struct {
		name, from, to, interval string
		points                   int
	}{
		{"yesterday", "2026-12-06", "2026-12-07", "hour", 24},
		{"month", "2026-12-01", "2026-12-08", "day", 7},
		{"lastmonth", "2026-11-01", "2026-12-01", "day", 30},
		{"ytd", "2026-01-01", "2026-12-08", "month", 12},
		{"12mo", "2025-12-08", "2026-12-08", "month", 13},
		{"30d", "2026-11-08", "2026-12-08", "day", 30},
	}
	for _, tt := range tests {
		p, err := stats.ParsePeriodIn(tt.name, "", "", now, berlin)
		if err != nil {
			t.Fatal(err)
		}
		if !p.From.Equal(day(tt.from)) || !p.To.Equal(day(tt.to)) || p.Interval != tt.interval || len(p.Buckets())-1 != tt.points {
			t.Errorf("%s: %s – %s by %s, %d points; want %s – %s by %s, %d", tt.name, p.From, p.To, p.Interval,
				len(p.Buckets())-1, tt.from, tt.to, tt.interval, tt.points)
		}
		if prev := p.Previous; !prev.To.Equal(p.From) || prev.Interval != p.Interval {
			t.Errorf("%s: previous period %s – %s by %s", tt.name, prev.From, prev.To, prev.Interval)
		}
	}

	// weeks start on Mondays, months on the 1st, in the site's zone
	p, _ := stats.ParsePeriodIn("30d", "", "", now, berlin)
	w, err := p.WithInterval("week")
	if err != nil {
		t.Fatal(err)
	}
	b := w.Buckets()
	if len(b)-1 != 6 || !b[0].Equal(day("2026-11-08")) || !b[1].Equal(day("2026-11-09")) || !b[5].Equal(day("2026-12-07")) ||
		!b[6].Equal(day("2026-12-08")) || b[1].Weekday() != time.Monday {
		t.Errorf("30 days by week: %v", b)
	}
	if p.Interval != "day" || w.Previous.Interval != "week" || p.Previous.Interval != "day" || !w.IntervalSet {
		t.Error("WithInterval changed the period it was called on, or not its previous period")
	}
	for _, leap := range []time.Time{now, time.Date(2028, 12, 4, 12, 0, 0, 0, berlin), time.Date(2024, 3, 4, 12, 0, 0, 0, berlin)} {
		y, _ := stats.ParsePeriodIn("12mo", "", "", leap, berlin)
		if w, _ := y.WithInterval("week"); len(w.Buckets())-1 > 54 {
			t.Errorf("12 months to %s by week: %d points", leap.Format(time.DateOnly), len(w.Buckets())-1)
		}
	}

	// hours: 7 days at most (both sides of the bound); unknown steps refused
	seven, _ := stats.ParsePeriodIn("custom", "2026-12-01", "2026-12-07", now, berlin)
	if h, err := seven.WithInterval("hour"); err != nil || len(h.Buckets())-1 != 7*24 || !h.Hourly {
		t.Errorf("7 days by hour: %v", err)
	}
	eight, _ := stats.ParsePeriodIn("custom", "2026-11-30", "2026-12-07", now, berlin)
	if _, err := eight.WithInterval("hour"); err == nil {
		t.Error("8 days by hour: accepted")
	}
	if _, err := seven.WithInterval("fortnight"); err == nil {
		t.Error("interval fortnight: accepted")
	}
}
