package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
)

// topN is how many keys each report card lists.
const topN = 10

// pageSize is the sessions list's page length.
const pageSize = 50

// visibleSites lists the websites u may see: all for a superuser, else
// those whose user is u.
func (s *server) visibleSites(u *user) ([]*core.Record, error) {
	var recs []*core.Record
	var err error
	if u.super {
		recs, err = s.app.FindAllRecords(schema.Websites)
	} else {
		recs, err = s.app.FindAllRecords(schema.Websites, dbx.HashExp{"user": u.rec.Id})
	}
	slices.SortFunc(recs, func(a, b *core.Record) int {
		return strings.Compare(strings.ToLower(a.GetString("name")), strings.ToLower(b.GetString("name")))
	})
	return recs, err
}

// siteAndPeriod loads the {id} website and the requested period, or
// answers 404 / 400 itself and returns ok=false.
func (s *server) siteAndPeriod(w http.ResponseWriter, r *http.Request, u *user) (*core.Record, stats.Period, bool) {
	site := s.siteFor(r, u)
	if site == nil {
		s.notFound(w, r, u)
		return nil, stats.Period{}, false
	}
	p, err := s.period(r)
	if err != nil {
		s.fail(w, r, u, http.StatusBadRequest, badPeriod(err))
		return nil, stats.Period{}, false
	}
	return site, p, true
}

// siteFor loads the website of the {id} path value if u may see it.
func (s *server) siteFor(r *http.Request, u *user) *core.Record {
	rec, err := s.app.FindRecordById(schema.Websites, r.PathValue("id"))
	if err != nil || (!u.super && rec.GetString("user") != u.rec.Id) {
		return nil
	}
	return rec
}

type siteView struct {
	ID, Name, Domain, TrackingID, SDK string
	Archived                          bool
	StatsURL, EditURL                 string
}

// Embedded is shown instead of an SDK version for websites that receive
// events through skopos serve's own endpoint (no SDK reports a version).
const Embedded = "Embedded endpoint"

func (s *server) viewSite(rec *core.Record) siteView {
	sdk := rec.GetString("sdkVersion")
	if sdk == "" {
		sdk = "Not connected"
		// data in the last 30 days means events arrive without an SDK
		var n int
		since := time.Now().UTC().AddDate(0, 0, -30).Format("2006-01-02")
		if s.app.DB().NewQuery("SELECT COUNT(*) FROM (SELECT 1 FROM dash_sum WHERE website = {:w} AND date >= {:d} LIMIT 1)").
			Bind(dbx.Params{"w": rec.Id, "d": since}).Row(&n) == nil && n > 0 {
			sdk = Embedded
		}
	}
	return siteView{ID: rec.Id, Name: rec.GetString("name"), Domain: rec.GetString("domain"),
		TrackingID: rec.GetString("trackingId"), SDK: sdk, Archived: rec.GetBool("isArchived"),
		StatsURL: siteURL(rec.Id, nil), EditURL: websiteURL(rec.Id, "")}
}

type overviewRow struct {
	siteView
	PageViews, Visitors int
	ActiveUsers         int
	Err                 bool
}

func (s *server) overview(w http.ResponseWriter, r *http.Request, u *user) {
	sites, err := s.visibleSites(u)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	today, _ := stats.ParsePeriod("today", "", "", s.opts.Now())
	rows := make([]overviewRow, 0, len(sites))
	for _, site := range sites {
		row := overviewRow{siteView: s.viewSite(site)}
		rep, err := stats.Query(r.Context(), s.app, site.Id, today, 1)
		if err != nil {
			s.app.Logger().Error("skopos dashboard: overview stats", "website", site.Id, "error", err)
			row.Err = true
		} else {
			row.PageViews, row.Visitors = int(rep.PageViews.Value), int(rep.Visitors.Value)
			row.ActiveUsers = rep.ActiveUsers
		}
		rows = append(rows, row)
	}
	s.render(w, http.StatusOK, "overview", pageFor(u, "Overview", "overview", rows))
}

// period reads ?period= (default 7d) or ?from=&to= (custom).
func (s *server) period(r *http.Request) (stats.Period, error) {
	q := r.URL.Query()
	name := q.Get("period")
	if name == "" && q.Get("from") == "" && q.Get("to") == "" {
		name = "7d"
	}
	return stats.ParsePeriod(name, q.Get("from"), q.Get("to"), s.opts.Now())
}

