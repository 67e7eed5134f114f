package seo

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestTitleLengthBoundaries(t *testing.T) {
	cases := []struct {
		length   int
		priority string // of the title recommendation, "" for none
		title    string
		points   int
	}{
		{0, PriorityCritical, "Missing title tag", 0},
		{1, PriorityHigh, "Title tag too short", 4},
		{29, PriorityHigh, "Title tag too short", 4},
		{30, PriorityLow, "Title tag a little short", 6},
		{49, PriorityLow, "Title tag a little short", 6},
		{50, "", "", 8},
		{60, "", "", 8},
		{61, PriorityMedium, "Title tag too long", 6},
		{maxText + 5, PriorityMedium, "Title tag too long", 6},
	}
	for _, tc := range cases {
		title := strings.Repeat("é", tc.length) // characters, not bytes, count
		p := extract([]byte("<title>"+title+"</title>"), mustURL(t, "https://site.test/"))
		r := &Result{MetaTags: p.meta}
		r.evaluate()
		got := metaRec(r, "Title tag", "title tag")
		checkLengthRec(t, "title", tc.length, got, tc.priority, tc.title)
		if p.meta.TitleLength != tc.length {
			t.Errorf("title of %d characters: TitleLength %d", tc.length, p.meta.TitleLength)
		}
		if pts := lengthPoints(titleFit(tc.length), 8); pts != tc.points {
			t.Errorf("title of %d characters: %d points, want %d", tc.length, pts, tc.points)
		}
	}
}

func TestDescriptionLengthBoundaries(t *testing.T) {
	cases := []struct {
		length   int
		priority string
		title    string
	}{
		{0, PriorityCritical, "Missing meta description"},
		{119, PriorityHigh, "Meta description too short"},
		{120, PriorityLow, "Meta description a little short"},
		{149, PriorityLow, "Meta description a little short"},
		{150, "", ""},
		{160, "", ""},
		{161, PriorityMedium, "Meta description too long"},
	}
	for _, tc := range cases {
		desc := strings.Repeat("a", tc.length)
		p := extract([]byte(`<meta name="description" content="`+desc+`">`), mustURL(t, "https://site.test/"))
		r := &Result{MetaTags: p.meta}
		r.evaluate()
		checkLengthRec(t, "description", tc.length, metaRec(r, "description", "description"), tc.priority, tc.title)
	}
}

// metaRec finds the recommendation about the title or description.
func metaRec(r *Result, a, b string) *Recommendation {
	for i, rec := range r.Recommendations {
		if rec.Category == CategoryMeta && (strings.Contains(rec.Title, a) || strings.Contains(rec.Title, b)) {
			return &r.Recommendations[i]
		}
	}
	return nil
}

func checkLengthRec(t *testing.T, what string, length int, got *Recommendation, priority, title string) {
	t.Helper()
	switch {
	case priority == "" && got != nil:
		t.Errorf("%s of %d characters: unexpected %+v", what, length, *got)
	case priority != "" && (got == nil || got.Priority != priority || got.Title != title):
		t.Errorf("%s of %d characters: got %+v, want %s %q", what, length, got, priority, title)
	}
}

func TestLabelBands(t *testing.T) {
	for score, want := range map[int]string{100: LabelExcellent, 90: LabelExcellent, 89: LabelStrong, 75: LabelStrong, 74: LabelGood,
		60: LabelGood, 59: LabelNeedsWork, 45: LabelNeedsWork, 44: LabelCritical, 0: LabelCritical} {
		if got := label(score); got != want {
			t.Errorf("label(%d) = %q, want %q", score, got, want)
		}
	}
}

// perfectResult earns every point of every category but performance.
func perfectResult() *Result {
	return &Result{
		MetaTags: MetaTags{Title: strings.Repeat("t", 55), Description: strings.Repeat("d", 155), Canonical: "/", Viewport: "width=device-width", Charset: "utf-8", Language: "en"},
		SocialMetaTags: SocialMetaTags{OpenGraph: map[string]string{"title": "t", "description": "d", "image": "i", "url": "u"},
			Twitter: map[string]string{"card": "summary", "title": "t"}},
		Headings:     Headings{H1: []string{"h"}, H2: []string{"h"}},
		TechnicalSEO: TechnicalSEO{HasSSL: true, HasSitemap: true, HasRobotsTxt: true, HasStructuredData: true, MobileResponsive: true, Compression: true, Caching: true},
	}
}

func TestScoreWithoutPageSpeedIsScaledFrom90Points(t *testing.T) {
	r := perfectResult()
	r.ApplyPageSpeed(nil)
	if r.Score != 100 {
		t.Errorf("every other point earned: score %d, want 100", r.Score)
	}
	r.TechnicalSEO.Caching, r.TechnicalSEO.HasSitemap = false, false // 90 - 2 - 5 = 83 points
	r.Headings.H2 = nil                                              // - 5 = 78
	r.ApplyPageSpeed(nil)
	if sum := sumPoints(r); sum != 78 || r.Score != 87 { // 7800/90 = 86.67
		t.Errorf("78 of 90 points: sum %d, score %d; want 78 and 87", sum, r.Score)
	}
	r.MetaTags.Language = "" // 77/90 = 85.56
	r.ApplyPageSpeed(nil)
	if r.Score != 86 {
		t.Errorf("77 of 90 points: score %d, want 86", r.Score)
	}

	r = perfectResult()
	r.ApplyPageSpeed(&PageSpeedScores{Performance: intPtr(44)})
	if r.Score != 94 || r.Categories["performance"].Points != 4 {
		t.Errorf("performance 44: score %d (%+v), want 90+4", r.Score, r.Categories["performance"])
	}
	if rec := findRec(r, "Poor performance score"); rec == nil || rec.Priority != PriorityCritical {
		t.Errorf("performance 44: recommendation %+v, want critical", rec)
	}
	r.ApplyPageSpeed(&PageSpeedScores{Performance: intPtr(50)})
	if findRec(r, "Poor performance score") != nil || findRec(r, "Performance could be better") == nil {
		t.Errorf("performance 50: recommendations %+v", r.Recommendations)
	}
}

