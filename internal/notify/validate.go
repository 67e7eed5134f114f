package notify

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/access"
	"github.com/skopos-go/skopos/schema"
)

// FieldErrors are the problems of a rule, by field name (notyf_rules'
// names; "metadata.notifyOn" for a setting in metadata).
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e[k]
	}
	return "notify: invalid rule: " + strings.Join(parts, "; ")
}

// thresholdRanges are the thresholds each event type accepts (0 is its
// default); the other types take none.
var thresholdRanges = map[string]struct {
	min, max float64
	unit     string
}{
	"error_threshold":  {1, 1e6, "JS errors per hour"},
	"traffic_spike":    {10, 10000, "percent"},
	"traffic_drop":     {10, 100, "percent"},
	"tracking_stopped": {1, 720, "hours"},
}

// MinSecret is the shortest webhook secret ValidateRule accepts.
const MinSecret = 16

// NewSecret returns a random webhook secret (64 hex characters).
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ValidateRule checks a notyf_rules record before the dashboard saves
// it: a known event type; a recipient email or a webhook (an absolute
// http or https URL with a secret of MinSecret characters or more); the
// custom event name of a custom_event rule; the threshold's range for
// its type; metadata.notifyOn of an uptime_status rule (up, down or
// both); an owner (user or superuser) and, for a user's rule, a website
// of that user's. The error is FieldErrors.
func ValidateRule(app core.App, rec *core.Record) error {
	errs := FieldErrors{}
	r := ruleOf(rec)
	if !slices.Contains(schema.NotifyEvents, r.EventType) {
		errs["eventType"] = "must be one of " + strings.Join(schema.NotifyEvents, ", ")
	}
	if r.User == "" && r.Superuser == "" {
		errs["user"] = "the rule needs an owner"
	}
	if r.Website != "" {
		site, err := app.FindRecordById(schema.Websites, r.Website)
		switch {
		case err != nil:
			errs["website"] = "no such website"
		case r.User != "" && !userAdministers(app, r.User, site):
			errs["website"] = "not a website the rule's user owns or administers"
		}
	}
	if r.RecipientEmail == "" && r.WebhookURL == "" {
		errs["recipientEmail"] = "a recipient email or a webhook URL is required"
	}
	if r.RecipientEmail != "" {
		if a, err := mail.ParseAddress(r.RecipientEmail); err != nil || a.Address != r.RecipientEmail {
			errs["recipientEmail"] = "not an email address"
		}
	}
	if r.WebhookURL != "" {
		u, err := url.Parse(r.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			errs["webhookUrl"] = "must be an absolute http or https URL"
		}
		if len(r.WebhookSecret) < MinSecret {
			errs["webhookSecret"] = fmt.Sprintf("at least %d characters are required with a webhook", MinSecret)
		}
	}
	if r.EventType == "custom_event" && strings.TrimSpace(r.CustomEventName) == "" {
		errs["customEventName"] = "the custom event's name is required"
	}
	if rg, ok := thresholdRanges[r.EventType]; ok {
		if t := r.Threshold; t != 0 && (t < rg.min || t > rg.max) {
			errs["threshold"] = fmt.Sprintf("must be from %g to %g %s (0: the default)", rg.min, rg.max, rg.unit)
		}
	} else if r.Threshold != 0 {
		errs["threshold"] = "this event type takes no threshold"
	}
	var meta any
	if err := json.Unmarshal([]byte(r.Metadata.String), &meta); err == nil && meta != nil {
		m, ok := meta.(map[string]any)
		switch {
		case !ok:
			errs["metadata"] = "must be an object"
		case r.EventType == "uptime_status":
			if v, set := m["notifyOn"]; set && v != "up" && v != "down" && v != "both" && v != "" {
				errs["metadata.notifyOn"] = "must be up, down or both"
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// userAdministers reports whether the users record id owns or administers
// site (access.Admin).
func userAdministers(app core.App, id string, site *core.Record) bool {
	u, err := app.FindRecordById(schema.Users, id)
	return err == nil && access.Can(app, u, site, access.Admin)
}
