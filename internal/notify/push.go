package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// UptimeChanged notifies the uptime_status rules watching site that it
// went down (down) or came back up: incidentID is the incident's id
// (one message per incident and direction), detail what the check saw
// ("HTTP 503", "timeout"). A rule's metadata.notifyOn ("up", "down" or
// "both", the default) says which it wants. It only adds deliveries
// (the sender sends them) and never blocks on a channel.
func (n *Notifier) UptimeChanged(st *core.Record, down bool, incidentID, detail string) error {
	dir, title := "up", "Skopos: %s is up again"
	if down {
		dir, title = "down", "Skopos: %s is down"
	}
	key := fmt.Sprintf("uptime:%s:%s", incidentID, dir)
	return n.push(st, "uptime_status", key, func(r rule) bool {
		on := r.meta("notifyOn")
		return on == "" || on == "both" || on == dir
	}, func(s *site) (string, map[string]any) {
		return fmt.Sprintf(title, siteName(s)), map[string]any{"status": dir, "incident": incidentID, "detail": detail}
	})
}

// CertExpiring notifies the certificate_expiry rules watching site that
// its TLS certificate expires at expiry: once per site and expiry date.
func (n *Notifier) CertExpiring(st *core.Record, expiry time.Time) error {
	date := expiry.UTC().Format(time.DateOnly)
	key := fmt.Sprintf("cert:%s:%s", st.Id, date)
	return n.push(st, "certificate_expiry", key, nil, func(s *site) (string, map[string]any) {
		days := int(expiry.Sub(n.opts.Now()).Hours() / 24)
		return fmt.Sprintf("Skopos: the TLS certificate of %s expires on %s", siteName(s), date),
			map[string]any{"expiry": expiry.UTC().Format(time.RFC3339), "daysLeft": days}
	})
}

// push adds the deliveries of a pushed trigger to the rules of eventType
// watching site that want it, and wakes the sender.
func (n *Notifier) push(rec *core.Record, eventType, key string, wants func(rule) bool, message func(*site) (string, map[string]any)) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := siteOf(rec)
	now := n.opts.Now()
	title, data := message(&st)
	added := false
	err := n.app.RunInTransaction(func(tx core.App) error {
		rules, err := activeRules(ctx, tx.DB(), eventType)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if !r.watches(&st) || (wants != nil && !wants(r)) {
				continue
			}
			a, err := trigger(ctx, tx.DB(), r, key, newPayload(r, eventType, &st, now, title, data), now)
			if err != nil {
				return err
			}
			added = added || a
		}
		return nil
	})
	if added {
		n.wakeSender()
	}
	if err != nil {
		return fmt.Errorf("notify: %s: %w", eventType, err)
	}
	return nil
}
