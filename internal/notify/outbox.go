package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
	"github.com/pocketbase/pocketbase/tools/types"
	"github.com/skopos-go/skopos/schema"
)

// dbLayout is how PocketBase stores a date field.
const dbLayout = types.DefaultDateLayout

func dbTime(t time.Time) string { return t.UTC().Format(dbLayout) }

// newID returns a record id as PocketBase makes them.
func newID() string {
	return security.RandomStringWithAlphabet(15, "abcdefghijklmnopqrstuvwxyz0123456789")
}

// site is what a message says about a website.
type site struct {
	ID       string `json:"id" db:"id"`
	Name     string `json:"name" db:"name"`
	Domain   string `json:"domain" db:"domain"`
	User     string `json:"-" db:"user"`
	Archived bool   `json:"-" db:"isArchived"`
}

func siteOf(rec *core.Record) site {
	return site{ID: rec.Id, Name: rec.GetString("name"), Domain: rec.GetString("domain"),
		User: rec.GetString("user"), Archived: rec.GetBool("isArchived")}
}

// sites caches the websites one pass reads.
type sites struct {
	db    dbx.Builder
	ctx   context.Context
	byID  map[string]*site
	owner map[string][]site // by user id ("" is every site)
}

func newSites(ctx context.Context, db dbx.Builder) *sites {
	return &sites{db: db, ctx: ctx, byID: map[string]*site{}, owner: map[string][]site{}}
}

