package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// topN is how many keys each report card lists.
const topN = 10

type kpi struct {
	Label, Hint string
	Value       string
	Previous    string
	Change      string
	Trend       string // up, down, flat
	Good        string // good, bad, neutral
	ID          string // element id, for tests and links
	// Href, when set, switches the chart to this figure (metricLinks);
	// Current marks the figure the chart shows
	Href    string
	Current bool
}

func makeKPI(id, label, hint string, m stats.Metric, format func(float64) string, lowerIsBetter bool) kpi {
	k := kpi{ID: id, Label: label, Hint: hint, Value: format(m.Value), Previous: format(m.Previous)}
	switch {
	case m.Previous == 0 && m.Value > 0:
		// "+100 %" would be a made-up figure: there is nothing to compare with
		k.Trend, k.Change, k.Good = "up", "new", "neutral"
		return k
	case m.Change > 0:
		k.Trend, k.Change = "up", fmt.Sprintf("+%d%%", m.Change)
	case m.Change < 0:
		k.Trend, k.Change = "down", fmt.Sprintf("−%d%%", -m.Change)
	default:
		k.Trend, k.Change = "flat", "0%"
	}
	k.Good = "neutral"
	if m.Change != 0 {
		if (m.Change > 0) != lowerIsBetter {
			k.Good = "good"
		} else {
			k.Good = "bad"
		}
	}
	return k
}

// card is one report card: one table, or several (campaigns).
type card struct {
	ID, Title string
	Tables    []cardTable
	Note      string // shown instead of the tables
	// Hidden marks a tab's panel that is not the selected one.
	Hidden bool
	// Map is the Countries card's world map; nil for the other cards.
	Map *worldMap
}

// cardBlock is a card, or cards as the tabs of one box (cardTabs).
type cardBlock struct {
	ID    string
	Tabs  []cardTab // none for a lone card
	Cards []card
}

// cardTab is a tab's link: this page with the tab selected, so that
// tabs work without JavaScript (app.js switches them in place).
type cardTab struct {
	CardID, Label, Href string
	Selected            bool
}

// tabBox is one box of tabs: its id and its cards' ids and tab labels.
type tabBox struct {
	id            string
	cards, labels []string
}

// cardTabs are the cards shown as tabs of one box, by card id, with
// their tab labels.
var cardTabs = []tabBox{
	{"pages", []string{"page", "entryPage", "exitPage"}, []string{"Pages", "Entry", "Exit"}},
	{"sources", []string{"sources", "referrer", "campaigns"}, []string{"Sources", "Referrers", "Campaigns"}},
	{"devices", []string{"device", "browser", "os"}, []string{"Devices", "Browsers", "OS"}},
	{"places", []string{"country", "region"}, []string{"Countries", "Regions"}},
}

type cardTable struct {
	ID, Caption, KeyLabel string // Caption only when a card has several tables
	// MetricLabel names the count (Visitors, Pageviews, Events);
	// ShowAll is the full list's page ("" for none).
	MetricLabel, ShowAll string
	// Percents: the items have a share of the period's total.
	Percents bool
	Items    []cardItem
}

type cardItem struct {
	Key     string
	Count   int
	Percent string // of the period's visitors or page views
	Share   string // bar width 0–100 (an SVG attribute: CSP forbids inline styles)
	Href    string // the key's link: a filter, or the JS error drill-down
	// DetailHref is the custom event drill-down (payloads, properties).
	DetailHref string
	// Extra is a note after the key: a page's median time on page and
	// scroll depth, an automatic event's page and visitors.
	Extra string
}

