package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/notify"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

func TestCustomEventRuleFiresOnceAcrossRestart(t *testing.T) {
	e := newEnv(t, 10)
	h := startHook(t)
	other := pbtest.Save(t, e.app, schema.Users, map[string]any{"email": "other@example.com"})
	otherSite := e.addSite("other.example", other.Id)
	rule := e.rule("custom_event", map[string]any{"customEventName": "signup", "recipientEmail": "alerts@owner.example",
		"webhookUrl": h.URL, "webhookSecret": hookSecret})

	// history before the first start is not notified
	sess := e.visit(e.site, start.Add(-time.Hour))
	e.event(sess, "signup", "/join", nil, start.Add(-time.Hour))
	e.evaluate()
	if d := e.deliveries(rule); len(d) != 0 {
		t.Fatalf("history notified: %v", keys(d))
	}

	first := e.event(sess, "signup", "/join", map[string]any{"plan": "pro"}, start)
	e.event(sess, "signin", "/login", nil, start)                     // another name
	e.event(sess, "", "/signup", nil, start)                          // a page view
	e.event(e.visit(otherSite, start), "signup", "/join", nil, start) // another user's site
	second := e.event(sess, "signup", "/join", nil, start.Add(time.Second))
	e.evaluate()
	e.evaluate() // nothing new: nothing added
	e.deliver()
	want := []string{first.Id + " email sent", first.Id + " webhook sent", second.Id + " email sent", second.Id + " webhook sent"}
	if got := keys(e.deliveries(rule)); !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	if msgs := drain(e.inbox); len(msgs) != 2 || msgs[0].To[0] != "alerts@owner.example" || msgs[0].From != "alerts@example.com" {
		t.Fatalf("emails: %d %+v", len(msgs), msgs)
	}
	got := h.received()
	if len(got) != 2 || got[0]["event"] != "custom_event" || got[0]["site"].(map[string]any)["id"] != e.site.Id ||
		got[0]["data"].(map[string]any)["eventName"] != "signup" || got[0]["rule"].(map[string]any)["id"] != rule.Id {
		t.Fatalf("webhook bodies: %v", got)
	}
	if r := e.reload(rule); r.GetInt("triggerCount") != 2 || r.GetDateTime("lastTriggered").IsZero() {
		t.Fatalf("triggerCount %d lastTriggered %v", r.GetInt("triggerCount"), r.GetDateTime("lastTriggered"))
	}

	// the server stops; a signup arrives meanwhile; the new notifier
	// reads it once, and a crash that lost the cursor (set back) re-reads
	// the old ones without a second delivery
	third := e.event(sess, "signup", "/join", nil, start.Add(2*time.Second))
	if _, err := e.app.DB().NewQuery(`UPDATE skopos_state SET value = (SELECT rowid - 1 FROM events WHERE id = {:id})
		WHERE name = 'notify.cursor.events'`).Bind(dbx.Params{"id": first.Id}).Execute(); err != nil {
		t.Fatal(err)
	}
	e.n = e.notifier(10)
	e.evaluate()
	e.deliver()
	want = append(want, third.Id+" email sent", third.Id+" webhook sent")
	if got := keys(e.deliveries(rule)); !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
	if n := len(drain(e.inbox)); n != 1 {
		t.Fatalf("%d emails after restart, want 1", n)
	}
	if n := len(h.received()); n != 3 {
		t.Fatalf("%d webhooks after restart, want 3", n)
	}
	if r := e.reload(rule); r.GetInt("triggerCount") != 3 {
		t.Fatalf("triggerCount %d after restart", r.GetInt("triggerCount"))
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestSessionAndVisitorRules(t *testing.T) {
	e := newEnv(t, 10)
	blog := e.addSite("blog.example", e.owner.Id)
	sessions := e.rule("new_session", map[string]any{"website": blog.Id, "recipientEmail": "a@example.com"})
	visitors := e.rule("new_visitor", map[string]any{"recipientEmail": "a@example.com"})
	superRule := pbtest.Save(t, e.app, schema.NotifyRules, map[string]any{"superuser": superuserID(t, e), "eventType": "new_session",
		"isActive": true, "recipientEmail": "root@example.com"})
	off := e.rule("new_session", map[string]any{"recipientEmail": "a@example.com", "isActive": false})
	e.evaluate()

	s1 := e.visit(e.site, start)
	s2 := e.visit(blog, start)
	returning := pbtest.Save(t, e.app, schema.Sessions, map[string]any{"website": blog.Id, "visitor": s2.GetString("visitor"),
		"isNewVisitor": false, "seq": 2, "startedAt": start})
	e.evaluate()
	if got := keys(e.deliveries(sessions)); !slices.Equal(sortedCopy(got), sortedCopy([]string{s2.Id + " email pending", returning.Id + " email pending"})) {
		t.Errorf("new_session of blog: %v", got)
	}
	if got := keys(e.deliveries(visitors)); !slices.Equal(sortedCopy(got), sortedCopy([]string{s1.GetString("visitor") + " email pending", s2.GetString("visitor") + " email pending"})) {
		t.Errorf("new_visitor of every site of the owner: %v", got)
	}
	if got := e.deliveries(superRule); len(got) != 3 {
		t.Errorf("a superuser's rule for every site: %v", keys(got))
	}
	if got := e.deliveries(off); len(got) != 0 {
		t.Errorf("a rule switched off: %v", keys(got))
	}
}

func superuserID(t *testing.T, e *env) string {
	t.Helper()
	su, err := e.app.FindAuthRecordByEmail(schema.Superusers, pbtest.Email)
	if err != nil {
		t.Fatal(err)
	}
	return su.Id
}

func TestHourlyLimitFoldsTheRestIntoOneDigest(t *testing.T) {
	e := newEnv(t, 10)
	rule := e.rule("custom_event", map[string]any{"name": "Signups", "customEventName": "signup", "recipientEmail": "alerts@owner.example"})
	e.evaluate()
	sess := e.visit(e.site, start)
	for i := range 25 {
		e.event(sess, "signup", fmt.Sprintf("/join/%d", i), nil, start.Add(time.Duration(i)*time.Second))
	}
	e.evaluate()
	e.deliver()
	if n := len(drain(e.inbox)); n != 10 {
		t.Fatalf("%d emails in the hour, want 10", n)
	}
	count := map[string]int{}
	for _, d := range e.deliveries(rule) {
		count[d.GetString("status")]++
	}
	if count["sent"] != 10 || count["digested"] != 15 {
		t.Fatalf("statuses %v", count)
	}
	e.deliver() // still the same hour: no digest yet
	if n := len(drain(e.inbox)); n != 0 {
		t.Fatalf("%d emails before the hour ended", n)
	}

	e.clock.Set(start.Truncate(time.Hour).Add(time.Hour)) // 11:00
	e.deliver()
	e.deliver()
	msgs := drain(e.inbox)
	if len(msgs) != 1 {
		t.Fatalf("%d messages after the hour, want 1 digest", len(msgs))
	}
	subject, text, _ := bodies(t, msgs[0].Data)
	if !strings.Contains(subject, "15 more notifications") || !strings.Contains(subject, "Signups") || !strings.Contains(text, "count: 15") {
		t.Fatalf("digest subject %q text %q", subject, text)
	}
	if !strings.Contains(text, "/join/") && !strings.Contains(text, "signup") {
		t.Errorf("digest names none of its messages: %q", text)
	}
	digests := 0
	for _, d := range e.deliveries(rule) {
		if strings.HasPrefix(d.GetString("eventKey"), "digest:") {
			digests++
			if d.GetString("eventKey") != "digest:2026-11-18T10:00:00Z" || d.GetString("status") != "sent" {
				t.Errorf("digest %s %s", d.GetString("eventKey"), d.GetString("status"))
			}
		}
	}
	if digests != 1 {
		t.Fatalf("%d digests", digests)
	}

	// the next hour has its own 10
	sess2 := e.visit(e.site, e.clock.Now())
	for i := range 3 {
		e.event(sess2, "signup", "/join", nil, e.clock.Now().Add(time.Duration(i)*time.Second))
	}
	e.evaluate()
	e.deliver()
	if n := len(drain(e.inbox)); n != 3 {
		t.Fatalf("%d emails in the next hour, want 3", n)
	}
}

// failingWebhook is a webhook rule whose receiver answers status, and
// one delivery of it pending.
func failingWebhook(t *testing.T, status int) (*env, *hook, *core.Record) {
	e := newEnv(t, 10)
	h := startHook(t)
	h.answer(status)
	rule := e.rule("custom_event", map[string]any{"customEventName": "signup", "webhookUrl": h.URL, "webhookSecret": hookSecret})
	e.evaluate()
	e.event(e.visit(e.site, start), "signup", "/", nil, start)
	e.evaluate()
	return e, h, rule
}

func TestWebhookRetriesWithBackoffThenFails(t *testing.T) {
	e, h, rule := failingWebhook(t, http.StatusInternalServerError)

	for i, wait := range []time.Duration{0, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour} {
		if wait > time.Second {
			e.clock.Add(wait - time.Second) // not due yet
			e.deliver()
			if n := len(h.received()); n != i {
				t.Fatalf("attempt %d came %v early", i+1, time.Second)
			}
			e.clock.Add(time.Second)
		}
		e.deliver()
		if n := len(h.received()); n != i+1 {
			t.Fatalf("%d requests after attempt %d", n, i+1)
		}
	}
	d := e.deliveries(rule)
	if len(d) != 1 || d[0].GetString("status") != "failed" || d[0].GetInt("attempts") != 5 {
		t.Fatalf("delivery %v attempts %d", keys(d), d[0].GetInt("attempts"))
	}
	e.clock.Add(24 * time.Hour)
	e.deliver()
	if n := len(h.received()); n != 5 {
		t.Fatalf("%d requests: retried after failing", n)
	}
	r := e.reload(rule)
	if msg := r.GetString("lastError"); msg != "webhook: the receiver answered 500 Internal Server Error" || r.GetDateTime("lastErrorAt").IsZero() {
		t.Fatalf("lastError %q at %v", msg, r.GetDateTime("lastErrorAt"))
	}
	if strings.Contains(d[0].GetString("error"), "receiver-token") || strings.Contains(r.GetString("lastError"), hookSecret) {
		t.Fatal("an error shows a secret")
	}
}

func TestWebhookRecoversOnRetry(t *testing.T) {
	e, h, rule := failingWebhook(t, http.StatusBadGateway)
	e.deliver()
	h.answer(http.StatusOK)
	e.clock.Add(time.Minute)
	e.deliver()
	if d := e.deliveries(rule); d[0].GetString("status") != "sent" || d[0].GetInt("attempts") != 2 {
		t.Fatalf("%v attempts %d", keys(d), d[0].GetInt("attempts"))
	}
}

func TestEmailEscapesAttackerControlledNames(t *testing.T) {
	e := newEnv(t, 10)
	e.site.Set("name", `<script>alert("site")</script>`)
	if err := e.app.Save(e.site); err != nil {
		t.Fatal(err)
	}
	name := `<img src=x onerror=alert(1)>`
	e.rule("custom_event", map[string]any{"customEventName": name, "recipientEmail": "alerts@owner.example"})
	e.evaluate()
	e.event(e.visit(e.site, start), name, `/"><script>alert("path")</script>`,
		map[string]any{"<b>key</b>": `<script>alert("value")</script>`}, start)
	e.evaluate()
	e.deliver()
	msgs := drain(e.inbox)
	if len(msgs) != 1 {
		t.Fatalf("%d emails", len(msgs))
	}
	subject, text, html := bodies(t, msgs[0].Data)
	for _, bad := range []string{"<script", "<img", "<b>"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML body contains %q:\n%s", bad, html)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;site&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
		"&lt;script&gt;alert(&#34;path&#34;)", "&lt;b&gt;key&lt;/b&gt;"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML body lacks %q:\n%s", want, html)
		}
	}
	if !strings.Contains(text, `<script>alert("site")</script>`) || !strings.Contains(subject, name) {
		t.Errorf("text %q subject %q: the plain text keeps the names as they are", text, subject)
	}
}

func TestSendTest(t *testing.T) {
	e := newEnv(t, 10)
	h := startHook(t)
	rule := e.rule("new_visitor", map[string]any{"website": e.site.Id, "recipientEmail": "alerts@owner.example",
		"webhookUrl": h.URL, "webhookSecret": hookSecret})
	if err := e.n.SendTest(context.Background(), e.reload(rule)); err != nil {
		t.Fatal(err)
	}
	msgs := drain(e.inbox)
	if len(msgs) != 1 || len(h.received()) != 1 || h.received()[0]["event"] != "test" {
		t.Fatalf("%d emails, webhooks %v", len(msgs), h.received())
	}
	if subject, _, _ := bodies(t, msgs[0].Data); subject != `Skopos: test message of "new_visitor rule"` {
		t.Errorf("subject %q", subject)
	}
	h.answer(http.StatusForbidden)
	err := e.n.SendTest(context.Background(), e.reload(rule))
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a failing webhook: %v", err)
	}
	if r := e.reload(rule); !strings.Contains(r.GetString("lastError"), "403") {
		t.Errorf("lastError %q", r.GetString("lastError"))
	}
	if d := e.deliveries(rule); len(d) != 0 || e.reload(rule).GetInt("triggerCount") != 0 {
		t.Errorf("a test recorded deliveries %v", keys(d))
	}
}

