package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/schema"
)

// Retries: a failed delivery is tried again after each backoff in turn,
// maxAttempts in all, then it is failed.
var backoff = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}

const maxAttempts = 5

// Bounds of one delivery pass.
const (
	deliveriesPerPass = 50
	// passesPerDeliver bounds one Deliver: the rest waits for the next
	// wake or tick.
	passesPerDeliver = 20
	// digestItems is how many of its messages a digest names.
	digestItems = 5
	// digestLookback is how far back the hours to digest are looked for.
	digestLookback = 48 * time.Hour
	// maxError bounds the error text kept on a delivery and a rule.
	maxError = 500
)

// digestPrefix starts the eventKey of a digest: digests are exempt from
// the hourly limit (they are the answer to it).
const digestPrefix = "digest:"

// delivery is a notyf_deliveries row being sent.
type delivery struct {
	ID       string `db:"id"`
	Rule     string `db:"rule"`
	EventKey string `db:"eventKey"`
	Channel  string `db:"channel"`
	Subject  string `db:"subject"`
	Payload  string `db:"payload"`
	Attempts int    `db:"attempts"`
}

// Deliver sends the pending deliveries due at the clock and the digests
// of the hours that have ended. The sending goroutine runs it on each
// wake and every 30 s; tests call it with a moved clock. Its work is
// bounded: what is left waits for the next run.
func (n *Notifier) Deliver(ctx context.Context) error {
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	if err := n.digest(ctx); err != nil {
		return fmt.Errorf("notify: digests: %w", err)
	}
	pass := &deliverPass{n: n, rules: map[string]*rule{}, sent: map[string]int{}}
	for range passesPerDeliver {
		var list []delivery
		err := n.app.DB().Select("id", "rule", "eventKey", "channel", "subject", "payload", "attempts").
			From(schema.NotifyDeliveries).
			Where(dbx.HashExp{"status": statusPending}).
			AndWhere(dbx.NewExp("nextAttempt <= {:now}", dbx.Params{"now": dbTime(n.opts.Now())})).
			OrderBy("nextAttempt", "rowid").Limit(deliveriesPerPass).WithContext(ctx).All(&list)
		if err != nil {
			return fmt.Errorf("notify: deliveries: %w", err)
		}
		for _, d := range list {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := pass.deliver(ctx, d); err != nil {
				return fmt.Errorf("notify: delivery %s: %w", d.ID, err)
			}
		}
		if len(list) < deliveriesPerPass {
			return nil
		}
	}
	return nil
}

// deliverPass is the state of one Deliver: the rules read and the
// messages sent per rule, channel and hour.
type deliverPass struct {
	n     *Notifier
	rules map[string]*rule
	sent  map[string]int
}

func (p *deliverPass) rule(ctx context.Context, id string) (*rule, error) {
	if r, ok := p.rules[id]; ok {
		return r, nil
	}
	r, err := loadRule(ctx, p.n.app.DB(), id)
	if err == nil {
		p.rules[id] = r
	}
	return r, err
}

// sentInHour counts the messages (digests aside) the rule sent on the
// channel in the clock hour.
func (p *deliverPass) sentInHour(ctx context.Context, ruleID, channel string, hour time.Time) (string, int, error) {
	key := ruleID + "|" + channel + "|" + dbTime(hour)
	if n, ok := p.sent[key]; ok {
		return key, n, nil
	}
	var n int
	err := p.n.app.DB().NewQuery("SELECT COUNT(*) FROM " + schema.NotifyDeliveries +
		` WHERE rule = {:rule} AND channel = {:ch} AND status = 'sent' AND sentAt >= {:from} AND sentAt < {:to}
		AND eventKey NOT LIKE 'digest:%'`).WithContext(ctx).
		Bind(dbx.Params{"rule": ruleID, "ch": channel, "from": dbTime(hour), "to": dbTime(hour.Add(p.n.opts.Window))}).Row(&n)
	p.sent[key] = n
	return key, n, err
}