// cardDefs are the report cards in page order; filter is the filter
// dimension a key of the card selects ("" for none: JS errors are not
// linked to sessions).
var cardDefs = []struct {
	id, title string
	tables    []tableDef
}{
	{"page", "Pages", []tableDef{{"page", "", "Page", "page"}}},
	{"entryPage", "Entry pages", []tableDef{{"entryPage", "", "Page", "entryPage"}}},
	{"exitPage", "Exit pages", []tableDef{{"exitPage", "", "Page", "exitPage"}}},
	{"sources", "Sources", []tableDef{
		{"channel", "Channels", "Channel", "channel"},
		{"source", "Sources", "Source", "source"},
	}},
	// the referrer's full URLs come with filters only (a drill-down:
	// the summaries count hosts)
	{"referrer", "Referrers", []tableDef{
		{"referrer", "Hosts", "Referrer", "referrer"},
		{"referrerUrl", "Full URLs", "URL", ""},
	}},
	{"campaigns", "Campaigns", []tableDef{
		{"utm_source", "Source", "utm_source", "utm_source"},
		{"utm_medium", "Medium", "utm_medium", "utm_medium"},
		{"utm_campaign", "Campaign", "utm_campaign", "utm_campaign"},
		{"utm_term", "Term", "utm_term", "utm_term"},
		{"utm_content", "Content", "utm_content", "utm_content"},
	}},
	{"country", "Countries", []tableDef{{"country", "", "Country", "country"}}},
	// regions need a City database (geo): without one the card is left
	// out (anyKnown)
	{"region", "Regions", []tableDef{{"region", "", "Region", "region"}}},
	{"device", "Devices", []tableDef{{"device", "", "Device", "device"}}},
	{"browser", "Browsers", []tableDef{{"browser", "", "Browser", "browser"}}},
	{"os", "Operating systems", []tableDef{{"os", "", "OS", "os"}}},
	{"language", "Languages", []tableDef{{"language", "", "Language", "language"}}},
	{"customEvent", "Custom events", []tableDef{{"customEvent", "", "Event", "event"}}},
	{"jsError", "JS errors", []tableDef{{"jsError", "", "Message", ""}}},
}

type tableDef struct{ dim, caption, keyLabel, filter string }

// anyKnown says whether a breakdown has a key besides Unknown.
func anyKnown(items []stats.Item) bool {
	for _, it := range items {
		if it.Key != "" && it.Key != "Unknown" {
			return true
		}
	}
	return false
}

// otherKey is the summaries' bucket for keys beyond the per-day cap.
const otherKey = "(other)"

func emptyKeyLabel(dim string) string {
	switch dim {
	case "referrer":
		return "(direct)"
	case "country", "region", "device", "browser", "os", "language", "channel", "source":
		return "Unknown"
	}
	return "(none)"
}

type sitePageData struct {
	// GettingStarted is set for a website that has never had an event:
	// the snippet and a line that turns green when the first one comes
	GettingStarted *gettingStarted
	Site           siteView
	Period         periodView
	Filters        filterView
	KPIs           []kpi
	Chart          chart
	Goals          []goalRow
	GoalsURL       string
	// Revenue is the Revenue card's tables (by goal, by page); nil when
	// the period has no revenue
	Revenue    []revenueTable
	FunnelsURL string
	Cards      []card
	// Blocks are the Cards as the page shows them: tabbed where they
	// belong together.
	Blocks      []cardBlock
	ActiveUsers int
	ActiveURL   string // the stream of the "active now" counter; empty without one
	RealtimeURL string // the live view; empty without one
	SessionsURL string
	SharesURL   string // the site's shared links; empty through one
	MembersURL  string // the site's members; empty through a link and for a viewer
	AuditURL    string // the site's audit log; empty below admin
	UptimeURL   string // likewise, the site's uptime page
	// SEO is the SEO card; nil through a shared link (the analysis is
	// the owner's business, and its texts come from the analyzed site).
	SEO *seoSummary
	// FunnelLinks are the funnels' charts through a shared link (a user
	// reaches them from the funnels page instead)
	FunnelLinks []funnelLink
	FormAction  string
	Exports     []exportLink
	// Imported notes that the figures include imported days ("" when
	// they do not).
	Imported string
	// Segments is the segment picker; nil through a shared link.
	Segments *segmentPicker
}

// funnelLink is a funnel's chart as a shared link lists it.
type funnelLink struct{ Name, Href string }

// goalRow is a goal's line in the site page's Goals card.
type goalRow struct {
	Name     string
	Visitors int
	Rate     string
	Share    string
	Href     string // filters by the goal
}

