package seo

import "slices"

// Category weights: the reference dashboard's. They add up to 100.
const (
	weightMeta        = 25
	weightSocial      = 10
	weightHeadings    = 15
	weightImages      = 15
	weightTechnical   = 25
	weightPerformance = 10
)

// Score labels, from the reference dashboard's bands.
const (
	LabelExcellent = "Excellent"  // 90–100
	LabelStrong    = "Strong"     // 75–89
	LabelGood      = "Good"       // 60–74
	LabelNeedsWork = "Needs work" // 45–59
	LabelCritical  = "Critical"   // 0–44
)

// noPageSpeedWarning is added while the performance category is N/A, so the
// dashboard says why, and removed once scores arrive.
const noPageSpeedWarning = "PageSpeed Insights scores are not available: performance is N/A and the score is computed over the other 90 points, scaled to 100."

// ApplyPageSpeed records a PageSpeed Insights run (nil when there is none,
// e.g. no API key) and recomputes Score, Label, Categories and
// Recommendations from the result's fields. It may be called again, also on
// a Result decoded from storage; the run's warnings join AnalysisWarnings
// once each.
//
// The score is the sum of the categories' points (meta 25, social 10,
// headings 15, images 15, technical 25, performance 10; each category's
// checks are listed in its scoring function). Performance earns
// round(PageSpeed performance / 10) points. Without a PageSpeed performance
// score, performance is N/A and the other categories' points p (out of 90)
// are scaled: Score = round(p × 100 / 90), halves rounding up — so a page
// that earns every other point still scores 100, and 81 of 90 points score
// 90.
func (r *Result) ApplyPageSpeed(ps *PageSpeedScores) {
	if ps.hasScores() {
		r.PerformanceScores = ps.performanceScores()
		r.LighthouseData = ps.lighthouseData()
		r.TechnicalSEO.PageSpeed = ps.Performance
		r.TechnicalSEO.PageSpeedStrategy = ps.Strategy
	} else {
		r.PerformanceScores, r.LighthouseData = nil, nil
		r.TechnicalSEO.PageSpeed, r.TechnicalSEO.PageSpeedStrategy = nil, ""
	}
	if ps != nil {
		for _, w := range ps.Warnings {
			r.warn(w)
		}
	}
	r.AnalysisWarnings = slices.DeleteFunc(r.AnalysisWarnings, func(w string) bool { return w == noPageSpeedWarning })
	if r.TechnicalSEO.PageSpeed == nil {
		r.AnalysisWarnings = append(r.AnalysisWarnings, noPageSpeedWarning)
	}
	r.evaluate()
}

// warn adds a warning unless it is already there.
func (r *Result) warn(w string) {
	if w != "" && !slices.Contains(r.AnalysisWarnings, w) {
		r.AnalysisWarnings = append(r.AnalysisWarnings, w)
	}
}

// evaluate derives the score and recommendations from the result's fields.
func (r *Result) evaluate() {
	r.Categories = map[string]CategoryScore{
		"meta":      {Points: r.metaPoints(), Max: weightMeta},
		"social":    {Points: r.socialPoints(), Max: weightSocial},
		"headings":  {Points: r.headingPoints(), Max: weightHeadings},
		"images":    {Points: r.imagePoints(), Max: weightImages},
		"technical": {Points: r.technicalPoints(), Max: weightTechnical},
	}
	sum := 0
	for _, c := range r.Categories {
		sum += c.Points
	}
	if p := r.TechnicalSEO.PageSpeed; p != nil {
		perf := (clamp(*p, 0, 100) + 5) / 10
		r.Categories["performance"] = CategoryScore{Points: perf, Max: weightPerformance}
		r.Score = sum + perf
	} else {
		r.Categories["performance"] = CategoryScore{Max: weightPerformance, NotApplicable: true}
		other := 100 - weightPerformance
		r.Score = (sum*100 + other/2) / other
	}
	r.Label = label(r.Score)
	r.Recommendations = r.recommend()
}

func label(score int) string {
	switch {
	case score >= 90:
		return LabelExcellent
	case score >= 75:
		return LabelStrong
	case score >= 60:
		return LabelGood
	case score >= 45:
		return LabelNeedsWork
	}
	return LabelCritical
}

// metaPoints: title 8, description 8, canonical 3, viewport 3, charset 2,
// language 1. A title or description of the ideal length earns all its
// points, a short or long one 6, a far too short one 4.
func (r *Result) metaPoints() int {
	m := r.MetaTags
	p := lengthPoints(titleFit(m.titleLen()), 8) + lengthPoints(descriptionFit(m.descriptionLen()), 8)
	p += pointsIf(m.Canonical != "", 3) + pointsIf(m.Viewport != "", 3) + pointsIf(m.Charset != "", 2) + pointsIf(m.Language != "", 1)
	return p
}

