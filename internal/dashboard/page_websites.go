package dashboard

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/uptime"
	"github.com/skopos-go/skopos/schema"
)

// zoneNames are the time zone field's suggestions: every IANA zone of
// the tz database's zone.tab (zones.txt); any IANA name is accepted.
//
//go:embed zones.txt
var zoneList string

var commonZones = func() []string {
	var out []string
	for _, l := range strings.Split(zoneList, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}()

type websitesData struct {
	Sites     []siteView
	Intervals []option
	// Home and UptimeURL are the edit form's (the "uptime-fields"
	// template's); empty here.
	Home, UptimeURL string
	Form            websiteForm
	Errors          map[string]string
	// Behind, when set, says how long the oldest accepted event has been
	// waiting to be stored (over a minute: the writer is behind or the
	// database refuses writes).
	Behind string
}

// behindAfter is how old the oldest unwritten event may get before the
// websites page warns: the writer normally stores within seconds.
const behindAfter = time.Minute

// websiteForm is the add/edit form's values as typed, so a rejected form
// comes back with what the user entered.
type websiteForm struct {
	Name, Domain, IPBlacklist, RetentionDays string
	// URL is the home page (websites.url) the SEO analysis and uptime
	// checks fetch; the record hook checks it and fills
	// https://<domain>/ when it is empty.
	URL             string
	Timezone        string // IANA name, "" for UTC
	ReportFrequency string // none, weekly or monthly
	// ReportSegment is the segment the email reports are pinned to: a
	// saved segment's id, keepPin (the copy already pinned) or "" (none)
	ReportSegment                string
	DisableLocalhost, StoreRawIP bool
	// Monitor is uptime monitoring on; Interval the minutes between
	// checks (one of uptimeIntervals).
	Monitor  bool
	Interval string
}

// intervalOptions are the "Check every" select's options.
func intervalOptions(sel string) []option {
	out := make([]option, 0, len(uptimeIntervals))
	for _, m := range uptimeIntervals {
		v := strconv.Itoa(m)
		label := v + " minutes"
		if m == 1 {
			label = "1 minute"
		}
		out = append(out, option{v, label, v == sel})
	}
	return out
}

// postedMonitoring reads the uptime fields of a website form into f; bad
// is the interval's error, if any.
func postedMonitoring(r *http.Request, f *websiteForm) (seconds int, bad string) {
	f.Monitor = r.PostFormValue("uptimeMonitoring") != ""
	f.Interval = cmp.Or(strings.TrimSpace(r.PostFormValue("uptimeCheckInterval")), defaultIntervalMinutes)
	m, err := strconv.Atoi(f.Interval)
	if err != nil || !slices.Contains(uptimeIntervals, m) {
		return 0, "Choose one of the intervals."
	}
	return m * 60, ""
}

// defaultIntervalMinutes is uptime.DefaultInterval in the form's unit.
var defaultIntervalMinutes = strconv.Itoa(int(uptime.DefaultInterval / time.Minute))

func (s *server) websites(w http.ResponseWriter, r *http.Request, u *user) {
	s.renderWebsites(w, r, u, http.StatusOK, websiteForm{}, nil)
}

func (s *server) renderWebsites(w http.ResponseWriter, r *http.Request, u *user, status int, f websiteForm, errs map[string]string) {
	recs, err := s.visibleSites(u)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	if f.Interval == "" {
		f.Interval = defaultIntervalMinutes
	}
	d := websitesData{Form: f, Errors: errs, Intervals: intervalOptions(f.Interval)}
	if s.opts.OldestUnwritten != nil {
		if t := s.opts.OldestUnwritten(); !t.IsZero() {
			if age := s.opts.Now().Sub(t); age > behindAfter {
				d.Behind = age.Round(time.Second).String()
			}
		}
	}
	for _, rec := range recs {
		v := s.withSDK(r.Context(), rec)
		if !access.Can(s.app, u.rec, rec, access.Admin) {
			v.EditURL = "" // a viewer's: the settings would answer 403
		}
		d.Sites = append(d.Sites, v)
	}
	s.render(w, status, "websites", pageFor(u, "Websites", "websites", d))
}

func (s *server) addWebsite(w http.ResponseWriter, r *http.Request, u *user) {
	f := websiteForm{Name: strings.TrimSpace(r.PostFormValue("name")), Domain: strings.TrimSpace(r.PostFormValue("domain")),
		URL: strings.TrimSpace(r.PostFormValue("url"))}
	interval, badInterval := postedMonitoring(r, &f)
	// The domain is checked (and normalized, and the name defaulted to it)
	// by the websites record hook on save; its refusal comes back from
	// Save as a field error.
	errs := map[string]string{}
	if badInterval != "" {
		errs["uptimeCheckInterval"] = badInterval
	}
	if len(f.Name) > 255 {
		errs["name"] = "At most 255 characters."
	}
	if s.opts.RequireVerified && !u.super && !u.rec.Verified() {
		errs["domain"] = "Verify your email address first: unverified accounts cannot add websites."
	}
	if len(errs) > 0 {
		s.renderWebsites(w, r, u, http.StatusUnprocessableEntity, f, errs)
		return
	}
	col, err := s.app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	rec := core.NewRecord(col)
	rec.Set("name", f.Name)
	rec.Set("domain", f.Domain)
	rec.Set("url", f.URL)
	rec.Set("ipBlacklist", []string{})
	rec.Set("uptimeMonitoring", f.Monitor)
	rec.Set("uptimeCheckInterval", interval)
	if !u.super {
		// a user's sites are theirs; a superuser's belong to no user
		rec.Set("user", u.rec.Id)
	}
	if err := s.app.Save(rec); err != nil {
		if errs := fieldErrors(err); errs != nil {
			s.renderWebsites(w, r, u, http.StatusUnprocessableEntity, f, errs)
			return
		}
		s.internal(w, r, u, err)
		return
	}
	http.Redirect(w, r, websiteURL(rec.Id, "")+"?created=1", http.StatusSeeOther)
}

// fieldErrors turns the validation errors of a refused save (the record's
// own rules and hooks, such as the domain check) into form errors; nil
// when err is not a validation error.
func fieldErrors(err error) map[string]string {
	var verrs validation.Errors
	if !errors.As(err, &verrs) {
		return nil
	}
	out := make(map[string]string, len(verrs))
	for field, e := range verrs {
		msg := e.Error()
		if !strings.HasSuffix(msg, ".") {
			msg += "." // validation messages end without one; the form's sentences do
		}
		out[field] = msg
	}
	return out
}

type websiteData struct {
	Drops     []dropCount
	DropsHint string
	Site      siteView
	Form      websiteForm
	Errors    map[string]string
	Created   bool
	Saved     bool
	Snippet   string
	ActionURL string
	ArchURL   string
	DeleteURL string
	Zones     []string // suggestions for the time zone field
	Intervals []option // the uptime "Check every" select
	Home      string   // the home page the uptime checks fetch
	UptimeURL string
	// ReportFrequencies are the email report select's options.
	ReportFrequencies []string
	// ReportSegments are the report segment select's options.
	ReportSegments []segmentOption
	// SMTPOff: PocketBase's SMTP settings are off, so no email report
	// is sent.
	SMTPOff bool
	// NoOwner: the website belongs to no user, so its email reports have
	// no recipient.
	NoOwner bool
}

func (s *server) editWebsite(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	q := r.URL.Query()
	s.renderWebsite(w, r, u, site, http.StatusOK, formOf(site), nil, q.Get("created") == "1", q.Get("saved") == "1")
}

func formOf(rec *core.Record) websiteForm {
	var ips []string
	_ = json.Unmarshal([]byte(rec.GetString("ipBlacklist")), &ips)
	if len(ips) == 0 {
		raw, _ := json.Marshal(rec.Get("ipBlacklist"))
		_ = json.Unmarshal(raw, &ips)
	}
	return websiteForm{
		Name: rec.GetString("name"), Domain: rec.GetString("domain"), URL: rec.GetString("url"), IPBlacklist: strings.Join(ips, "\n"),
		RetentionDays:    strconv.Itoa(rec.GetInt("dataRetentionDays")),
		Timezone:         rec.GetString("timezone"),
		ReportFrequency:  cmp.Or(rec.GetString("reportFrequency"), "none"),
		ReportSegment:    reportPin(rec),
		DisableLocalhost: rec.GetBool("disableLocalhostTracking"), StoreRawIP: rec.GetBool("storeRawIp"),
		Monitor: rec.GetBool("uptimeMonitoring"), Interval: strconv.Itoa(uptime.IntervalOf(rec) / 60),
	}
}

// snippet is the script tag a website's pages carry, pointing at this
// server as the browser reached it.
func (s *server) snippet(r *http.Request) string {
	o := Origin(r)
	return fmt.Sprintf(`<script defer src="%s%s" data-endpoint="%s%s"></script>`, o, s.opts.ScriptPath, o, s.opts.EventPath)
}

func (s *server) renderWebsite(w http.ResponseWriter, r *http.Request, u *user, site *core.Record, status int,
	f websiteForm, errs map[string]string, created, saved bool) {
	d := websiteData{
		Site: s.withSDK(r.Context(), site), Form: f, Errors: errs, Created: created, Saved: saved,
		Snippet:   s.snippet(r),
		ActionURL: websiteURL(site.Id, ""), ArchURL: websiteURL(site.Id, "archive"), DeleteURL: websiteURL(site.Id, "delete"),
		Zones: commonZones, ReportFrequencies: schema.ReportFrequencies, Intervals: intervalOptions(f.Interval),
		Home: websiteHome(site), UptimeURL: sitePath(site.Id, "uptime", nil),
		SMTPOff: !s.app.Settings().SMTP.Enabled, NoOwner: site.GetString("user") == "",
	}
	var err error
	if d.ReportSegments, err = s.reportChoices(u, site, f.ReportSegment); err != nil {
		s.internal(w, r, u, err)
		return
	}
	d.Drops = s.recentDrops(site.GetString("trackingId"))
	if len(d.Drops) > 0 {
		d.DropsHint = "Test traffic from curl, scripts or headless browsers counts as bot; events from pages outside the domain as domain."
	}
	s.render(w, status, "website", pageFor(u, "Settings · "+site.GetString("name"), "websites", d))
}

type dropCount struct {
	Reason string
	Count  int64
}

// recentDrops lists the website's events filtered in the last hour, most
// first.
func (s *server) recentDrops(trackingID string) []dropCount {
	if s.opts.RecentDrops == nil {
		return nil
	}
	var out []dropCount
	for reason, n := range s.opts.RecentDrops(trackingID) {
		if n > 0 {
			out = append(out, dropCount{reason, n})
		}
	}
	slices.SortFunc(out, func(a, b dropCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Reason, b.Reason))
	})
	return out
}