func (s *server) sitePage(w http.ResponseWriter, r *http.Request, rd *reader) {
	site, u := rd.site, rd.u
	req, leave, ok := s.readView(w, r, rd)
	if !ok {
		return
	}
	defer leave()
	p, fs := req.Period, rd.own
	req.Top = topN
	rep, err := stats.Query(r.Context(), s.app, site.Id, req)
	if err != nil {
		s.queryFailed(w, r, u, err)
		return
	}
	pq := periodQuery(p)
	vq := rd.viewQuery(p)
	metric := chartMetricOf(r.URL.Query().Get("metric"))
	// self is this page with q; the chart's metric stays chosen across
	// filters, tabs and periods (metricLinks and intervalLinks set it
	// themselves: plain)
	plain := func(q url.Values) string { return rd.url("", q) }
	self := plain
	if metric.ID != "" {
		self = func(q url.Values) string { return rd.url("", with(q, "metric", metric.ID)) }
	}
	// filterURL is this page with f added (in place of f's dimension)
	filterURL := func(f stats.Filter) string { return self(viewQuery(p, withFilter(fs, f))) }
	d := sitePageData{
		Site: s.readerSite(rd), Period: viewPeriod(p), Filters: rd.filters(p, self), ActiveUsers: rep.ActiveUsers,
		FormAction: rd.url("", nil), Chart: buildChart(rep.Series, rep.PreviousSeries, rep.SeriesUnit, !p.To.Before(s.opts.Now()), metric),
		KPIs: []kpi{
			makeKPI("pageViews", "Page views", "", rep.PageViews, count, false),
			makeKPI("visitors", "Visitors", "Sessions started in the period", rep.Visitors, count, false),
			makeKPI("newVisitors", "New visitors", "Sessions that were a visitor's first", rep.NewVisitors, count, false),
			makeKPI("returningVisitors", "Returning visitors", "Sessions of visitors seen before", rep.ReturningVisitors, count, false),
			makeKPI("engagementRate", "Engagement rate", "Share of sessions that engaged", rep.EngagementRate, percent, false),
			makeKPI("bounceRate", "Bounce rate", "Share of sessions with at most one page view or event", rep.BounceRate, percent, true),
			makeKPI("avgDuration", "Avg. duration", "Average session duration", rep.AvgDuration, formatDuration, false),
		},
	}
	if metric.ID != "" {
		d.Period.Keep = []hiddenInput{{"metric", metric.ID}}
	}
	metricLinks(d.KPIs, metric, vq, plain)
	iq := vq
	if metric.ID != "" {
		iq = with(vq, "metric", metric.ID) // switching the step keeps the metric
	}
	d.Chart.Intervals = intervalLinks(p, iq, plain)
	if !rd.shared() && s.neverTracked(site) {
		d.GettingStarted = &gettingStarted{Snippet: s.snippet(r), SettingsURL: d.Site.EditURL}
	}
	d.Imported = importedNote(rep.Imported)
	if rd.pinned() {
		// counted over every visitor, not the segment's
		d.ActiveUsers = 0
	}
	if rd.shared() {
		// the counter's stream through the link (counts only); none
		// through a pinned link
		if s.opts.Live != nil && !rd.pinned() {
			d.ActiveURL = rd.url("active", nil)
		}
		funnels, err := s.app.FindAllRecords(schema.Funnels, dbx.HashExp{"website": site.Id})
		if err != nil {
			s.internal(w, r, u, err)
			return
		}
		sortByName(funnels)
		for _, f := range funnels {
			d.FunnelLinks = append(d.FunnelLinks, funnelLink{Name: f.GetString("name"), Href: rd.url("funnels/"+url.PathEscape(f.Id), vq)})
		}
	} else {
		// what a shared link does not reach: people's sessions, the live
		// stream of events, management and raw exports
		d.ActiveURL, d.RealtimeURL = s.activeURL([]string{site.Id}), s.realtimeURL(site.Id)
		d.SessionsURL, d.GoalsURL, d.FunnelsURL = sitePath(site.Id, "sessions", vq), sitePath(site.Id, "goals", pq), sitePath(site.Id, "funnels", vq)
		d.Exports = exportLinks(site.Id, p, vq)
		d.UptimeURL = sitePath(site.Id, "uptime", nil)
		if access.Can(s.app, rd.u.rec, site, access.Admin) {
			// links, members, the audit log: an admin's (a viewer would get 403)
			d.SharesURL, d.MembersURL = sitePath(site.Id, "shares", nil), sitePath(site.Id, "members", nil)
			d.AuditURL = sitePath(site.Id, "audit", nil)
		}
		a, err := s.loadSEO(site)
		if err != nil {
			s.internal(w, r, u, err)
			return
		}
		d.SEO = &a.Summary
		if d.Segments, err = s.picker(rd, req); err != nil {
			s.internal(w, r, u, err)
			return
		}
	}
	if rep.JSErrors != nil {
		d.KPIs = append(d.KPIs, makeKPI("jsErrors", "JS errors", "", *rep.JSErrors, count, true))
	}
	topGoal := 0
	for _, g := range rep.Goals {
		topGoal = max(topGoal, g.Visitors)
	}
	for _, g := range rep.Goals {
		d.Goals = append(d.Goals, goalRow{Name: g.Name, Visitors: g.Visitors, Rate: percent(g.ConversionRate),
			Share: barWidth(g.Visitors, topGoal), Href: filterURL(stats.Filter{Dim: "goal", Value: g.Name})})
	}
	if d.Revenue, err = s.revenueTables(r, site.Id, req); err != nil {
		s.queryFailed(w, r, u, err)
		return
	}
	engagement := map[string]stats.PageEngagement{}
	for _, pe := range rep.PageEngagement {
		engagement[pe.Path] = pe
	}
	for _, def := range cardDefs {
		if def.id == "region" && !anyKnown(rep.Top["region"]) {
			continue // no region database, or no region in the period
		}
		c := card{ID: def.id, Title: def.title}
		if def.id == "jsError" && rep.JSErrors == nil {
			c.Note = "JS errors are not linked to sessions, so they are not shown with filters."
		}
		for _, td := range def.tables {
			items, ok := rep.Top[td.dim]
			if !ok {
				continue // a breakdown of filtered reports only
			}
			t := cardTable{ID: td.dim, Caption: td.caption, KeyLabel: td.keyLabel, MetricLabel: metricLabel(td.dim),
				ShowAll: rd.url("breakdown/"+url.PathEscape(td.dim), vq)}
			whole := rep.Visitors.Value
			switch stats.BreakdownMetric(td.dim) {
			case "pageviews":
				whole = rep.PageViews.Value
			case "events":
				whole = 0 // no total to share
			}
			t.Percents = whole > 0
			top := 0
			for _, it := range items {
				top = max(top, it.Count)
			}
			for _, it := range items {
				ci := cardItem{Key: it.Key, Count: it.Count, Share: barWidth(it.Count, top)}
				if t.Percents {
					ci.Percent = percent(float64(int(float64(it.Count)*1000/whole+0.5)) / 10)
				}
				if it.Key == "" {
					ci.Key = emptyKeyLabel(td.dim)
				} else {
					ci.Key = keyName(td.dim, it.Key)
				}
				if it.Key != otherKey {
					switch {
					case td.dim == "jsError":
						ci.Href = rd.url("errors", with(pq, "message", it.Key))
					case td.filter != "":
						ci.Href = filterURL(stats.Filter{Dim: td.filter, Value: it.Key})
					}
					if td.dim == "customEvent" {
						ci.DetailHref = rd.url("events", with(vq, "name", it.Key))
					}
				}
				if pe, ok := engagement[it.Key]; ok && td.dim == "page" {
					ci.Extra = fmt.Sprintf("%s on page · %s scrolled", formatDuration(pe.MedianSeconds), percent(pe.MedianScroll))
				}
				t.Items = append(t.Items, ci)
			}
			c.Tables = append(c.Tables, t)
		}
		if len(c.Tables) == 1 {
			c.Tables[0].Caption = ""
		}
		if def.id == "country" {
			counts, err := s.countryCounts(r.Context(), site.Id, req)
			if err != nil {
				s.queryFailed(w, r, u, err)
				return
			}
			c.Map = buildWorldMap(counts, func(code string) string {
				return filterURL(stats.Filter{Dim: "country", Value: code})
			})
		}
		d.Cards = append(d.Cards, c)
		if def.id == "customEvent" {
			d.Cards = append(d.Cards, autoEventCards(rep, filterURL)...)
		}
	}
	d.Blocks = tabBlocks(d.Cards, r.URL.Query(), plain) // the page's own query: metric included
	s.render(w, http.StatusOK, "site", rd.page(site.GetString("name"), d))
}

