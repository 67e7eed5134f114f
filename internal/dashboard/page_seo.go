package dashboard

import (
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/seo"
	"github.com/skopos-go/skopos/internal/seorun"
	"github.com/skopos-go/skopos/schema"
)

// Everything of an analysis (titles, descriptions, headings, alt texts,
// link URLs) was written by whoever controls the analyzed site. It is
// shown as plain text only: html/template escapes it, and no analyzed URL
// becomes a link (an href would be one click from a javascript: URL or a
// phishing page dressed in the dashboard's trust).

// seoSummary is the SEO card of the site page and the head of the SEO page.
type seoSummary struct {
	URL string // the SEO page
	// Status is the job's: none (never asked for), pending, running,
	// done or failed.
	Status  string
	Running bool // pending or running
	Error   string
	// Analyzed: there is an analysis to show (maybe an older one while
	// a new one runs or after one failed).
	Analyzed     bool
	Score        int
	Label        string
	Band         string // the label's CSS class
	Dash         string // the gauge's arc: stroke-dasharray over a pathLength of 100
	LastAnalyzed time.Time
	Strategy     string
	Critical     int
	High         int
	// Performance is PageSpeed's performance score, or "N/A".
	Performance            string
	HTTPS, Sitemap, Mobile bool
}

// seoAnalysis is a website's seo_data row: the job and its last analysis.
type seoAnalysis struct {
	Summary seoSummary
	Result  *seo.Result // nil before the first analysis
}

// seoParts are the seo_data fields holding a part of seo.Result as JSON.
func seoParts(res *seo.Result) map[string]any {
	return map[string]any{
		"metaTags": &res.MetaTags, "socialMetaTags": &res.SocialMetaTags, "technicalSeo": &res.TechnicalSEO,
		"headings": &res.Headings, "images": &res.Images, "links": &res.Links,
		"performanceScores": &res.PerformanceScores, "lighthouseData": &res.LighthouseData,
		"analysisWarnings": &res.AnalysisWarnings, "recommendations": &res.Recommendations,
	}
}

// loadSEO reads the website's SEO job and analysis.
func (s *server) loadSEO(site *core.Record) (seoAnalysis, error) {
	a := seoAnalysis{Summary: seoSummary{URL: sitePath(site.Id, "seo", nil), Status: "none", Performance: "N/A"}}
	rec, err := s.app.FindFirstRecordByData(schema.SEOData, "website", site.Id)
	if errors.Is(err, sql.ErrNoRows) {
		return a, nil // never asked for
	}
	if err != nil {
		return a, err
	}
	sum := &a.Summary
	sum.Status, sum.Error, sum.Strategy = rec.GetString("status"), rec.GetString("error"), rec.GetString("strategy")
	sum.Running = sum.Status == seorun.Pending || sum.Status == seorun.Running
	at := rec.GetDateTime("lastAnalyzed").Time()
	if at.IsZero() {
		return a, nil
	}
	res := &seo.Result{Score: rec.GetInt("score"), Label: rec.GetString("label"), LastAnalyzed: at,
		LoadTime: int64(rec.GetFloat("loadTime")), PageSize: int64(rec.GetFloat("pageSize")), URL: websiteHome(site)}
	for name, dst := range seoParts(res) {
		raw := rec.GetString(name)
		if raw == "" {
			continue
		}
		if err := rec.UnmarshalJSONField(name, dst); err != nil {
			// a row of another shape (an old migration) still shows
			// what reads; the rest is said to be unreadable
			res.AnalysisWarnings = append(res.AnalysisWarnings, "The stored "+name+" could not be read.")
		}
	}
	a.Result = res
	sum.Analyzed, sum.Score, sum.Label, sum.LastAnalyzed = true, res.Score, res.Label, at
	sum.Band = scoreBand(res.Label)
	sum.Dash = strconv.Itoa(min(max(res.Score, 0), 100)) + " 100"
	for _, r := range res.Recommendations {
		switch r.Priority {
		case seo.PriorityCritical:
			sum.Critical++
		case seo.PriorityHigh:
			sum.High++
		}
	}
	if ps := res.PerformanceScores; ps != nil && ps.Performance != nil {
		sum.Performance = strconv.Itoa(*ps.Performance)
	}
	t := res.TechnicalSEO
	sum.HTTPS, sum.Sitemap, sum.Mobile = t.HasSSL, t.HasSitemap, t.MobileResponsive
	return a, nil
}

// websiteHome is the home page the analysis fetches (websites.url, which
// the save hook fills).
func websiteHome(site *core.Record) string {
	if u := site.GetString("url"); u != "" {
		return u
	}
	return "https://" + site.GetString("domain") + "/"
}

// scoreBand is the CSS class of a score label; the label itself is
// stored text and never becomes a class name.
func scoreBand(label string) string {
	switch label {
	case seo.LabelExcellent:
		return "band-excellent"
	case seo.LabelStrong:
		return "band-strong"
	case seo.LabelGood:
		return "band-good"
	case seo.LabelNeedsWork:
		return "band-needs-work"
	case seo.LabelCritical:
		return "band-critical"
	}
	return "band-none"
}

// recGroup is the recommendations of one priority.
type recGroup struct {
	Priority, Title string
	Items           []seo.Recommendation
}

var priorities = []struct{ name, title string }{
	{seo.PriorityCritical, "Critical"}, {seo.PriorityHigh, "High"}, {seo.PriorityMedium, "Medium"}, {seo.PriorityLow, "Low"},
}

