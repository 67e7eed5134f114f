package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/internal/audit"
	"github.com/skopos-go/skopos/schema"
)

// notifyPath is the Notifications page: the account's notification rules.
const notifyPath = Prefix + "/notifications"

// eventLabels name every schema.NotifyEvents value for people.
var eventLabels = map[string]string{
	"new_visitor": "New visitor", "new_session": "New session", "custom_event": "Custom event",
	"daily_summary": "Daily summary", "error_threshold": "JS errors above a threshold", "uptime_status": "Website down or back up",
	"traffic_spike": "Traffic spike", "traffic_drop": "Traffic drop", "tracking_stopped": "Tracking stopped",
	"certificate_expiry": "TLS certificate expiring",
}

func eventLabel(v string) string {
	if l, ok := eventLabels[v]; ok {
		return l
	}
	return v
}

// thresholdEvents are the event types that use the threshold, with what
// it counts.
var thresholdEvents = map[string]string{
	"error_threshold":  "JS errors per hour above which the rule fires.",
	"traffic_spike":    "Percent above the usual visitors of the hour (the median of the same hour over the last 4 weeks).",
	"traffic_drop":     "Percent below the usual visitors of the hour (the median of the same hour over the last 4 weeks).",
	"tracking_stopped": "Hours without any event, on a website that usually has some.",
}

// notifyOns are the choices of an uptime_status rule.
var notifyOns = []option{{"both", "Down and back up", false}, {"down", "Down only", false}, {"up", "Back up only", false}}

type option struct {
	Value, Label string
	Selected     bool
}

// ruleForm is the rule form as typed, by the record's field names. The
// webhook secret is not in it: it is never rendered back.
type ruleForm struct {
	Name, EventType, Website, RecipientEmail, CustomEventName, NotifyOn, Threshold, WebhookURL string
	HasSecret                                                                                  bool
}

// ruleFormView is what the "rule-form" template needs.
type ruleFormView struct {
	Form       ruleForm
	Errors     map[string]string
	Error      string // the form's error that is no field's
	Events     []option
	Sites      []option
	NotifyOns  []option
	Thresholds []keyValue // event type → hint
	Action     string
	Submit     string
	CSRF       string
	MaxEvent   int
}

// ruleRow is a rule in the list.
type ruleRow struct {
	ID, Name, Event, Site, Email string
	Webhook                      bool
	Active                       bool
	Triggers                     int
	LastTriggered, LastErrorAt   time.Time
	LastError                    string
	EditURL, ActiveURL, DelURL   string
}

type notifyData struct {
	Rules []ruleRow
	Form  ruleFormView
	Done  string
}

// deliveryRow is one of a rule's recent notifications.
type deliveryRow struct {
	Created                  time.Time
	Channel, Status, Subject string
	Error                    string
}

type ruleData struct {
	Rule       ruleRow
	Form       ruleFormView
	Deliveries []deliveryRow
	CanTest    bool
	TestURL    string
	Tested     bool
	TestError  string
	Saved      bool
}

var notifyDone = map[string]string{"created": "Rule created.", "on": "Rule switched on.", "off": "Rule switched off.", "deleted": "Rule deleted."}

// ownerField is the notyf_rules field naming u as a rule's owner.
func ownerField(u *user) string {
	if u.super {
		return "superuser"
	}
	return "user"
}

// findRule loads the {rid} rule if it is u's; nil otherwise.
func (s *server) findRule(r *http.Request, u *user) *core.Record {
	rec, err := s.app.FindRecordById(schema.NotifyRules, r.PathValue("rid"))
	if err != nil || rec.GetString(ownerField(u)) != u.rec.Id {
		return nil
	}
	return rec
}

// ownRule runs h with the {rid} rule of u; another account's rule is 404
// like an unknown one.
func (s *server) ownRule(h func(http.ResponseWriter, *http.Request, *user, *core.Record)) func(http.ResponseWriter, *http.Request, *user) {
	return func(w http.ResponseWriter, r *http.Request, u *user) {
		rule := s.findRule(r, u)
		if rule == nil {
			s.notFound(w, r, u)
			return
		}
		h(w, r, u, rule)
	}
}