func sumPoints(r *Result) int {
	s := 0
	for _, c := range r.Categories {
		s += c.Points
	}
	return s
}

func TestApplyPageSpeedCanBeRepeated(t *testing.T) {
	r := perfectResult()
	ps := &PageSpeedScores{Strategy: "desktop", Accessibility: intPtr(80), Warnings: []string{"Strategy DESKTOP: performance missing"}}
	r.ApplyPageSpeed(ps)
	r.ApplyPageSpeed(ps)
	want := []string{"Strategy DESKTOP: performance missing", noPageSpeedWarning}
	if !slices.Equal(r.AnalysisWarnings, want) {
		t.Errorf("warnings after applying twice = %q, want %q", r.AnalysisWarnings, want)
	}
	if r.PerformanceScores == nil || r.PerformanceScores.Metrics.LCP != notAvailable || !r.Categories["performance"].NotApplicable {
		t.Errorf("partial run without performance: %+v, categories %+v", r.PerformanceScores, r.Categories)
	}

	r.ApplyPageSpeed(&PageSpeedScores{Strategy: "mobile", Performance: intPtr(100), FCP: floatPtr(1234), TBT: floatPtr(56.4), CLS: floatPtr(0.12345), SpeedIndex: floatPtr(900)})
	m := r.PerformanceScores.Metrics
	if m != (PerformanceMetrics{FCP: "1.2 s", LCP: "N/A", TBT: "56 ms", CLS: "0.123", SI: "0.9 s"}) {
		t.Errorf("display metrics = %+v", m)
	}
	if *r.TechnicalSEO.PageSpeed != 100 || r.TechnicalSEO.PageSpeedStrategy != "mobile" || slices.Contains(r.AnalysisWarnings, noPageSpeedWarning) {
		t.Errorf("after a full run: technical %+v, warnings %q", r.TechnicalSEO, r.AnalysisWarnings)
	}
}

// A row written by the reference dashboard decodes, and its score and
// recommendations can be recomputed.
func TestReferenceRowDecodes(t *testing.T) {
	row := `{"metaTags":{"title":"Shop","description":null,"keywords":null,"canonical":"https://shop.example/","robots":null,"viewport":"width=device-width","charset":"utf-8","language":"en"},
	"socialMetaTags":{"openGraph":{"title":"Shop"},"twitter":{}},
	"headings":{"h1":["Shop"],"h2":[],"h3":[],"h4":[],"h5":[],"h6":[]},
	"images":{"total":2,"withAlt":1,"withoutAlt":1,"missingAlt":["/a.png"],"emptyAlt":[],"poorQualityAlt":[],"withoutTitle":2,"oversized":[]},
	"links":{"total":3,"internal":2,"external":1,"nofollow":0,"broken":[{"url":"https://shop.example/x","statusCode":404}],"emptyAnchors":[],"suspiciousLinks":[{"href":"#","reason":"Empty or placeholder link"}]},
	"technicalSeo":{"hasRobotsTxt":true,"hasSitemap":false,"hasSSL":true,"hasStructuredData":false,"mobileResponsive":true,"pageSpeed":42,"pageSpeedStrategy":"MOBILE","compression":true,"caching":false},
	"performanceScores":{"performance":42,"accessibility":90,"bestPractices":100,"seo":91,"metrics":{"fcp":"2.1 s","lcp":"4.0 s","tbt":"300 ms","cls":"0.01","si":"3.3 s"},"strategy":"mobile","fetchTime":"2026-01-01T00:00:00.000Z"},
	"lighthouseData":{"lighthouseVersion":"12.0.0","audits":{}},
	"analysisWarnings":[],"recommendations":[{"priority":"critical","category":"technical","issue":"Missing sitemap","description":"…","impact":"high"}],
	"loadTime":812,"pageSize":20480,"lastAnalyzed":"2026-01-01T00:00:00.000Z"}`
	var r Result
	if err := json.Unmarshal([]byte(row), &r); err != nil {
		t.Fatalf("reference row: %v", err)
	}
	if r.Recommendations[0].Title != "Missing sitemap" || r.PerformanceScores.Metrics.LCP != "4.0 s" || r.MetaTags.Title != "Shop" {
		t.Errorf("decoded %+v", r)
	}
	r.evaluate()
	want := []string{"meta: Missing meta description", "technical: Missing sitemap", "performance: Poor performance score"}
	if got := critical(&r); !slices.Equal(got, want) {
		t.Errorf("recomputed critical = %q, want %q", got, want)
	}
}