// deliver sends d, folds it into the hour's digest when the rule's limit
// is reached, or schedules its retry.
func (p *deliverPass) deliver(ctx context.Context, d delivery) error {
	n := p.n
	r, err := p.rule(ctx, d.Rule)
	if err != nil {
		return err
	}
	if r == nil || !r.IsActive {
		return n.update(ctx, d.ID, dbx.Params{"status": statusFailed, "error": "the rule is switched off"})
	}
	now := n.opts.Now()
	digest := strings.HasPrefix(d.EventKey, digestPrefix)
	var countKey string
	if !digest {
		var sent int
		if countKey, sent, err = p.sentInHour(ctx, r.ID, d.Channel, now.UTC().Truncate(n.opts.Window)); err != nil {
			return err
		}
		if sent >= n.opts.HourlyLimit {
			return n.update(ctx, d.ID, dbx.Params{"status": statusDigested, "sentAt": dbTime(now)})
		}
	}
	var pl payload
	if err := json.Unmarshal([]byte(d.Payload), &pl); err != nil {
		return n.update(ctx, d.ID, dbx.Params{"status": statusFailed, "error": "invalid payload"})
	}
	pl.Title = d.Subject
	if r.address(d.Channel) == "" {
		return n.update(ctx, d.ID, dbx.Params{"status": statusFailed, "error": "the rule has no " + d.Channel + " anymore"})
	}
	sendErr := n.send(ctx, *r, d.Channel, pl)
	now = n.opts.Now()
	attempts := d.Attempts + 1
	if sendErr == nil {
		if !digest {
			p.sent[countKey]++
		}
		return n.update(ctx, d.ID, dbx.Params{"status": statusSent, "sentAt": dbTime(now), "attempts": attempts, "error": ""})
	}
	msg := errorText(sendErr)
	set := dbx.Params{"attempts": attempts, "error": msg}
	if attempts >= maxAttempts {
		set["status"] = statusFailed
	} else {
		set["nextAttempt"] = dbTime(now.Add(backoff[attempts-1]))
	}
	// recorded even when ctx ends now: the attempt was made
	ctx = context.WithoutCancel(ctx)
	if err := n.recordError(ctx, r.ID, msg, now); err != nil {
		return err
	}
	return n.update(ctx, d.ID, set)
}

// address returns the rule's address on the channel ("" for none).
func (r rule) address(channel string) string {
	if channel == channelWebhook {
		return r.WebhookURL
	}
	return r.RecipientEmail
}

// update sets columns of a delivery (only those: a dashboard reading it
// meanwhile changes nothing).
func (n *Notifier) update(ctx context.Context, id string, set dbx.Params) error {
	set["updated"] = dbTime(n.opts.Now())
	_, err := n.app.DB().Update(schema.NotifyDeliveries, set, dbx.HashExp{"id": id}).WithContext(ctx).Execute()
	return err
}

// recordError sets the rule's last failure.
func (n *Notifier) recordError(ctx context.Context, ruleID, msg string, now time.Time) error {
	_, err := n.app.DB().Update(schema.NotifyRules, dbx.Params{"lastError": msg, "lastErrorAt": dbTime(now)},
		dbx.HashExp{"id": ruleID}).WithContext(ctx).Execute()
	return err
}

// errorText is the error kept on a delivery and its rule: one line,
// bounded.
func errorText(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if r := []rune(s); len(r) > maxError {
		s = string(r[:maxError-1]) + "…"
	}
	return s
}