func ruleURL(id, sub string) string {
	p := notifyPath + "/" + url.PathEscape(id)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

func (s *server) notifications(w http.ResponseWriter, r *http.Request, u *user) {
	f := ruleForm{EventType: schema.NotifyEvents[0], NotifyOn: "both", RecipientEmail: u.email()}
	s.renderNotifications(w, r, u, http.StatusOK, f, nil, "", notifyDone[r.URL.Query().Get("done")])
}

func (s *server) renderNotifications(w http.ResponseWriter, r *http.Request, u *user, status int, f ruleForm, errs map[string]string, msg, done string) {
	sites, err := s.visibleSites(u)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	rules, err := s.app.FindAllRecords(schema.NotifyRules, dbx.HashExp{ownerField(u): u.rec.Id})
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	sortByName(rules)
	d := notifyData{Done: done, Form: s.ruleFormView(u, sites, f, errs, msg, notifyPath, "Create rule")}
	for _, rule := range rules {
		d.Rules = append(d.Rules, ruleRowOf(rule, sites))
	}
	s.render(w, status, "notifications", pageFor(u, "Notifications", "notifications", d))
}

func (s *server) ruleFormView(u *user, sites []*core.Record, f ruleForm, errs map[string]string, msg, action, submit string) ruleFormView {
	v := ruleFormView{Form: f, Errors: errs, Error: msg, Action: action, Submit: submit, CSRF: u.sess.csrf, MaxEvent: schema.MaxEventName}
	for _, e := range schema.NotifyEvents {
		v.Events = append(v.Events, option{e, eventLabel(e), e == f.EventType})
	}
	v.Sites = append(v.Sites, option{"", "All my websites", f.Website == ""})
	for _, site := range sites {
		v.Sites = append(v.Sites, option{site.Id, site.GetString("name") + " (" + site.GetString("domain") + ")", site.Id == f.Website})
	}
	for _, o := range notifyOns {
		o.Selected = o.Value == f.NotifyOn
		v.NotifyOns = append(v.NotifyOns, o)
	}
	for _, e := range schema.NotifyEvents {
		if h, ok := thresholdEvents[e]; ok {
			v.Thresholds = append(v.Thresholds, keyValue{e, h})
		}
	}
	return v
}

func ruleRowOf(rule *core.Record, sites []*core.Record) ruleRow {
	row := ruleRow{ID: rule.Id, Name: rule.GetString("name"), Event: eventLabel(rule.GetString("eventType")), Site: "All my websites",
		Email: rule.GetString("recipientEmail"), Webhook: rule.GetString("webhookUrl") != "", Active: rule.GetBool("isActive"),
		Triggers: rule.GetInt("triggerCount"), LastTriggered: rule.GetDateTime("lastTriggered").Time(),
		LastError: rule.GetString("lastError"), LastErrorAt: rule.GetDateTime("lastErrorAt").Time(),
		EditURL: ruleURL(rule.Id, ""), ActiveURL: ruleURL(rule.Id, "active"), DelURL: ruleURL(rule.Id, "delete")}
	if name := rule.GetString("customEventName"); name != "" && rule.GetString("eventType") == "custom_event" {
		row.Event += ": " + name
	}
	if id := rule.GetString("website"); id != "" {
		row.Site = removedSite
		if i := slices.IndexFunc(sites, func(s *core.Record) bool { return s.Id == id }); i >= 0 {
			row.Site = sites[i].GetString("name")
		}
	}
	return row
}

// postedRule reads the rule form.
func postedRule(r *http.Request) ruleForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	return ruleForm{Name: v("name"), EventType: v("eventType"), Website: v("website"), RecipientEmail: v("recipientEmail"),
		CustomEventName: v("customEventName"), NotifyOn: v("notifyOn"), Threshold: v("threshold"), WebhookURL: v("webhookUrl")}
}

