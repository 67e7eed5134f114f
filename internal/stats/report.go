package stats

import (
	"math"
	"time"
)

// Metric is one KPI of the period with the previous period's value and
// the change in percent, rounded: 100 when the previous value is 0 and the
// current is not, 0 when both are 0.
type Metric struct {
	Value    float64 `json:"value"`
	Previous float64 `json:"previous"`
	Change   int     `json:"change"`
}

// Point is one step of the time series. Its rates are those of the
// report's KPIs over the step's sessions (started in it): BounceRate in
// percent with one decimal, AvgDurationSeconds rounded half up.
type Point struct {
	Time               time.Time `json:"time"`
	PageViews          int       `json:"pageViews"`
	Visitors           int       `json:"visitors"`
	BounceRate         float64   `json:"bounceRate"`
	AvgDurationSeconds float64   `json:"avgDurationSeconds"`

	// the step's bounces and summed session seconds, which the rates
	// are computed from once every row is counted (finishSeries)
	bounces, duration int
}

// Item is one key of a breakdown.
type Item struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// Site identifies the website a report is about.
type Site struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Domain     string `json:"domain"`
	TrackingID string `json:"trackingId"`
}

// Report is the answer for one website and period.
type Report struct {
	Site   Site   `json:"site"`
	Period Period `json:"period"`
	// Filters are the filters every figure honors.
	Filters []Filter `json:"filters"`

	PageViews         Metric `json:"pageViews"`
	Visitors          Metric `json:"visitors"` // sessions started (the Skopos definition)
	NewVisitors       Metric `json:"newVisitors"`
	ReturningVisitors Metric `json:"returningVisitors"`
	EngagementRate    Metric `json:"engagementRate"` // % of sessions engaged
	BounceRate        Metric `json:"bounceRate"`     // % of sessions with ≤ 1 page view or custom event
	AvgDuration       Metric `json:"avgDurationSeconds"`
	// JSErrors is nil when filters apply: JS errors are stored as
	// groups with lifetime counts, not linked to the sessions a filter
	// selects.
	JSErrors *Metric `json:"jsErrors"`

	SeriesUnit string  `json:"seriesUnit"` // the period's Interval: hour, day, week or month
	Series     []Point `json:"series"`
	// PreviousSeries is the previous period step by step, as many steps
	// as Series: step i is Series' step i moved back by the period's
	// length (in local days; 24 hours for "24h"), so the steps together
	// are Period.Previous.
	PreviousSeries []Point `json:"previousSeries"`

	// Top holds, per dash_sum_items dimension (page, entryPage, exitPage,
	// referrer, device, browser, os, language, country, customEvent,
	// jsError, utm_source, utm_medium, utm_campaign, utm_term,
	// utm_content, channel, source), the keys with the
	// highest counts. jsError is absent when filters apply; with filters,
	// referrerUrl lists the full referrer URLs (scheme://host/path) of the
	// selected sessions, the drill-down below a referrer host or source.
	Top map[string][]Item `json:"top"`

	// PageEngagement is, for the pages of Top["page"] that have any, the
	// median time on page and scroll depth (raw rows, filters honored).
	PageEngagement []PageEngagement `json:"pageEngagement"`

	// AutoEvents breaks each automatic event of the browser script
	// (AutoEvents) that has data in the period down by value and page;
	// events without data are absent.
	AutoEvents map[string][]AutoEventItem `json:"autoEvents"`

	// Goals are the website's goals (by name) with their conversions.
	Goals []GoalResult `json:"goals"`

	ActiveUsers int `json:"activeUsers"` // distinct visitors active in the last 5 minutes

	// Imported is set when the figures include imported days (summaries
	// of another tool's export); absent otherwise. Filtered figures read
	// raw rows only: they never include them.
	Imported *Imported `json:"imported,omitempty"`
}

func change(cur, prev float64) int {
	// The figures are whole numbers or rates with one decimal: computed in
	// exact tenths, a change of exactly x.5 % rounds away from zero as it
	// reads (in floating point 72.4 against 80 is -9.4999… %, not -9.5 %).
	c, p := int64(math.Round(cur*10)), int64(math.Round(prev*10))
	switch {
	case p == 0 && c == 0:
		return 0
	case p == 0:
		return 100
	}
	num, den := (c-p)*100, p
	if num < 0 {
		return -int((-2*num + den) / (2 * den))
	}
	return int((2*num + den) / (2 * den))
}

func metric(cur, prev float64) Metric {
	return Metric{Value: cur, Previous: prev, Change: change(cur, prev)}
}