// groupRecommendations groups recs by priority, most urgent first; a
// priority the analyzer does not know (a migrated row) goes with low.
func groupRecommendations(recs []seo.Recommendation) []recGroup {
	out := make([]recGroup, len(priorities))
	for i, p := range priorities {
		out[i] = recGroup{Priority: p.name, Title: p.title}
	}
	for _, r := range recs {
		i := slices.IndexFunc(priorities, func(p struct{ name, title string }) bool { return p.name == r.Priority })
		if i < 0 {
			i = len(priorities) - 1
		}
		out[i].Items = append(out[i].Items, r)
	}
	return out
}

type keyValue struct{ Key, Value string }

func sortedPairs(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, keyValue{k, m[k]})
	}
	return out
}

// headingLevel is one level's headings, in document order.
type headingLevel struct {
	Tag   string
	Texts []string
}

func headingLevels(h seo.Headings) []headingLevel {
	var out []headingLevel
	for i, texts := range [][]string{h.H1, h.H2, h.H3, h.H4, h.H5, h.H6} {
		out = append(out, headingLevel{Tag: "h" + strconv.Itoa(i+1), Texts: texts})
	}
	return out
}

// historyRow is a past analysis in the SEO page's history table.
type historyRow struct {
	When        time.Time
	Strategy    string
	Score       int
	Label       string
	Performance string
	Critical    int
	High        int
}

type seoPageData struct {
	Site      siteView
	Summary   seoSummary
	Result    *seo.Result
	Groups    []recGroup
	OpenGraph []keyValue
	Twitter   []keyValue
	Headings  []headingLevel
	History   []historyRow
	// Trend is the history's scores as an SVG polyline, oldest left;
	// empty below two analyses.
	Trend string
	// CanRun: the server runs analyses (Options.SEO is set).
	CanRun     bool
	Strategies []string
	Strategy   string // the select's choice
	ActionURL  string
	Admin      bool // may run an analysis
	Queued     bool
	// Refused is why the last "Run analysis" was refused.
	Refused string
}

// historyShown is how many past analyses the SEO page lists.
const historyShown = 30

func (s *server) seoPage(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	s.renderSEO(w, r, u, site, http.StatusOK, r.URL.Query().Get("queued") == "1", "")
}

func (s *server) renderSEO(w http.ResponseWriter, r *http.Request, u *user, site *core.Record, status int, queued bool, refused string) {
	a, err := s.loadSEO(site)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	hist, err := seorun.History(s.app, site.Id, historyShown)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := seoPageData{Site: s.viewSite(site), Summary: a.Summary, Result: a.Result, CanRun: s.opts.SEO != nil,
		Admin:      access.Can(s.app, u.rec, site, access.Admin),
		Strategies: seorun.Strategies, Strategy: a.Summary.Strategy, ActionURL: sitePath(site.Id, "seo", nil),
		Queued: queued, Refused: refused}
	if !slices.Contains(d.Strategies, d.Strategy) {
		d.Strategy = seorun.Strategies[0]
	}
	if res := a.Result; res != nil {
		d.Groups = groupRecommendations(res.Recommendations)
		d.OpenGraph, d.Twitter = sortedPairs(res.SocialMetaTags.OpenGraph), sortedPairs(res.SocialMetaTags.Twitter)
		d.Headings = headingLevels(res.Headings)
	}
	for _, h := range hist {
		row := historyRow{Strategy: h.Strategy, Score: h.Score, Label: h.Label, Performance: "N/A", Critical: h.Critical, High: h.High}
		if dt, err := types.ParseDateTime(h.AnalyzedAt); err == nil {
			row.When = dt.Time()
		}
		// the column is a number that cannot be null: 0 is "no
		// PageSpeed run" (a real run scores at least 1 in practice)
		if h.Performance != nil {
			row.Performance = strconv.Itoa(*h.Performance)
		}
		d.History = append(d.History, row)
	}
	d.Trend = trendLine(d.History)
	s.render(w, status, "seo", pageFor(u, "SEO · "+site.GetString("name"), "", d))
}

// trendLine plots the scores (0–100) of hist, newest first, left to right
// from the oldest in a 100×30 box.
func trendLine(hist []historyRow) string {
	n := len(hist)
	if n < 2 {
		return ""
	}
	pts := make([]string, 0, n)
	for i := range n {
		h := hist[n-1-i]
		score := min(max(h.Score, 0), 100)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", float64(i)*100/float64(n-1), 30-float64(score)*0.3))
	}
	return strings.Join(pts, " ")
}

// runSEO asks for an analysis and returns to the SEO page.
func (s *server) runSEO(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	if s.opts.SEO == nil {
		s.fail(w, r, u, http.StatusServiceUnavailable, "SEO analysis is turned off on this server.")
		return
	}
	wait, err := s.opts.SEO(site, r.PostFormValue("strategy"))
	switch {
	case errors.Is(err, seorun.ErrStrategy):
		s.renderSEO(w, r, u, site, http.StatusBadRequest, false, "Choose the mobile or the desktop strategy.")
	case errors.Is(err, seorun.ErrTooSoon):
		secs := int(wait.Seconds() + 0.999)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.renderSEO(w, r, u, site, http.StatusTooManyRequests, false,
			fmt.Sprintf("This website was analyzed less than a minute ago. Try again in %d seconds.", secs))
	case err != nil:
		s.internal(w, r, u, err)
	default:
		http.Redirect(w, r, sitePath(site.Id, "seo", url.Values{"queued": {"1"}}), http.StatusSeeOther)
	}
}