// tabBlocks groups cards into the boxes the page shows: those of
// cardTabs as tabs (the one q's tab.<box> names selected, else the
// first), the others alone, in the cards' order.
func tabBlocks(cards []card, q url.Values, self func(url.Values) string) []cardBlock {
	var out []cardBlock
	placed := map[string]bool{}
	byID := map[string]card{}
	for _, c := range cards {
		byID[c.ID] = c
	}
	for _, c := range cards {
		if placed[c.ID] {
			continue
		}
		i := slices.IndexFunc(cardTabs, func(g tabBox) bool { return slices.Contains(g.cards, c.ID) })
		if i < 0 {
			out = append(out, cardBlock{ID: c.ID, Cards: []card{c}})
			continue
		}
		g := cardTabs[i]
		present := slices.DeleteFunc(slices.Clone(g.cards), func(id string) bool { _, ok := byID[id]; return !ok })
		if len(present) == 1 { // one tab is no tabs
			out = append(out, cardBlock{ID: c.ID, Cards: []card{c}})
			placed[c.ID] = true
			continue
		}
		sel := q.Get("tab." + g.id)
		if !slices.Contains(present, sel) {
			sel = present[0]
		}
		b := cardBlock{ID: g.id}
		for j, id := range g.cards {
			m, ok := byID[id]
			if !ok {
				continue
			}
			placed[id] = true
			m.Hidden = id != sel
			b.Cards = append(b.Cards, m)
			b.Tabs = append(b.Tabs, cardTab{CardID: id, Label: g.labels[j], Selected: id == sel,
				Href: self(with(q, "tab."+g.id, id)) + "#box-" + g.id})
		}
		out = append(out, b)
	}
	return out
}