func lengthPoints(f fit, full int) int {
	switch f {
	case fitIdeal:
		return full
	case fitShort, fitLong:
		return full - 2
	case fitTooShort:
		return full - 4
	}
	return 0
}

// socialPoints: og:title 2, og:description 2, og:image 2, og:url 1,
// twitter:card 2, and 1 for any of twitter:title, description or image.
func (r *Result) socialPoints() int {
	og, tw := r.SocialMetaTags.OpenGraph, r.SocialMetaTags.Twitter
	p := pointsIf(og["title"] != "", 2) + pointsIf(og["description"] != "", 2) + pointsIf(og["image"] != "", 2) + pointsIf(og["url"] != "", 1)
	p += pointsIf(tw["card"] != "", 2) + pointsIf(tw["title"] != "" || tw["description"] != "" || tw["image"] != "", 1)
	return p
}

// headingPoints: exactly one H1 8 (several 4), at least one H2 5, no
// skipped level 2 (when the page has headings at all).
func (r *Result) headingPoints() int {
	h := r.Headings
	p := 0
	switch {
	case len(h.H1) == 1:
		p += 8
	case len(h.H1) > 1:
		p += 4
	}
	p += pointsIf(len(h.H2) > 0, 5)
	p += pointsIf((len(h.H1) > 0 || len(h.H2) > 0) && len(h.SkippedLevels) == 0, 2)
	return p
}

// imagePoints: a page without images earns all 15; otherwise alt coverage
// earns round(10 × withAlt / total), alt quality round(3 × (total − poor) /
// total), and no oversized image 2.
func (r *Result) imagePoints() int {
	im := r.Images
	if im.Total == 0 {
		return weightImages
	}
	withAlt := clamp(im.WithAlt, 0, im.Total)
	poor := clamp(len(im.PoorQualityAlt), 0, im.Total)
	p := roundDiv(10*withAlt, im.Total) + roundDiv(3*(im.Total-poor), im.Total)
	return p + pointsIf(len(im.Oversized) == 0, 2)
}

// technicalPoints: HTTPS 7, sitemap 5, robots.txt that lets crawlers in 3,
// structured data 3, compression 3, caching 2, no broken internal link 2.
func (r *Result) technicalPoints() int {
	t := r.TechnicalSEO
	p := pointsIf(t.HasSSL, 7) + pointsIf(t.HasSitemap, 5) + pointsIf(t.HasRobotsTxt && !t.RobotsDisallowAll, 3)
	p += pointsIf(t.HasStructuredData, 3) + pointsIf(t.Compression, 3) + pointsIf(t.Caching, 2)
	return p + pointsIf(len(r.Links.Broken) == 0, 2)
}

func pointsIf(ok bool, n int) int {
	if ok {
		return n
	}
	return 0
}

func roundDiv(a, b int) int { return (2*a + b) / (2 * b) }

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

// fit places a title's or description's length against its ideal range.
type fit int

const (
	fitMissing  fit = iota
	fitTooShort     // far below the ideal: high priority
	fitShort        // a little below: low priority
	fitIdeal
	fitLong // above: truncated in search results
)

// Search engines show about 60 characters of a title and 160 of a
// description; below 30 and 120 they waste most of the room they have.
const (
	titleTooShort, titleIdealMin, titleIdealMax = 30, 50, 60
	descTooShort, descIdealMin, descIdealMax    = 120, 150, 160
)

func titleFit(n int) fit { return lengthFit(n, titleTooShort, titleIdealMin, titleIdealMax) }

func descriptionFit(n int) fit { return lengthFit(n, descTooShort, descIdealMin, descIdealMax) }

func lengthFit(n, tooShort, idealMin, idealMax int) fit {
	switch {
	case n == 0:
		return fitMissing
	case n < tooShort:
		return fitTooShort
	case n < idealMin:
		return fitShort
	case n <= idealMax:
		return fitIdeal
	}
	return fitLong
}

// titleLen is the title's length in characters. The stored title may be
// cut at maxText, and a row migrated from the reference has no
// titleLength, hence the larger of the two.
func (m MetaTags) titleLen() int { return max(m.TitleLength, charCount(m.Title)) }

// descriptionLen is titleLen for the description.
func (m MetaTags) descriptionLen() int { return max(m.DescriptionLength, charCount(m.Description)) }