func (s *server) saveWebsite(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	f := websiteForm{
		Name: strings.TrimSpace(r.PostFormValue("name")), Domain: strings.TrimSpace(r.PostFormValue("domain")),
		URL:         strings.TrimSpace(r.PostFormValue("url")),
		IPBlacklist: r.PostFormValue("ipBlacklist"), RetentionDays: strings.TrimSpace(r.PostFormValue("dataRetentionDays")),
		DisableLocalhost: r.PostFormValue("disableLocalhostTracking") != "", StoreRawIP: r.PostFormValue("storeRawIp") != "",
		Timezone:        strings.TrimSpace(r.PostFormValue("timezone")),
		ReportFrequency: cmp.Or(r.PostFormValue("reportFrequency"), "none"),
		// a form without the field (an older page) keeps the pin
		ReportSegment: keepPin,
	}
	if v, ok := r.PostForm["reportSegment"]; ok && len(v) > 0 {
		f.ReportSegment = v[0]
	}
	interval, badInterval := postedMonitoring(r, &f)
	errs := map[string]string{}
	if badInterval != "" {
		errs["uptimeCheckInterval"] = badInterval
	}
	if !slices.Contains(schema.ReportFrequencies, f.ReportFrequency) {
		errs["reportFrequency"] = "Choose none, weekly or monthly."
	}
	pin, badPin := s.postedReportPin(u, site, f.ReportSegment)
	if badPin {
		errs["reportSegment"] = "Choose one of the segments."
	}
	if _, err := stats.Location(f.Timezone); err != nil {
		errs["timezone"] = "Not a time zone: use an IANA name such as Europe/Berlin or America/New_York, or leave it empty for UTC."
	}
	if f.Name == "" || len(f.Name) > 255 {
		errs["name"] = "Enter a name of at most 255 characters."
	}
	ips, bad := parseBlacklist(f.IPBlacklist)
	if bad != "" {
		errs["ipBlacklist"] = bad
	}
	days := 0
	if f.RetentionDays != "" {
		var err error
		days, err = strconv.Atoi(f.RetentionDays)
		if err != nil || days < 0 || days > 36500 {
			errs["dataRetentionDays"] = "Enter a whole number of days from 0 (keep forever) to 36500."
		}
	}
	if len(errs) > 0 {
		s.renderWebsite(w, r, u, site, http.StatusUnprocessableEntity, f, errs, false, false)
		return
	}
	site.Set("name", f.Name)
	site.Set("domain", f.Domain) // normalized, or refused, by the websites record hook
	site.Set("url", f.URL)       // likewise; empty becomes https://<domain>/
	site.Set("ipBlacklist", ips)
	site.Set("disableLocalhostTracking", f.DisableLocalhost)
	site.Set("storeRawIp", f.StoreRawIP)
	site.Set("dataRetentionDays", days)
	site.Set("timezone", f.Timezone)
	site.Set("reportFrequency", f.ReportFrequency)
	if pin != nil {
		pin.Apply(site, "report")
	}
	site.Set("uptimeMonitoring", f.Monitor)
	site.Set("uptimeCheckInterval", interval)
	before := site.Original()
	if err := s.app.Save(site); err != nil {
		if errs := fieldErrors(err); errs != nil {
			// the page header shows the website as stored, not as typed
			s.renderWebsite(w, r, u, site.Original(), http.StatusUnprocessableEntity, f, errs, false, false)
			return
		}
		s.internal(w, r, u, err)
		return
	}
	if changes := audit.Changes(before, site); len(changes) > 0 {
		s.logChange(u, site, audit.WebsiteUpdate, site.GetString("name"), changes)
	}
	http.Redirect(w, r, websiteURL(site.Id, "")+"?saved=1", http.StatusSeeOther)
}