// barWidth is a bar's width in percent of the largest, at least 1 for any
// count above 0.
func barWidth(n, top int) string {
	if top <= 0 || n <= 0 {
		return "0"
	}
	return strconv.Itoa(max(1, n*100/top))
}

// importedNote says which imported days the figures include.
func importedNote(im *stats.Imported) string {
	if im == nil || len(im.Days) == 0 {
		return ""
	}
	src := ""
	if len(im.Sources) > 0 {
		src = " (" + strings.Join(im.Sources, ", ") + ")"
	}
	span := im.Days[0]
	if last := im.Days[len(im.Days)-1]; last != span {
		span += " – " + last
	}
	return fmt.Sprintf("Includes imported data%s for %s (UTC days).", src, span)
}

// autoEventCards are the cards of the browser script's automatic events
// that have data: each row a value (link, form; the page for a 404) with
// the page it happened on and its visitors; a row filters on that page.
func autoEventCards(rep *stats.Report, filterURL func(stats.Filter) string) []card {
	var out []card
	for i, name := range stats.AutoEvents {
		items := rep.AutoEvents[name]
		if len(items) == 0 {
			continue
		}
		label := map[string]string{stats.EventOutbound: "Link", stats.EventDownload: "File", stats.Event404: "Page", stats.EventForm: "Form"}[name]
		t := cardTable{ID: fmt.Sprintf("auto%d", i), KeyLabel: label, MetricLabel: "Events"}
		top := 0
		for _, it := range items {
			top = max(top, it.Count)
		}
		for _, it := range items {
			ci := cardItem{Key: it.Value, Count: it.Count, Share: barWidth(it.Count, top),
				Href: filterURL(stats.Filter{Dim: "page", Value: it.Page}), Extra: fmt.Sprintf("on %s · %d visitors", it.Page, it.Visitors)}
			if name == stats.Event404 {
				ci.Key, ci.Extra = it.Page, fmt.Sprintf("%d visitors", it.Visitors)
			}
			t.Items = append(t.Items, ci)
		}
		out = append(out, card{ID: fmt.Sprintf("auto%d", i), Title: name, Tables: []cardTable{t}})
	}
	return out
}

// gettingStarted is the site page's panel for a website without events.
type gettingStarted struct {
	Snippet     string
	SettingsURL string // the website's settings ("" for a viewer)
}

// neverTracked reports whether site has no event and no summary (an
// imported history counts as tracked).
func (s *server) neverTracked(site *core.Record) bool {
	var n int
	err := s.app.DB().NewQuery("SELECT (EXISTS (SELECT 1 FROM " + schema.Events + " WHERE website = {:w})) + " +
		"(EXISTS (SELECT 1 FROM " + schema.DashSum + " WHERE website = {:w}))").Bind(dbx.Params{"w": site.Id}).Row(&n)
	return err == nil && n == 0
}