// applyRule checks f and sets it on rule, with secret when it is not
// empty, then saves it. It returns the form's errors (by field, and one
// that is no field's) when the rule is refused; err is for the rest.
func (s *server) applyRule(u *user, rule *core.Record, f ruleForm, secret string) (errs map[string]string, msg string, err error) {
	errs = map[string]string{}
	if f.Name == "" || len(f.Name) > 255 {
		errs["name"] = "Enter a name of at most 255 characters."
	}
	if !slices.Contains(schema.NotifyEvents, f.EventType) {
		errs["eventType"] = "Choose an event from the list."
	}
	if f.Website != "" {
		site, ferr := s.app.FindRecordById(schema.Websites, f.Website)
		if ferr != nil || !access.Can(s.app, u.rec, site, access.Admin) {
			errs["website"] = "Choose a website you own or administer, or all of them."
		}
	}
	if f.EventType == "custom_event" && (f.CustomEventName == "" || len(f.CustomEventName) > schema.MaxEventName) {
		errs["customEventName"] = "Enter the custom event's name (at most " + strconv.Itoa(schema.MaxEventName) + " characters)."
	}
	if f.EventType == "uptime_status" && !slices.ContainsFunc(notifyOns, func(o option) bool { return o.Value == f.NotifyOn }) {
		errs["notifyOn"] = "Choose down, back up, or both."
	}
	threshold := 0.0
	if _, uses := thresholdEvents[f.EventType]; uses && f.Threshold != "" {
		t, perr := strconv.ParseFloat(f.Threshold, 64)
		if perr != nil || t < 0 || t > 1e9 {
			errs["threshold"] = "Enter a number from 0 upwards, or leave it empty for the default."
		}
		threshold = t
	}
	if f.WebhookURL != "" {
		if p, perr := url.Parse(f.WebhookURL); perr != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs["webhookUrl"] = "Enter an http:// or https:// URL."
		}
	}
	if f.RecipientEmail == "" && f.WebhookURL == "" {
		errs["recipientEmail"] = "Enter a recipient email, a webhook URL, or both."
	}
	if len(errs) > 0 {
		return errs, "", nil
	}
	rule.Set("name", f.Name)
	rule.Set("eventType", f.EventType)
	rule.Set("website", f.Website)
	rule.Set("recipientEmail", f.RecipientEmail)
	rule.Set("customEventName", "")
	if f.EventType == "custom_event" {
		rule.Set("customEventName", f.CustomEventName)
	}
	meta := map[string]any{}
	_ = rule.UnmarshalJSONField("metadata", &meta)
	delete(meta, "notifyOn")
	if f.EventType == "uptime_status" {
		meta["notifyOn"] = f.NotifyOn
	}
	rule.Set("metadata", meta)
	rule.Set("threshold", threshold)
	rule.Set("webhookUrl", f.WebhookURL)
	if secret != "" {
		rule.Set("webhookSecret", secret)
	}
	if s.opts.ValidateRule != nil {
		if verr := s.opts.ValidateRule(s.app, rule); verr != nil {
			if fe := fieldErrors(verr); fe != nil {
				return fe, "", nil
			}
			return errs, sentence(verr.Error()), nil
		}
	}
	if serr := s.app.Save(rule); serr != nil {
		if fe := fieldErrors(serr); fe != nil {
			return fe, "", nil
		}
		return nil, "", serr
	}
	return nil, "", nil
}

// sentence starts msg with a capital and ends it with a full stop.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

func (s *server) createRule(w http.ResponseWriter, r *http.Request, u *user) {
	col, err := s.app.FindCollectionByNameOrId(schema.NotifyRules)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	rule := core.NewRecord(col)
	rule.Set(ownerField(u), u.rec.Id)
	rule.Set("isActive", true)
	f := postedRule(r)
	errs, msg, err := s.applyRule(u, rule, f, r.PostFormValue("webhookSecret"))
	switch {
	case err != nil:
		s.internal(w, r, u, err)
	case len(errs) > 0 || msg != "":
		s.renderNotifications(w, r, u, http.StatusUnprocessableEntity, f, errs, msg, "")
	default:
		s.logRule(u, rule, audit.NotifyCreate, map[string]any{"eventType": rule.GetString("eventType")})
		http.Redirect(w, r, notifyPath+"?done=created", http.StatusSeeOther)
	}
}

func (s *server) editRule(w http.ResponseWriter, r *http.Request, u *user, rule *core.Record) {
	q := r.URL.Query()
	s.renderRule(w, r, u, rule, http.StatusOK, formOfRule(rule), nil, "",
		ruleData{Tested: q.Get("tested") == "1", Saved: q.Get("saved") == "1"})
}

func formOfRule(rule *core.Record) ruleForm {
	meta := map[string]any{}
	_ = rule.UnmarshalJSONField("metadata", &meta)
	on, _ := meta["notifyOn"].(string)
	f := ruleForm{Name: rule.GetString("name"), EventType: rule.GetString("eventType"), Website: rule.GetString("website"),
		RecipientEmail: rule.GetString("recipientEmail"), CustomEventName: rule.GetString("customEventName"),
		NotifyOn: on, WebhookURL: rule.GetString("webhookUrl"), HasSecret: rule.GetString("webhookSecret") != ""}
	if f.NotifyOn == "" {
		f.NotifyOn = "both"
	}
	if t := rule.GetFloat("threshold"); t != 0 {
		f.Threshold = strconv.FormatFloat(t, 'f', -1, 64)
	}
	return f
}