// parseBlacklist reads one IP or CIDR per line (blank lines and
// surrounding spaces ignored) into canonical strings; bad names the first
// line that is neither.
func parseBlacklist(text string) (ips []string, bad string) {
	ips = []string{}
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var v string
		if strings.Contains(line, "/") {
			p, err := netip.ParsePrefix(line)
			if err != nil {
				return nil, fmt.Sprintf("Line %d is not an IP address or CIDR range (such as 203.0.113.0/24).", i+1)
			}
			v = p.Masked().String()
		} else {
			a, err := netip.ParseAddr(line)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Sprintf("Line %d is not an IP address or CIDR range (such as 203.0.113.7).", i+1)
			}
			v = a.String()
		}
		if !seen[v] {
			seen[v] = true
			ips = append(ips, v)
		}
	}
	if len(ips) > 1000 {
		return nil, "At most 1000 entries."
	}
	return ips, ""
}

func (s *server) archiveWebsite(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	archived := r.PostFormValue("archived") == "1"
	site.Set("isArchived", archived)
	if err := s.app.Save(site); err != nil {
		s.internal(w, r, u, err)
		return
	}
	s.logChange(u, site, audit.WebsiteArchive, site.GetString("name"), map[string]any{"archived": archived})
	http.Redirect(w, r, websiteURL(site.Id, "")+"?saved=1", http.StatusSeeOther)
}