// get returns the website id, nil when it is gone.
func (s *sites) get(id string) (*site, error) {
	if st, ok := s.byID[id]; ok {
		return st, nil
	}
	var st site
	err := s.db.NewQuery("SELECT id, name, domain, user, isArchived FROM " + schema.Websites + " WHERE id = {:id}").
		WithContext(s.ctx).Bind(dbx.Params{"id": id}).One(&st)
	if errors.Is(err, sql.ErrNoRows) {
		s.byID[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.byID[id] = &st
	return &st, nil
}

// of returns the websites a rule watches: its website, else the sites its
// user owns or administers, else (a superuser's rule) every site; archived sites are left
// out.
func (s *sites) of(r rule) ([]site, error) {
	if r.Website != "" {
		st, err := s.get(r.Website)
		if err != nil || st == nil || st.Archived {
			return nil, err
		}
		if r.User != "" && st.User != r.User {
			// a member's rule fires while they administer the site
			// (access.Admin): a removed or demoted member's rules fall silent
			var n int
			err := s.db.NewQuery("SELECT COUNT(*) FROM " + schema.Members + " WHERE website = {:w} AND user = {:u} AND role = 'admin'").
				WithContext(s.ctx).Bind(dbx.Params{"w": st.ID, "u": r.User}).Row(&n)
			if err != nil || n == 0 {
				return nil, err
			}
		}
		return []site{*st}, nil
	}
	if r.User == "" && r.Superuser == "" {
		return nil, nil
	}
	if list, ok := s.owner[r.User]; ok {
		return list, nil
	}
	q := s.db.Select("id", "name", "domain", "user", "isArchived").From(schema.Websites).
		Where(dbx.HashExp{"isArchived": false}).OrderBy("created", "id").WithContext(s.ctx)
	if r.User != "" {
		// the user's own sites and those they administer (access.Admin)
		q.AndWhere(dbx.Or(dbx.HashExp{"user": r.User},
			dbx.NewExp("id IN (SELECT website FROM "+schema.Members+" WHERE user = {:member} AND role = 'admin')", dbx.Params{"member": r.User})))
	}
	var list []site
	if err := q.All(&list); err != nil {
		return nil, err
	}
	s.owner[r.User] = list
	return list, nil
}

// rule is what evaluation and delivery read of a notyf_rules row.
type rule struct {
	ID              string         `db:"id"`
	User            string         `db:"user"`
	Superuser       string         `db:"superuser"`
	Website         string         `db:"website"`
	Name            string         `db:"name"`
	EventType       string         `db:"eventType"`
	RecipientEmail  string         `db:"recipientEmail"`
	CustomEventName string         `db:"customEventName"`
	Metadata        sql.NullString `db:"metadata"`
	IsActive        bool           `db:"isActive"`
	WebhookURL      string         `db:"webhookUrl"`
	WebhookSecret   string         `db:"webhookSecret"`
	Threshold       float64        `db:"threshold"`
}

var ruleColumns = []string{"id", "user", "superuser", "website", "name", "eventType", "recipientEmail", "customEventName",
	"metadata", "isActive", "webhookUrl", "webhookSecret", "threshold"}

func ruleOf(rec *core.Record) rule {
	meta, _ := json.Marshal(rec.Get("metadata"))
	return rule{ID: rec.Id, User: rec.GetString("user"), Superuser: rec.GetString("superuser"),
		Website: rec.GetString("website"), Name: rec.GetString("name"), EventType: rec.GetString("eventType"),
		RecipientEmail: rec.GetString("recipientEmail"), CustomEventName: rec.GetString("customEventName"),
		Metadata: sql.NullString{String: string(meta), Valid: true}, IsActive: rec.GetBool("isActive"),
		WebhookURL: rec.GetString("webhookUrl"), WebhookSecret: rec.GetString("webhookSecret"),
		Threshold: rec.GetFloat("threshold")}
}

// watches says whether the rule applies to an event of st.
func (r rule) watches(st *site) bool {
	switch {
	case st == nil:
		return false
	case r.Website != "":
		return r.Website == st.ID
	case r.User != "":
		return st.User == r.User
	default:
		return r.Superuser != "" // a superuser's rule for every site
	}
}

// channels are the rule's delivery channels.
func (r rule) channels() []string {
	var out []string
	if r.RecipientEmail != "" {
		out = append(out, channelEmail)
	}
	if r.WebhookURL != "" {
		out = append(out, channelWebhook)
	}
	return out
}

// meta returns the string setting key of the rule's metadata.
func (r rule) meta(key string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(r.Metadata.String), &m)
	s, _ := m[key].(string)
	return s
}

// threshold returns the rule's threshold, def when unset.
func (r rule) threshold(def float64) float64 {
	if r.Threshold > 0 {
		return r.Threshold
	}
	return def
}

// loadRule returns the rule id, nil when it is gone.
func loadRule(ctx context.Context, db dbx.Builder, id string) (*rule, error) {
	var r rule
	err := db.Select(ruleColumns...).From(schema.NotifyRules).Where(dbx.HashExp{"id": id}).WithContext(ctx).One(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// activeRules returns the active rules of the event types.
func activeRules(ctx context.Context, db dbx.Builder, types ...string) ([]rule, error) {
	var list []rule
	in := make([]any, len(types))
	for i, t := range types {
		in[i] = t
	}
	err := db.Select(ruleColumns...).From(schema.NotifyRules).
		Where(dbx.In("eventType", in...)).AndWhere(dbx.HashExp{"isActive": true}).
		OrderBy("created", "id").WithContext(ctx).All(&list)
	return list, err
}

// Channels of a delivery.
const (
	channelEmail   = "email"
	channelWebhook = "webhook"
)

// Statuses of a delivery.
const (
	statusPending  = "pending"
	statusSent     = "sent"
	statusFailed   = "failed"
	statusDigested = "digested"
)

// payload is what a delivery carries: its JSON is the webhook's body,
// and the email is rendered from it.
type payload struct {
	Rule  payloadRule    `json:"rule"`
	Event string         `json:"event"`
	Site  *site          `json:"site"`
	Data  map[string]any `json:"data"`
	Time  string         `json:"time"`
	// Title is the message's subject (the delivery's subject column).
	Title string `json:"-"`
}

type payloadRule struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func newPayload(r rule, event string, st *site, at time.Time, title string, data map[string]any) payload {
	return payload{Rule: payloadRule{r.ID, r.Name}, Event: event, Site: st, Data: data,
		Time: at.UTC().Format(time.RFC3339), Title: subjectLine(title)}
}

// trigger inserts the deliveries of one match, one per channel of the
// rule, unless they exist (the unique rule, eventKey, channel), and
// counts the trigger on the rule when one was new. It reports whether
// one was.
func trigger(ctx context.Context, db dbx.Builder, r rule, eventKey string, p payload, now time.Time) (bool, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	added := false
	for _, ch := range r.channels() {
		ok, err := insertDelivery(ctx, db, r.ID, eventKey, ch, p.Title, body, now)
		if err != nil {
			return added, err
		}
		added = added || ok
	}
	if added {
		_, err = db.NewQuery("UPDATE " + schema.NotifyRules +
			" SET triggerCount = triggerCount + 1, lastTriggered = {:now} WHERE id = {:id}").
			WithContext(ctx).Bind(dbx.Params{"now": dbTime(now), "id": r.ID}).Execute()
	}
	return added, err
}

// insertDelivery adds a pending delivery unless (rule, eventKey, channel)
// has one: that unique index is the exactly-once of notifications.
func insertDelivery(ctx context.Context, db dbx.Builder, ruleID, eventKey, channel, subject string, body []byte, now time.Time) (bool, error) {
	at := dbTime(now)
	res, err := db.NewQuery("INSERT OR IGNORE INTO " + schema.NotifyDeliveries +
		` (id, rule, eventKey, channel, status, subject, payload, attempts, nextAttempt, sentAt, error, created, updated)
		VALUES ({:id}, {:rule}, {:key}, {:ch}, 'pending', {:subject}, {:payload}, 0, {:at}, '', '', {:at}, {:at})`).
		WithContext(ctx).Bind(dbx.Params{"id": newID(), "rule": ruleID, "key": eventKey, "ch": channel,
		"subject": subject, "payload": string(body), "at": at}).Execute()
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// delivered reports whether the rule has a delivery of eventKey (on any
// channel): the periodic rules skip the work of one already made.
func delivered(ctx context.Context, db dbx.Builder, ruleID, eventKey string) (bool, error) {
	var n int
	err := db.NewQuery("SELECT COUNT(*) FROM (SELECT 1 FROM " + schema.NotifyDeliveries +
		" WHERE rule = {:rule} AND eventKey = {:key} LIMIT 1)").
		WithContext(ctx).Bind(dbx.Params{"rule": ruleID, "key": eventKey}).Row(&n)
	return n > 0, err
}

// readState returns a skopos_state value ("" and false when unset).
func readState(ctx context.Context, db dbx.Builder, name string) (string, bool, error) {
	var v string
	err := db.NewQuery("SELECT value FROM " + schema.State + " WHERE name = {:name}").
		WithContext(ctx).Bind(dbx.Params{"name": name}).Row(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// writeState sets a skopos_state value.
func writeState(ctx context.Context, db dbx.Builder, name, value string, now time.Time) error {
	_, err := db.NewQuery("INSERT INTO " + schema.State + ` (id, name, value, created, updated)
		VALUES ({:id}, {:name}, {:value}, {:at}, {:at})
		ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated = excluded.updated`).
		WithContext(ctx).Bind(dbx.Params{"id": newID(), "name": name, "value": value, "at": dbTime(now)}).Execute()
	return err
}
