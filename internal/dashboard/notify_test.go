package dashboard_test

// The Notifications page over HTTP: rules are created, edited, switched,
// tested and deleted through its forms (CSRF-checked, Post/Redirect/Get)
// by their owner only; refused forms come back as typed except the
// webhook secret, which is never rendered; hostile texts are escaped.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

func TestNotificationsPage(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@notify.example", "ada-password-123")
	bobRec := addUser(t, e.app, "bob@notify.example", "bob-password-123")
	site := addSite(t, e.app, evil[0], "shop.notify.example", ada.Id)
	bobSite := addSite(t, e.app, "Bob's", "bob.notify.example", bobRec.Id)

	var tested atomic.Int32
	var testErr atomic.Pointer[error]
	e.use(dashboard.Options{
		NotifyTest: func(_ context.Context, rule *core.Record) error {
			tested.Add(1)
			if p := testErr.Load(); p != nil {
				return *p
			}
			return nil
		},
		ValidateRule: func(_ core.App, rule *core.Record) error {
			if rule.GetString("name") == "refuse me" {
				return errors.New("the notifier refuses " + evil[1])
			}
			return nil
		},
	})
	c := e.client(t)
	c.mustLogin("ada@notify.example", "ada-password-123")
	const page = "/dashboard/notifications"
	const secret = "s3cret-webhook-value"

	r := c.get(page)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<a href="/dashboard/notifications" aria-current="page">Notifications</a>`) ||
		!strings.Contains(r.body, `id="no-rules">None yet.`) || !strings.Contains(r.body, `value="ada@notify.example"`) {
		t.Fatalf("page: %d\n%s", r.StatusCode, r.body)
	}
	for _, ev := range schema.NotifyEvents {
		if !strings.Contains(r.body, `<option value="`+ev+`"`) {
			t.Errorf("no event option %q", ev)
		}
		if strings.Contains(r.body, `">`+ev+`</option>`) {
			t.Errorf("event %q has no label", ev)
		}
	}
	if !strings.Contains(r.body, `<option value="" selected>All my websites</option>`) || strings.Contains(r.body, bobSite.Id) {
		t.Error("the website select is not the account's")
	}

	valid := func() url.Values {
		return url.Values{"name": {evil[0]}, "eventType": {"custom_event"}, "customEventName": {evil[1]}, "website": {site.Id},
			"recipientEmail": {"alerts@notify.example"}, "webhookUrl": {"https://hooks.notify.example/x"}, "webhookSecret": {secret},
			"threshold": {""}, "notifyOn": {"both"}}
	}
	if r := c.post(page, url.Values{"name": {"x"}, "csrf": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("forged CSRF: %d", r.StatusCode)
	}

	// refused: the page's own checks, then the record's (email syntax)
	bad := valid()
	bad.Set("customEventName", "")
	bad.Set("webhookUrl", "javascript:alert(1)")
	bad.Set("website", bobSite.Id)
	r = c.post(page, bad)
	if r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad rule: %d", r.StatusCode)
	}
	for _, want := range []string{`id="customEventName-err">Enter the custom event`, `id="webhook-err">Enter an http:// or https:// URL.`,
		`id="website-err">Choose a website you own or administer`, `value="&lt;script&gt;alert(1)&lt;/script&gt;"`, `value="javascript:alert(1)"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("refused form lacks %q", want)
		}
	}
	if strings.Contains(r.body, secret) {
		t.Error("the secret was rendered back")
	}
	bad = valid()
	bad.Set("recipientEmail", "not-an-email")
	if r := c.post(page, bad); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="email-err">`) ||
		!strings.Contains(r.body, `value="not-an-email"`) || strings.Contains(r.body, secret) {
		t.Errorf("bad email: %d\n%s", r.StatusCode, between(r.body, `id="rule-form"`, "</form>"))
	}
	bad = valid()
	bad.Set("name", "refuse me")
	if r := c.post(page, bad); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `id="rule-error">The notifier refuses &#34;&gt;&lt;img`) {
		t.Errorf("ValidateRule's refusal: %d", r.StatusCode)
	}
	if n := count(t, e.app, schema.NotifyRules, nil); n != 0 {
		t.Fatalf("%d rules stored by refused forms", n)
	}

	r = c.post(page, valid())
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page+"?done=created" {
		t.Fatalf("create: %d %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	rule, err := e.app.FindFirstRecordByData(schema.NotifyRules, "user", ada.Id)
	if err != nil || !rule.GetBool("isActive") || rule.GetString("webhookSecret") != secret || rule.GetString("customEventName") != evil[1] ||
		rule.GetString("website") != site.Id || rule.GetString("superuser") != "" {
		t.Fatalf("stored rule: %v %v", err, rule)
	}
	edit := "/dashboard/notifications/" + rule.Id
	r = c.get(page + "?done=created")
	row := between(r.body, `<tr id="rule-`+rule.Id, "</tr>")
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "Custom event: &#34;&gt;&lt;img src=x onerror=alert(2)&gt;",
		"Email: alerts@notify.example", "Webhook", `<span class="badge ok">On</span>`, `<span class="muted">never</span>`} {
		if !strings.Contains(row, want) {
			t.Errorf("listed rule lacks %q\n%s", want, row)
		}
	}
	noRaw(t, "notifications", r.body)

	// edit: an empty secret keeps the stored one, which is never shown
	r = c.get(edit)
	if r.StatusCode != http.StatusOK || strings.Contains(r.body, secret) || !strings.Contains(r.body, "Webhook secret (set)") {
		t.Fatalf("edit page: %d", r.StatusCode)
	}
	noRaw(t, "rule page", r.body)
	f := valid()
	f.Set("name", "Signups")
	f.Set("webhookSecret", "")
	if r := c.post(edit, f); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != edit+"?saved=1" {
		t.Fatalf("save: %d\n%s", r.StatusCode, r.body)
	}
	rule, _ = e.app.FindRecordById(schema.NotifyRules, rule.Id)
	if rule.GetString("name") != "Signups" || rule.GetString("webhookSecret") != secret {
		t.Errorf("after an edit without a secret: %q %q", rule.GetString("name"), rule.GetString("webhookSecret"))
	}
	f.Set("webhookSecret", "new-secret-value")
	f.Set("eventType", "uptime_status")
	f.Set("notifyOn", "down")
	f.Set("website", "")
	c.post(edit, f)
	rule, _ = e.app.FindRecordById(schema.NotifyRules, rule.Id)
	if rule.GetString("webhookSecret") != "new-secret-value" || rule.GetString("customEventName") != "" || rule.GetString("website") != "" ||
		!strings.Contains(rule.GetString("metadata"), `"notifyOn":"down"`) {
		t.Errorf("after an edit to uptime_status: %v", rule)
	}
	f.Set("eventType", "traffic_spike")
	f.Set("threshold", "-5")
	f.Set("webhookSecret", "typed-then-refused")
	if r := c.post(edit, f); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="threshold-err">`) ||
		strings.Contains(r.body, "typed-then-refused") || !strings.Contains(r.body, `value="-5"`) {
		t.Errorf("bad threshold: %d", r.StatusCode)
	}

	// recent deliveries, hostile subjects and errors escaped
	saveRecord(t, e.app, schema.NotifyDeliveries, map[string]any{"rule": rule.Id, "eventKey": "test:1", "channel": "email",
		"status": "failed", "subject": evil[0], "error": evil[1], "attempts": 3})
	rule.Set("lastError", evil[0])
	if err := e.app.Save(rule); err != nil {
		t.Fatal(err)
	}
	r = c.get(edit)
	if !strings.Contains(between(r.body, `id="deliveries"`, "</section>"), "<td>failed</td>") || !strings.Contains(r.body, `id="last-error">Last failure`) {
		t.Errorf("deliveries\n%s", between(r.body, `id="deliveries"`, "</section>"))
	}
	noRaw(t, "rule page with deliveries", r.body)

	// the test button: success, then the notifier's error
	r = c.post(edit+"/test", url.Values{})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != edit+"?tested=1" || tested.Load() != 1 {
		t.Errorf("test: %d %q (%d calls)", r.StatusCode, r.Header.Get("Location"), tested.Load())
	}
	if !strings.Contains(c.get(edit+"?tested=1").body, `id="tested">Test message sent.`) {
		t.Error("no notice after the test")
	}
	fail := errors.New("smtp refused " + evil[0])
	testErr.Store(&fail)
	r = c.post(edit+"/test", url.Values{})
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(r.body, `id="test-error">The test message failed: Smtp refused &lt;script&gt;`) {
		t.Errorf("failed test: %d", r.StatusCode)
	}

	// switch off and on
	if r := c.post(edit+"/active", url.Values{"active": {"0"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page+"?done=off" {
		t.Errorf("switch off: %d", r.StatusCode)
	}
	if rule, _ = e.app.FindRecordById(schema.NotifyRules, rule.Id); rule.GetBool("isActive") {
		t.Error("still on")
	}
	c.post(edit+"/active", url.Values{"active": {"1"}})
	if rule, _ = e.app.FindRecordById(schema.NotifyRules, rule.Id); !rule.GetBool("isActive") {
		t.Error("still off")
	}

	// another user: 404 everywhere, nothing changes
	bob := e.client(t)
	bob.mustLogin("bob@notify.example", "bob-password-123")
	if r := bob.get(edit); r.StatusCode != http.StatusNotFound {
		t.Errorf("bob sees ada's rule: %d", r.StatusCode)
	}
	for _, p := range []string{edit, edit + "/active", edit + "/delete", edit + "/test"} {
		if r := bob.post(p, valid()); r.StatusCode != http.StatusNotFound {
			t.Errorf("bob POST %s: %d", p, r.StatusCode)
		}
	}
	if r := bob.get(page); strings.Contains(r.body, rule.Id) {
		t.Error("bob's list shows ada's rule")
	}
	if n := count(t, e.app, schema.NotifyRules, dbx.HashExp{"id": rule.Id, "name": "Signups", "isActive": true}); n != 1 {
		t.Error("bob changed ada's rule")
	}
	if tested.Load() != 2 {
		t.Errorf("%d test messages, want 2", tested.Load())
	}

	if r := c.post(edit+"/delete", url.Values{}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page+"?done=deleted" {
		t.Errorf("delete: %d", r.StatusCode)
	}
	if n := count(t, e.app, schema.NotifyRules, nil); n != 0 {
		t.Errorf("%d rules after delete", n)
	}
	if n := count(t, e.app, schema.NotifyDeliveries, nil); n != 0 {
		t.Errorf("%d deliveries after delete", n)
	}
}

// TestNotificationsSuperuserAndNoTest: a superuser's rules are theirs
// (the superuser field); without Options.NotifyTest there is no test
// button and the test route refuses.
func TestNotificationsSuperuserAndNoTest(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Shop", "shop.su-notify.example", "")
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	r := c.post("/dashboard/notifications", url.Values{"name": {"Errors"}, "eventType": {"error_threshold"}, "threshold": {"25"},
		"website": {site.Id}, "recipientEmail": {pbtest.Email}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", r.StatusCode, r.body)
	}
	su, err := e.app.FindAuthRecordByEmail(core.CollectionNameSuperusers, pbtest.Email)
	if err != nil {
		t.Fatal(err)
	}
	rule, err := e.app.FindFirstRecordByData(schema.NotifyRules, "superuser", su.Id)
	if err != nil || rule.GetString("user") != "" || rule.GetFloat("threshold") != 25 {
		t.Fatalf("superuser's rule: %v %v", err, rule)
	}
	edit := "/dashboard/notifications/" + rule.Id
	r = c.get(edit)
	if !strings.Contains(r.body, `id="test-off">`) || strings.Contains(r.body, `id="test-form"`) || !strings.Contains(r.body, `value="25"`) {
		t.Errorf("edit page without NotifyTest\n%s", r.body)
	}
	if r := c.post(edit+"/test", url.Values{}); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("test without NotifyTest: %d", r.StatusCode)
	}
}