// digest adds, for each rule and channel with messages folded in an
// hour that has ended, one digest delivery naming how many and the
// first few.
func (n *Notifier) digest(ctx context.Context) error {
	now := n.opts.Now()
	win := n.opts.Window
	hour := now.UTC().Truncate(win)
	var rows []struct {
		Rule    string `db:"rule"`
		Channel string `db:"channel"`
		SentAt  string `db:"sentAt"`
	}
	err := n.app.DB().NewQuery("SELECT rule, channel, sentAt FROM " +
		schema.NotifyDeliveries + ` WHERE status = 'digested' AND sentAt >= {:from} AND sentAt < {:to}
		ORDER BY sentAt, rule, channel`).WithContext(ctx).
		Bind(dbx.Params{"from": dbTime(hour.Add(-digestLookback)), "to": dbTime(hour)}).All(&rows)
	if err != nil {
		return err
	}
	// grouped by rule, channel and window, in the order of their first
	// message
	type group struct {
		Rule, Channel string
		Start         time.Time
		Count         int
	}
	var groups []*group
	index := map[string]*group{}
	for _, r := range rows {
		at, err := time.Parse(dbLayout, r.SentAt)
		if err != nil {
			return fmt.Errorf("sentAt %q: %w", r.SentAt, err)
		}
		start := at.Truncate(win)
		key := r.Rule + "|" + r.Channel + "|" + start.Format(time.RFC3339)
		g := index[key]
		if g == nil {
			g = &group{Rule: r.Rule, Channel: r.Channel, Start: start}
			index[key] = g
			groups = append(groups, g)
		}
		g.Count++
	}
	clock := "15:04"
	if win < time.Minute {
		clock = "15:04:05" // a test's short window
	}
	for _, g := range groups {
		h := g.Start
		key := digestPrefix + h.Format(time.RFC3339)
		var exists int
		err = n.app.DB().NewQuery("SELECT COUNT(*) FROM " + schema.NotifyDeliveries +
			" WHERE rule = {:rule} AND eventKey = {:key} AND channel = {:ch}").WithContext(ctx).
			Bind(dbx.Params{"rule": g.Rule, "key": key, "ch": g.Channel}).Row(&exists)
		if err != nil || exists > 0 {
			if err != nil {
				return err
			}
			continue
		}
		var first []string
		err = n.app.DB().Select("subject").From(schema.NotifyDeliveries).
			Where(dbx.HashExp{"rule": g.Rule, "channel": g.Channel, "status": statusDigested}).
			AndWhere(dbx.NewExp("sentAt >= {:from} AND sentAt < {:to}",
				dbx.Params{"from": dbTime(h), "to": dbTime(h.Add(win))})).
			OrderBy("sentAt", "rowid").Limit(digestItems).WithContext(ctx).Column(&first)
		if err != nil {
			return err
		}
		r, err := loadRule(ctx, n.app.DB(), g.Rule)
		if err != nil || r == nil {
			if err != nil {
				return err
			}
			continue
		}
		items := make([]any, len(first))
		for i, s := range first {
			items[i] = s
		}
		p := newPayload(*r, "digest", nil, h,
			fmt.Sprintf("Skopos: %d more notifications of %q between %s and %s UTC", g.Count, ruleLabel(*r),
				h.Format("2006-01-02 "+clock), h.Add(win).Format(clock)),
			map[string]any{"count": g.Count, "eventType": r.EventType, "hour": h.Format(time.RFC3339), "first": items})
		body, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if _, err := insertDelivery(ctx, n.app.DB(), r.ID, key, g.Channel, p.Title, body, now); err != nil {
			return err
		}
	}
	return nil
}

// ruleLabel is how a message names a rule.
func ruleLabel(r rule) string {
	if r.Name != "" {
		return r.Name
	}
	return r.EventType
}

// SendTest sends a test message on every channel of the rule at once
// (the dashboard's "send a test message"). Nothing is recorded but the
// rule's lastError when a channel fails; the error names the channels
// that failed.
func (n *Notifier) SendTest(ctx context.Context, rec *core.Record) error {
	r := ruleOf(rec)
	chans := r.channels()
	if len(chans) == 0 {
		return errors.New("notify: the rule has neither a recipient email nor a webhook")
	}
	var st *site
	if r.Website != "" {
		var err error
		if st, err = newSites(ctx, n.app.DB()).get(r.Website); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
	}
	now := n.opts.Now()
	p := newPayload(r, "test", st, now, fmt.Sprintf("Skopos: test message of %q", ruleLabel(r)),
		map[string]any{"eventType": r.EventType, "message": "This is a test message: the rule's notifications arrive here."})
	var errs []error
	for _, ch := range chans {
		if err := n.send(ctx, r, ch, p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	err := errors.Join(errs...)
	if rerr := n.recordError(context.WithoutCancel(ctx), r.ID, errorText(err), n.opts.Now()); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return fmt.Errorf("notify: test message: %w", err)
}