// recentDeliveries is how many of a rule's notifications its page lists.
const recentDeliveries = 20

func (s *server) renderRule(w http.ResponseWriter, r *http.Request, u *user, rule *core.Record, status int, f ruleForm,
	errs map[string]string, msg string, d ruleData) {
	sites, err := s.visibleSites(u)
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	dels, err := s.app.FindRecordsByFilter(schema.NotifyDeliveries, "rule = {:r}", "-created", recentDeliveries, 0, dbx.Params{"r": rule.Id})
	if err != nil {
		s.internal(w, r, u, err)
		return
	}
	f.HasSecret = rule.Original().GetString("webhookSecret") != ""
	d.Rule = ruleRowOf(rule.Original(), sites)
	d.Form = s.ruleFormView(u, sites, f, errs, msg, ruleURL(rule.Id, ""), "Save rule")
	d.CanTest, d.TestURL = s.opts.NotifyTest != nil, ruleURL(rule.Id, "test")
	for _, del := range dels {
		d.Deliveries = append(d.Deliveries, deliveryRow{Created: del.GetDateTime("created").Time(), Channel: del.GetString("channel"),
			Status: del.GetString("status"), Subject: del.GetString("subject"), Error: del.GetString("error")})
	}
	s.render(w, status, "notification", pageFor(u, "Rule · "+d.Rule.Name, "notifications", d))
}

func (s *server) saveRule(w http.ResponseWriter, r *http.Request, u *user, rule *core.Record) {
	f := postedRule(r)
	before := rule.Original()
	// an empty secret keeps the stored one: it is never sent to the form
	errs, msg, err := s.applyRule(u, rule, f, r.PostFormValue("webhookSecret"))
	switch {
	case err != nil:
		s.internal(w, r, u, err)
	case len(errs) > 0 || msg != "":
		s.renderRule(w, r, u, rule, http.StatusUnprocessableEntity, f, errs, msg, ruleData{})
	default:
		if changes := audit.Changes(before, rule); len(changes) > 0 {
			s.logRule(u, rule, audit.NotifyUpdate, changes)
		}
		http.Redirect(w, r, ruleURL(rule.Id, "")+"?saved=1", http.StatusSeeOther)
	}
}

func (s *server) switchRule(w http.ResponseWriter, r *http.Request, u *user, rule *core.Record) {
	on := r.PostFormValue("active") == "1"
	before := rule.Original()
	rule.Set("isActive", on)
	if err := s.app.Save(rule); err != nil {
		s.internal(w, r, u, err)
		return
	}
	if changes := audit.Changes(before, rule); len(changes) > 0 {
		s.logRule(u, rule, audit.NotifyUpdate, changes)
	}
	done := "off"
	if on {
		done = "on"
	}
	http.Redirect(w, r, notifyPath+"?done="+done, http.StatusSeeOther)
}

func (s *server) deleteRule(w http.ResponseWriter, r *http.Request, u *user, rule *core.Record) {
	if err := s.app.Delete(rule); err != nil {
		s.internal(w, r, u, err)
		return
	}
	s.logRule(u, rule, audit.NotifyDelete, nil)
	http.Redirect(w, r, notifyPath+"?done=deleted", http.StatusSeeOther)
}

// logRule logs a change to u's notification rule on the website it
// watches, or, watching all of u's, on each website u administers. A
// failure is logged by package audit and does not fail the change.
func (s *server) logRule(u *user, rule *core.Record, action string, details map[string]any) {
	var sites []string
	if w := rule.GetString("website"); w != "" {
		sites = []string{w}
	}
	_ = audit.LogReach(s.app, u.rec, "id", sites, audit.Entry{Actor: u.rec, Action: action, Target: recordTarget(rule), Details: details})
}

// testRule sends a test message through Options.NotifyTest.
func (s *server) testRule(w http.ResponseWriter, r *http.Request, u *user, rule *core.Record) {
	if s.opts.NotifyTest == nil {
		s.fail(w, r, u, http.StatusServiceUnavailable, "Test messages are turned off on this server.")
		return
	}
	if err := s.opts.NotifyTest(r.Context(), rule); err != nil {
		if errors.Is(err, context.Canceled) {
			return // the browser left
		}
		s.renderRule(w, r, u, rule, http.StatusBadGateway, formOfRule(rule), nil, "",
			ruleData{TestError: sentence(err.Error())})
		return
	}
	http.Redirect(w, r, ruleURL(rule.Id, "")+"?tested=1", http.StatusSeeOther)
}
