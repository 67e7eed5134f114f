package seo

import (
	"math"
	"strconv"
)

// PageSpeedScores is what a PageSpeed Insights run found, as handed to
// Result.ApplyPageSpeed. A nil field is a value the run did not return.
type PageSpeedScores struct {
	// Strategy is "mobile" or "desktop".
	Strategy string
	// Category scores, 0–100.
	Performance, Accessibility, BestPractices, SEO *int
	// Lighthouse metrics: FCP, LCP, TBT and SpeedIndex in milliseconds, CLS
	// unitless.
	FCP, LCP, TBT, CLS, SpeedIndex *float64
	// FetchTime is Lighthouse's own timestamp of the run, as it reported it.
	FetchTime string
	// Warnings are the run's partial failures; they join the result's
	// AnalysisWarnings.
	Warnings []string
}

// PerformanceScores is the reference's performanceScores field: the four
// PageSpeed category scores and the main metrics as Lighthouse displays
// them ("1.2 s", "150 ms", "0.05"; "N/A" when missing).
type PerformanceScores struct {
	Performance   *int               `json:"performance"`
	Accessibility *int               `json:"accessibility"`
	BestPractices *int               `json:"bestPractices"`
	SEO           *int               `json:"seo"`
	Metrics       PerformanceMetrics `json:"metrics"`
	Strategy      string             `json:"strategy"`
	FetchTime     string             `json:"fetchTime,omitempty"`
}

// PerformanceMetrics are the Lighthouse metrics as display strings.
type PerformanceMetrics struct {
	FCP string `json:"fcp"`
	LCP string `json:"lcp"`
	TBT string `json:"tbt"`
	CLS string `json:"cls"`
	SI  string `json:"si"`
}

// LighthouseData holds the metrics as numbers, for charts and comparisons:
// milliseconds except CumulativeLayoutShift. (The reference stored the whole
// Lighthouse report here, several hundred kilobytes a row; a migrated row
// decodes with these fields empty.)
type LighthouseData struct {
	Strategy               string   `json:"strategy"`
	FirstContentfulPaint   *float64 `json:"firstContentfulPaint"`
	LargestContentfulPaint *float64 `json:"largestContentfulPaint"`
	TotalBlockingTime      *float64 `json:"totalBlockingTime"`
	CumulativeLayoutShift  *float64 `json:"cumulativeLayoutShift"`
	SpeedIndex             *float64 `json:"speedIndex"`
}

// hasScores reports whether the run returned anything worth showing.
func (ps *PageSpeedScores) hasScores() bool {
	return ps != nil && (ps.Performance != nil || ps.Accessibility != nil || ps.BestPractices != nil || ps.SEO != nil ||
		ps.FCP != nil || ps.LCP != nil || ps.TBT != nil || ps.CLS != nil || ps.SpeedIndex != nil)
}

func (ps *PageSpeedScores) performanceScores() *PerformanceScores {
	return &PerformanceScores{
		Performance:   ps.Performance,
		Accessibility: ps.Accessibility,
		BestPractices: ps.BestPractices,
		SEO:           ps.SEO,
		Metrics: PerformanceMetrics{
			FCP: displaySeconds(ps.FCP),
			LCP: displaySeconds(ps.LCP),
			TBT: displayMillis(ps.TBT),
			CLS: displayUnitless(ps.CLS),
			SI:  displaySeconds(ps.SpeedIndex),
		},
		Strategy:  ps.Strategy,
		FetchTime: ps.FetchTime,
	}
}

func (ps *PageSpeedScores) lighthouseData() *LighthouseData {
	return &LighthouseData{
		Strategy:               ps.Strategy,
		FirstContentfulPaint:   ps.FCP,
		LargestContentfulPaint: ps.LCP,
		TotalBlockingTime:      ps.TBT,
		CumulativeLayoutShift:  ps.CLS,
		SpeedIndex:             ps.SpeedIndex,
	}
}

const notAvailable = "N/A"

func displaySeconds(ms *float64) string {
	if ms == nil || math.IsNaN(*ms) {
		return notAvailable
	}
	return strconv.FormatFloat(*ms/1000, 'f', 1, 64) + " s"
}

func displayMillis(ms *float64) string {
	if ms == nil || math.IsNaN(*ms) {
		return notAvailable
	}
	return strconv.FormatFloat(math.Round(*ms), 'f', 0, 64) + " ms"
}

func displayUnitless(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return notAvailable
	}
	return strconv.FormatFloat(math.Round(*v*1000)/1000, 'f', -1, 64)
}