type deleteData struct {
	Site      siteView
	ActionURL string
	Error     string
}

func (s *server) confirmDelete(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	s.render(w, http.StatusOK, "delete", pageFor(u, "Delete "+site.GetString("name"), "websites",
		deleteData{Site: s.viewSite(site), ActionURL: websiteURL(site.Id, "delete")}))
}

// deleteWebsite deletes the site and all its data. The data goes first in
// bulk SQL (the relations to websites do not cascade, and PocketBase
// would otherwise rewrite every referencing row one by one); the website
// record itself goes through app.Delete so that hooks and realtime fire
// (the intake stops accepting its events).
func (s *server) deleteWebsite(w http.ResponseWriter, r *http.Request, u *user, site *core.Record) {
	if strings.TrimSpace(r.PostFormValue("confirm")) != site.GetString("domain") {
		s.render(w, http.StatusUnprocessableEntity, "delete", pageFor(u, "Delete "+site.GetString("name"), "websites",
			deleteData{Site: s.viewSite(site), ActionURL: websiteURL(site.Id, "delete"),
				Error: "Type the domain exactly to confirm."}))
		return
	}
	err := s.app.RunInTransaction(func(tx core.App) error {
		for _, table := range []string{schema.Events, schema.JSErrors, schema.Sessions, schema.Visitors,
			schema.DashSumItems, schema.DashSum, schema.Goals, schema.Funnels, schema.Shares,
			schema.UptimeChecks, schema.UptimeIncidents, schema.UptimeDays} {
			if _, err := tx.DB().Delete(table, dbx.HashExp{"website": site.Id}).Execute(); err != nil {
				return fmt.Errorf("delete %s: %w", table, err)
			}
		}
		return tx.Delete(site)
	})
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	// the rows outlive the website: superusers still read them
	s.logChange(u, site, audit.WebsiteDelete, site.GetString("name"), map[string]any{"domain": site.GetString("domain")})
	http.Redirect(w, r, Prefix+"/websites", http.StatusSeeOther)
}