func TestUptimeAndCertificatePushes(t *testing.T) {
	e := newEnv(t, 10)
	both := e.rule("uptime_status", map[string]any{"recipientEmail": "a@example.com"})
	down := e.rule("uptime_status", map[string]any{"recipientEmail": "a@example.com", "metadata": map[string]any{"notifyOn": "down"}})
	up := e.rule("uptime_status", map[string]any{"recipientEmail": "a@example.com", "metadata": map[string]any{"notifyOn": "up"}})
	cert := e.rule("certificate_expiry", map[string]any{"recipientEmail": "a@example.com"})
	for range 2 { // a repeated push adds nothing
		if err := e.n.UptimeChanged(e.site, true, "inc1", "HTTP 503"); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.n.UptimeChanged(e.site, false, "inc1", "HTTP 200"); err != nil {
		t.Fatal(err)
	}
	expiry := start.Add(10 * 24 * time.Hour)
	for range 2 {
		if err := e.n.CertExpiring(e.site, expiry); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		rule string
		want []string
	}{
		{both.Id, []string{"uptime:inc1:down email pending", "uptime:inc1:up email pending"}},
		{down.Id, []string{"uptime:inc1:down email pending"}},
		{up.Id, []string{"uptime:inc1:up email pending"}},
		{cert.Id, []string{"cert:" + e.site.Id + ":2026-11-28 email pending"}},
	} {
		r, _ := e.app.FindRecordById(schema.NotifyRules, tc.rule)
		if got := keys(e.deliveries(r)); !slices.Equal(sortedCopy(got), tc.want) {
			t.Errorf("rule %s: %v, want %v", r.Id, got, tc.want)
		}
	}
	e.deliver()
	msgs := drain(e.inbox)
	var subjects []string
	for _, m := range msgs {
		s, _, _ := bodies(t, m.Data)
		subjects = append(subjects, s)
	}
	slices.Sort(subjects)
	want := []string{"Skopos: shop.example is down", "Skopos: shop.example is down", "Skopos: shop.example is up again",
		"Skopos: shop.example is up again", "Skopos: the TLS certificate of shop.example expires on 2026-11-28"}
	if !slices.Equal(subjects, want) {
		t.Fatalf("subjects %q", subjects)
	}
}

func TestStartEvaluatesOnWake(t *testing.T) {
	e := newEnv(t, 10)
	e.rule("custom_event", map[string]any{"customEventName": "signup", "recipientEmail": "alerts@owner.example"})
	e.n.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testwait.Timeout())
		defer cancel()
		if err := e.n.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	// the first start sets the cursors; a row after that is notified
	testwait.Until(t, "the cursors set", func() bool {
		n, _ := e.app.CountRecords(schema.State)
		return n == 2
	})
	sess := e.visit(e.site, start)
	e.event(sess, "signup", "/", nil, start)
	e.n.Wake()
	select {
	case <-e.inbox:
	case <-time.After(testwait.Timeout()):
		t.Fatal("no email after Wake")
	}
}

