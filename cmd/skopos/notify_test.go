package main_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/notify"
	"github.com/skopos-go/skopos/internal/smtptest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/pbrest"
)

// webhookReceiver counts the webhooks it gets and whether each one's
// signature verifies.
type webhookReceiver struct {
	mu              sync.Mutex
	events, digests int
	bad             int
}

func (h *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get(notify.HeaderTimestamp)
	ok := ts != "" && r.Header.Get(notify.HeaderSignature) == notify.Sign(webhookSecret, ts, body)
	var p struct {
		Event string `json:"event"`
	}
	_ = json.Unmarshal(body, &p)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case !ok:
		h.bad++
	case p.Event == "digest":
		h.digests++
	default:
		h.events++
	}
}

func (h *webhookReceiver) counts() (events, digests, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events, h.digests, h.bad
}

const webhookSecret = "a-webhook-secret-of-32-characters"

// TestServeMonitorsUptimeAndNotifies: the "done when", black-box
// against `skopos serve` with SKOPOS_FETCH_PRIVATE=on (checks every second
// and a 1 s recovery re-check, a flood limit of 3 per 30 s window, so that
// the test takes seconds, not hours): a monitored local site that goes
// down for 3 checks and comes back yields one incident with its duration
// and a down/up pair of emails; a custom_event rule on "signup" sends one
// email per signup event up to the cap, then one digest; a webhook rule's
// receiver verifies every signature.
func TestServeMonitorsUptimeAndNotifies(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer site.Close()
	hook := &webhookReceiver{}
	receiver := httptest.NewServer(hook)
	defer receiver.Close()
	smtpPort, inbox := smtptest.Start(t)

	s := serve(t, t.TempDir(), "SKOPOS_ADMIN_EMAIL="+adminEmail, "SKOPOS_ADMIN_PASSWORD="+adminPassword, "SKOPOS_FETCH_PRIVATE=on",
		"SKOPOS_UPTIME_MIN_INTERVAL=1s", "SKOPOS_UPTIME_RECHECK=1s", "SKOPOS_NOTIFY_HOURLY_LIMIT=3", "SKOPOS_NOTIFY_WINDOW=30s")
	ctx := context.Background()
	pb := client(t, s.URL)
	useSMTP(t, pb, smtpPort)
	var admin struct {
		ID string `json:"id"`
	}
	if err := pb.FirstRecord(ctx, "_superusers", "email = '"+adminEmail+"'", &admin); err != nil {
		t.Fatal(err)
	}
	var web struct {
		ID string `json:"id"`
	}
	if err := pb.CreateRecord(ctx, "websites", map[string]any{"domain": "signup.example", "url": site.URL,
		"uptimeMonitoring": true, "uptimeCheckInterval": 1}, &web); err != nil {
		t.Fatal(err)
	}
	for _, rule := range []map[string]any{
		{"name": "Down or up", "eventType": "uptime_status", "recipientEmail": "ops@example.com", "metadata": map[string]any{"notifyOn": "both"}},
		{"name": "Signups", "eventType": "custom_event", "customEventName": "signup", "recipientEmail": "growth@example.com"},
		{"name": "Signups hook", "eventType": "custom_event", "customEventName": "signup", "webhookUrl": receiver.URL, "webhookSecret": webhookSecret},
	} {
		rule["superuser"], rule["website"], rule["isActive"] = admin.ID, web.ID, true
		if err := pb.CreateRecord(ctx, "notyf_rules", rule, nil); err != nil {
			t.Fatal(err)
		}
	}

	// uptime: up, then down for 3 checks, then back
	status := func() string {
		var w struct {
			Status string `json:"currentStatus"`
		}
		if err := pb.GetRecord(ctx, "websites", web.ID, &w); err != nil {
			t.Fatal(err)
		}
		return w.Status
	}
	testwait.Until(t, "the site checked up", func() bool { return status() == "up" })
	down.Store(true)
	downChecks := func() int {
		var rows []struct{}
		page, err := pb.ListRecords(ctx, "uptime_checks", pbrest.ListQuery{Filter: pbrest.Filter("website = {:w} && isUp = false", pbrest.Params{"w": web.ID}), PerPage: 1}, &rows)
		if err != nil {
			t.Fatal(err)
		}
		return page.TotalItems
	}
	testwait.Until(t, "3 failed checks", func() bool { return downChecks() >= 3 })
	down.Store(false)
	var incidents []struct {
		Duration int64 `json:"duration"`
		Resolved bool  `json:"isResolved"`
	}
	testwait.Until(t, "the incident resolved", func() bool {
		_, err := pb.ListRecords(ctx, "uptime_incidents", pbrest.ListQuery{Filter: pbrest.Filter("website = {:w}", pbrest.Params{"w": web.ID})}, &incidents)
		if err != nil {
			t.Fatal(err)
		}
		return len(incidents) == 1 && incidents[0].Resolved
	})
	if n := downChecks(); n < 3 || incidents[0].Duration < 2000 || incidents[0].Duration > int64(n+10)*1000 {
		t.Errorf("incident of %d ms for %d failed checks a second apart", incidents[0].Duration, n)
	}

	// signups: wait for the start of a flood window, then 5 events
	testwait.Until(t, "the start of a 30 s window", func() bool { return time.Now().Second()%30 < 5 })
	for range 5 {
		sendSignup(t, s.URL)
	}

	// the mail: down and up to ops, 3 signups then a digest naming 2
	type mail struct{ to, subject string }
	var got []mail
	count := func(to, has string) int {
		n := 0
		for _, m := range got {
			if m.to == to && strings.Contains(m.subject, has) {
				n++
			}
		}
		return n
	}
	within := testwait.Scale(3 * time.Minute)
	testwait.For(t, within, "the emails and the digest", func() bool {
		for _, m := range smtptest.Drain(inbox) {
			hdr, _, _ := smtptest.Bodies(t, m.Data)
			subject, _ := new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject"))
			got = append(got, mail{strings.Join(m.To, ","), subject})
		}
		return count("growth@example.com", "more notifications") == 1 && count("ops@example.com", "up again") == 1
	})
	if d, u := count("ops@example.com", "is down"), count("ops@example.com", "up again"); d != 1 || u != 1 {
		t.Errorf("ops got %d down and %d up emails: %v", d, u, got)
	}
	if n := count("growth@example.com", ""); n != 4 || count("growth@example.com", "2 more notifications") != 1 {
		t.Errorf("growth got %d emails (want 3 signups and a digest of 2): %v", n, got)
	}
	testwait.For(t, within, "the webhooks and their digest", func() bool {
		e, d, _ := hook.counts()
		return e == 3 && d == 1
	})
	e, d, bad := hook.counts()
	if e != 3 || d != 1 || bad != 0 {
		t.Errorf("webhooks: %d events, %d digests, %d bad signatures", e, d, bad)
	}
	t.Logf("1 incident of %d ms over %d failed checks; emails %v; webhooks %d + %d digest, %d bad signatures",
		incidents[0].Duration, downChecks(), got, e, d, bad)
}

// sendSignup sends a browser custom event "signup" for signup.example.
func sendSignup(t *testing.T, url string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/event",
		strings.NewReader(`{"type":"custom","name":"signup","url":"http://signup.example/join"}`))
	browsertest.Headers(req.Header, browserUA)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://signup.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("signup event: status %d", resp.StatusCode)
	}
}

// useSMTP points the server's mailer (PocketBase's settings, as an
// operator would set them) at the test SMTP server on port.
func useSMTP(t *testing.T, pb *pbrest.Client, port int) {
	t.Helper()
	if err := pb.Do(context.Background(), "PATCH", "/api/settings", map[string]any{
		"meta": map[string]any{"senderAddress": "skopos@example.com", "senderName": "Skopos"},
		"smtp": map[string]any{"enabled": true, "host": "127.0.0.1", "port": port},
	}, nil); err != nil {
		t.Fatal(err)
	}
}