// periodQuery is the query that selects p again, for links.
func periodQuery(p stats.Period) url.Values {
	if p.Name == "custom" {
		return url.Values{"period": {"custom"}, "from": {p.From.Format(time.DateOnly)},
			"to": {p.To.AddDate(0, 0, -1).Format(time.DateOnly)}}
	}
	return url.Values{"period": {p.Name}}
}

func with(q url.Values, k, v string) url.Values {
	out := url.Values{}
	for key, vs := range q {
		out[key] = slices.Clone(vs)
	}
	out.Set(k, v)
	return out
}

type periodView struct {
	Name, Label, From, To string
	Options               []periodOption
	Query                 string // encoded, for the JSON endpoint
}

type periodOption struct {
	Value, Label string
	Selected     bool
}

var periodNames = []struct{ value, label string }{
	{"today", "Today"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"},
	{"12mo", "Last 12 months"}, {"custom", "Custom range"},
}

func viewPeriod(p stats.Period) periodView {
	v := periodView{Name: p.Name, From: p.From.UTC().Format(time.DateOnly)}
	last := p.To.Add(-time.Nanosecond).UTC()
	v.To = last.Format(time.DateOnly)
	for _, o := range periodNames {
		v.Options = append(v.Options, periodOption{o.value, o.label, o.value == p.Name})
		if o.value == p.Name {
			v.Label = o.label
		}
	}
	if p.Hourly && p.Name != "custom" {
		v.Label += " (" + p.From.UTC().Format("Jan 2 15:04") + " – " + p.To.UTC().Format("Jan 2 15:04") + " UTC)"
	} else {
		v.Label += " (" + p.From.UTC().Format("Jan 2, 2006") + " – " + last.Format("Jan 2, 2006") + ", UTC days)"
	}
	return v
}

type kpi struct {
	Label, Hint string
	Value       string
	Previous    string
	Change      string
	Trend       string // up, down, flat
	Good        string // good, bad, neutral
	ID          string // element id, for tests and links
}

func makeKPI(id, label, hint string, m stats.Metric, format func(float64) string, lowerIsBetter bool) kpi {
	k := kpi{ID: id, Label: label, Hint: hint, Value: format(m.Value), Previous: format(m.Previous)}
	switch {
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

func count(v float64) string   { return formatInt(v) }
func percent(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + "%" }

type card struct {
	ID, Title, KeyLabel string
	Items               []cardItem
}

type cardItem struct {
	Key   string
	Count int
	Share string // bar width 0–100 (an SVG attribute: CSP forbids inline styles)
	Href  string
}

var cardDefs = []struct{ dim, title, keyLabel string }{
	{"page", "Pages", "Page"},
	{"entryPage", "Entry pages", "Page"},
	{"exitPage", "Exit pages", "Page"},
	{"referrer", "Referrers", "Referrer"},
	{"country", "Countries", "Country"},
	{"device", "Devices", "Device"},
	{"browser", "Browsers", "Browser"},
	{"os", "Operating systems", "OS"},
	{"language", "Languages", "Language"},
	{"customEvent", "Custom events", "Event"},
	{"jsError", "JS errors", "Message"},
}

// otherKey is the summaries' bucket for keys beyond the per-day cap.
const otherKey = "(other)"

func emptyKeyLabel(dim string) string {
	switch dim {
	case "referrer":
		return "(direct)"
	case "country", "device", "browser", "os", "language":
		return "Unknown"
	}
	return "(none)"
}

type sitePageData struct {
	Site        siteView
	Period      periodView
	KPIs        []kpi
	Chart       chart
	Cards       []card
	ActiveUsers int
	LiveURL     string
	SessionsURL string
	FormAction  string
}

func (s *server) sitePage(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	rep, err := stats.Query(r.Context(), s.app, site.Id, p, topN)
	if err != nil {
		if errors.Is(err, stats.ErrBadPeriod) {
			s.fail(w, r, u, http.StatusBadRequest, badPeriod(err))
			return
		}
		s.internal(w, r, u, err)
		return
	}
	pq := periodQuery(p)
	d := sitePageData{
		Site: s.viewSite(site), Period: viewPeriod(p), ActiveUsers: rep.ActiveUsers,
		LiveURL: sitePath(site.Id, "live", nil), SessionsURL: sitePath(site.Id, "sessions", pq),
		FormAction: siteURL(site.Id, nil),
		Chart:      buildChart(rep.Series, rep.SeriesUnit),
		KPIs: []kpi{
			makeKPI("pageViews", "Page views", "", rep.PageViews, count, false),
			makeKPI("visitors", "Visitors", "Sessions started in the period", rep.Visitors, count, false),
			makeKPI("newVisitors", "New visitors", "Sessions that were a visitor's first", rep.NewVisitors, count, false),
			makeKPI("returningVisitors", "Returning visitors", "Sessions of visitors seen before", rep.ReturningVisitors, count, false),
			makeKPI("engagementRate", "Engagement rate", "Share of sessions that engaged", rep.EngagementRate, percent, false),
			makeKPI("bounceRate", "Bounce rate", "Share of sessions with at most one page view or event", rep.BounceRate, percent, true),
			makeKPI("avgDuration", "Avg. duration", "Average session duration", rep.AvgDuration, formatDuration, false),
			makeKPI("jsErrors", "JS errors", "", rep.JSErrors, count, true),
		},
	}
	for _, def := range cardDefs {
		items := rep.Top[def.dim]
		c := card{ID: def.dim, Title: def.title, KeyLabel: def.keyLabel}
		top := 0
		for _, it := range items {
			top = max(top, it.Count)
		}
		for _, it := range items {
			ci := cardItem{Key: it.Key, Count: it.Count, Share: "0"}
			if top > 0 {
				ci.Share = strconv.Itoa(max(1, it.Count*100/top))
			}
			if it.Key == "" {
				ci.Key = emptyKeyLabel(def.dim)
			}
			if it.Key != otherKey {
				switch def.dim {
				case "customEvent":
					ci.Href = sitePath(site.Id, "events", with(pq, "name", it.Key))
				case "jsError":
					ci.Href = sitePath(site.Id, "errors", with(pq, "message", it.Key))
				}
			}
			c.Items = append(c.Items, ci)
		}
		d.Cards = append(d.Cards, c)
	}
	s.render(w, http.StatusOK, "site", pageFor(u, site.GetString("name"), "", d))
}

func badPeriod(err error) string {
	return "That period is not valid: " + strings.TrimPrefix(err.Error(), "stats: ") + "."
}

// live answers the active-users counter's poll. Same definition as
// stats.Report.ActiveUsers (distinct visitors whose session was active in
// the last 5 minutes) but one indexed count instead of a whole report,
// since every open tab asks every 10 seconds.
func (s *server) live(w http.ResponseWriter, r *http.Request, u *user) {
	site := s.siteFor(r, u)
	if site == nil {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	since := s.opts.Now().UTC().Add(-5 * time.Minute).Format(types.DefaultDateLayout)
	var n int
	err := s.app.DB().Select("COUNT(DISTINCT visitor)").From(schema.Sessions).
		Where(dbx.HashExp{"website": site.Id}).AndWhere(dbx.NewExp("lastActivity >= {:since}", dbx.Params{"since": since})).
		WithContext(r.Context()).Row(&n)
	if err != nil {
		s.app.Logger().Error("skopos dashboard: live", "error", err)
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"activeUsers": n})
}

func timeRange(p stats.Period) dbx.Params {
	return dbx.Params{"from": p.From.UTC().Format(types.DefaultDateLayout), "to": p.To.UTC().Format(types.DefaultDateLayout)}
}

type payloadRow struct {
	Data  string
	Count int
}

type eventsData struct {
	Site    siteView
	Period  periodView
	Name    string
	Rows    []payloadRow
	Total   int
	BackURL string
	Limited bool
}

// payloadLimit bounds the distinct payloads listed.
const payloadLimit = 200

func (s *server) eventDrill(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	name := r.URL.Query().Get("name")
	var rows []struct {
		Data  string `db:"eventData"`
		Count int    `db:"n"`
	}
	params := timeRange(p)
	// eventData is NULL when an event had none (JSON columns default to NULL)
	err := s.app.DB().Select("COALESCE(eventData, '') AS eventData", "COUNT(*) AS n").From(schema.Events).
		Where(dbx.HashExp{"website": site.Id, "type": "custom", "eventName": name}).
		AndWhere(dbx.NewExp("timestamp >= {:from} AND timestamp < {:to}", params)).
		GroupBy("eventData").OrderBy("n DESC", "eventData").Limit(payloadLimit + 1).
		WithContext(r.Context()).All(&rows)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := eventsData{Site: s.viewSite(site), Period: viewPeriod(p), Name: name, BackURL: siteURL(site.Id, periodQuery(p))}
	if len(rows) > payloadLimit {
		rows, d.Limited = rows[:payloadLimit], true
	}
	for _, row := range rows {
		d.Rows = append(d.Rows, payloadRow{Data: prettyJSON(row.Data), Count: row.Count})
		d.Total += row.Count
	}
	s.render(w, http.StatusOK, "events", pageFor(u, name+" · "+site.GetString("name"), "", d))
}

// prettyJSON indents a stored JSON payload for reading; the result is
// still untrusted text and is escaped by the template.
func prettyJSON(raw string) string {
	if raw == "" || raw == "null" || raw == "{}" {
		return "(no data)"
	}
	var b bytes.Buffer
	if json.Indent(&b, []byte(raw), "", "  ") != nil {
		return raw
	}
	return b.String()
}

type jsErrorRow struct {
	Message  string         `db:"errorMessage"`
	Stack    string         `db:"stackTrace"`
	URL      string         `db:"url"`
	Count    int            `db:"count"`
	LastSeen types.DateTime `db:"lastSeen"`
	Hash     string         `db:"errorHash"`
}

type errorsData struct {
	Site    siteView
	Message string
	Rows    []jsErrorRow
	BackURL string
}

func (s *server) errorDrill(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	msg := r.URL.Query().Get("message")
	var rows []jsErrorRow
	// The summaries key JS errors by message; one message can have several
	// groups (different stacks), all shown.
	err := s.app.DB().Select("errorMessage", "stackTrace", "url", "count", "lastSeen", "errorHash").From(schema.JSErrors).
		Where(dbx.HashExp{"website": site.Id, "errorMessage": msg}).OrderBy("lastSeen DESC").Limit(20).
		WithContext(r.Context()).All(&rows)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	d := errorsData{Site: s.viewSite(site), Message: msg, Rows: rows, BackURL: siteURL(site.Id, periodQuery(p))}
	s.render(w, http.StatusOK, "errors", pageFor(u, "JS error · "+site.GetString("name"), "", d))
}

type sessionRow struct {
	ID           string         `db:"id"`
	StartedAt    types.DateTime `db:"startedAt"`
	LastActivity types.DateTime `db:"lastActivity"`
	EventCount   int            `db:"eventCount"`
	EntryPath    string         `db:"entryPath"`
	ExitPath     string         `db:"exitPath"`
	Referrer     string         `db:"referrer"`
	Country      string         `db:"country"`
	Device       string         `db:"device"`
	Browser      string         `db:"browser"`
	OS           string         `db:"os"`
	IsNew        bool           `db:"isNewVisitor"`
	IsEngaged    bool           `db:"isEngaged"`
	UserID       string         `db:"userId"`
	UserName     string         `db:"userName"`
	UserEmail    string         `db:"userEmail"`
	Href         string         `db:"-"`
	Duration     string         `db:"-"`
}

type sessionsData struct {
	Site             siteView
	Period           periodView
	Rows             []sessionRow
	PrevURL, NextURL string
	BackURL          string
	Page             int
}

func (s *server) sessionList(w http.ResponseWriter, r *http.Request, u *user) {
	site, p, ok := s.siteAndPeriod(w, r, u)
	if !ok {
		return
	}
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	params := timeRange(p)
	params["w"] = site.Id
	var rows []sessionRow
	err := s.app.DB().NewQuery(`SELECT s.id, s.startedAt, s.lastActivity, s.eventCount, s.entryPath, s.exitPath,
			s.referrer, s.country, s.device, s.browser, s.os, s.isNewVisitor, s.isEngaged,
			COALESCE(v.userId, '') AS userId, COALESCE(v.name, '') AS userName, COALESCE(v.email, '') AS userEmail
		FROM sessions s LEFT JOIN visitors v ON v.id = s.visitor
		WHERE s.website = {:w} AND s.startedAt >= {:from} AND s.startedAt < {:to}
		ORDER BY s.startedAt DESC, s.id LIMIT ` + strconv.Itoa(pageSize+1) + ` OFFSET ` + strconv.Itoa((pg-1)*pageSize)).
		Bind(params).WithContext(r.Context()).All(&rows)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	pq := periodQuery(p)
	d := sessionsData{Site: s.viewSite(site), Period: viewPeriod(p), Page: pg, BackURL: siteURL(site.Id, pq)}
	if len(rows) > pageSize {
		rows = rows[:pageSize]
		d.NextURL = sitePath(site.Id, "sessions", with(pq, "page", strconv.Itoa(pg+1)))
	}
	if pg > 1 {
		d.PrevURL = sitePath(site.Id, "sessions", with(pq, "page", strconv.Itoa(pg-1)))
	}
	for i := range rows {
		rows[i].Href = sitePath(site.Id, "sessions/"+url.PathEscape(rows[i].ID), nil)
		rows[i].Duration = formatDuration(rows[i].LastActivity.Time().Sub(rows[i].StartedAt.Time()).Seconds())
	}
	d.Rows = rows
	s.render(w, http.StatusOK, "sessions", pageFor(u, "Sessions · "+site.GetString("name"), "", d))
}

type timelineEvent struct {
	Time      types.DateTime `db:"timestamp"`
	Type      string         `db:"type"`
	Path      string         `db:"path"`
	EventName string         `db:"eventName"`
	EventData string         `db:"eventData"`
	Data      string         `db:"-"`
}

type sessionData struct {
	Site     siteView
	Fields   [][2]string
	User     [][2]string // identified user: label, value
	Events   []timelineEvent
	Limited  bool
	BackURL  string
	Started  string
	Duration string
}

// timelineLimit bounds the events shown for one session.
const timelineLimit = 1000

func (s *server) sessionTimeline(w http.ResponseWriter, r *http.Request, u *user) {
	site := s.siteFor(r, u)
	if site == nil {
		s.notFound(w, r, u)
		return
	}
	sess, err := s.app.FindRecordById(schema.Sessions, r.PathValue("sid"))
	if err != nil || sess.GetString("website") != site.Id {
		s.notFound(w, r, u)
		return
	}
	var events []timelineEvent
	err = s.app.DB().Select("timestamp", "type", "path", "eventName", "COALESCE(eventData, '') AS eventData").From(schema.Events).
		Where(dbx.HashExp{"session": sess.Id}).OrderBy("timestamp", "id").Limit(timelineLimit + 1).
		WithContext(r.Context()).All(&events)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	started, last := sess.GetDateTime("startedAt").Time(), sess.GetDateTime("lastActivity").Time()
	d := sessionData{Site: s.viewSite(site), BackURL: sitePath(site.Id, "sessions", nil),
		Started: formatTime(started), Duration: formatDuration(last.Sub(started).Seconds())}
	if len(events) > timelineLimit {
		events, d.Limited = events[:timelineLimit], true
	}
	for i := range events {
		if events[i].EventData != "" && events[i].EventData != "null" {
			events[i].Data = prettyJSON(events[i].EventData)
		}
	}
	d.Events = events
	kind := "Returning visitor"
	if sess.GetBool("isNewVisitor") {
		kind = "New visitor"
	}
	d.Fields = [][2]string{
		{"Visitor", kind},
		{"Entry page", sess.GetString("entryPath")},
		{"Exit page", sess.GetString("exitPath")},
		{"Referrer", orDash(sess.GetString("referrer"))},
		{"Country", orDash(place(sess.GetString("country"), sess.GetString("state")))},
		{"Device", orDash(sess.GetString("device"))},
		{"Browser", orDash(sess.GetString("browser"))},
		{"OS", orDash(sess.GetString("os"))},
		{"Language", orDash(sess.GetString("language"))},
		{"Screen", orDash(strings.Trim(sess.GetString("screenWidth")+"×"+sess.GetString("screenHeight"), "×"))},
		{"Engaged", yesNo(sess.GetBool("isEngaged"))},
	}
	if vid := sess.GetString("visitor"); vid != "" {
		if v, err := s.app.FindRecordById(schema.Visitors, vid); err == nil {
			for _, f := range [][2]string{{"User id", "userId"}, {"Name", "name"}, {"Email", "email"}, {"Phone", "phone"}} {
				if val := v.GetString(f[1]); val != "" {
					d.User = append(d.User, [2]string{f[0], val})
				}
			}
		}
	}
	s.render(w, http.StatusOK, "session", pageFor(u, "Session · "+site.GetString("name"), "", d))
}

// place joins country and state, leaving out an unknown state.
func place(country, state string) string {
	if state == "" || state == "Unknown" || state == country {
		return country
	}
	return country + ", " + state
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}