func TestValidateRule(t *testing.T) {
	e := newEnv(t, 10)
	other := pbtest.Save(t, e.app, schema.Users, map[string]any{"email": "other@example.com"})
	otherSite := e.addSite("other.example", other.Id)
	col, _ := e.app.FindCollectionByNameOrId(schema.NotifyRules)
	for _, tc := range []struct {
		name   string
		fields map[string]any
		bad    []string // the fields named, none for a valid rule
	}{
		{"email rule", map[string]any{"eventType": "new_visitor", "recipientEmail": "a@example.com"}, nil},
		{"webhook rule", map[string]any{"eventType": "new_session", "webhookUrl": "https://h.example/x", "webhookSecret": hookSecret}, nil},
		{"no channel", map[string]any{"eventType": "new_visitor"}, []string{"recipientEmail"}},
		{"custom event without name", map[string]any{"eventType": "custom_event", "recipientEmail": "a@example.com", "customEventName": " "}, []string{"customEventName"}},
		{"webhook not http", map[string]any{"eventType": "new_visitor", "webhookUrl": "ftp://h.example/", "webhookSecret": hookSecret}, []string{"webhookUrl"}},
		{"webhook relative", map[string]any{"eventType": "new_visitor", "webhookUrl": "/hook", "webhookSecret": hookSecret}, []string{"webhookUrl"}},
		{"webhook without secret", map[string]any{"eventType": "new_visitor", "webhookUrl": "https://h.example/"}, []string{"webhookSecret"}},
		{"spike below range", map[string]any{"eventType": "traffic_spike", "recipientEmail": "a@example.com", "threshold": 9}, []string{"threshold"}},
		{"spike at its minimum", map[string]any{"eventType": "traffic_spike", "recipientEmail": "a@example.com", "threshold": 10}, nil},
		{"drop above 100", map[string]any{"eventType": "traffic_drop", "recipientEmail": "a@example.com", "threshold": 101}, []string{"threshold"}},
		{"stopped at 720 hours", map[string]any{"eventType": "tracking_stopped", "recipientEmail": "a@example.com", "threshold": 720}, nil},
		{"threshold on new visitor", map[string]any{"eventType": "new_visitor", "recipientEmail": "a@example.com", "threshold": 3}, []string{"threshold"}},
		{"notifyOn", map[string]any{"eventType": "uptime_status", "recipientEmail": "a@example.com", "metadata": map[string]any{"notifyOn": "sideways"}}, []string{"metadata.notifyOn"}},
		{"notifyOn down", map[string]any{"eventType": "uptime_status", "recipientEmail": "a@example.com", "metadata": map[string]any{"notifyOn": "down"}}, nil},
		{"another user's site", map[string]any{"eventType": "new_visitor", "recipientEmail": "a@example.com", "website": otherSite.Id}, []string{"website"}},
		{"unknown type", map[string]any{"eventType": "nope", "recipientEmail": "a@example.com"}, []string{"eventType"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := core.NewRecord(col)
			rec.Set("user", e.owner.Id)
			for k, v := range tc.fields {
				rec.Set(k, v)
			}
			if k, ok := tc.fields["eventType"]; ok && k == "nope" {
				rec.SetRaw("eventType", "nope")
			}
			err := notify.ValidateRule(e.app, rec)
			var fe notify.FieldErrors
			if len(tc.bad) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want FieldErrors", err)
			}
			var named []string
			for k := range fe {
				named = append(named, k)
			}
			slices.Sort(named)
			if !slices.Equal(named, tc.bad) {
				t.Fatalf("fields %v, want %v (%v)", named, tc.bad, err)
			}
		})
	}
}
