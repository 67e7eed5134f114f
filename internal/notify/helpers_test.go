package notify_test

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/notify"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/safefetch"
	"github.com/skopos-go/skopos/internal/smtptest"
	"github.com/skopos-go/skopos/internal/testclock"
	"github.com/skopos-go/skopos/schema"
)

// received is one message the SMTP test server accepted.
type received = smtptest.Message

func startSMTP(t *testing.T) (int, <-chan received) { return smtptest.Start(t) }

// drain returns the messages received so far.
func drain(ch <-chan received) []received { return smtptest.Drain(ch) }

// bodies returns the subject and the decoded text/plain and text/html
// parts of a message.
func bodies(t *testing.T, raw []byte) (subject, text, html string) {
	t.Helper()
	hdr, text, html := smtptest.Bodies(t, raw)
	subject, _ = new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject"))
	return subject, text, html
}

// hook is a webhook receiver that verifies every request's signature.
type hook struct {
	URL    string
	secret string

	mu     sync.Mutex
	status int
	bodies []map[string]any
	bad    []string
}

const hookSecret = "a-webhook-secret-0123456789"

func startHook(t *testing.T) *hook {
	h := &hook{secret: hookSecret, status: http.StatusNoContent}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get(notify.HeaderTimestamp)
		want := notify.Sign(h.secret, ts, body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if ts == "" || !hmac.Equal([]byte(want), []byte(r.Header.Get(notify.HeaderSignature))) ||
			r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			h.bad = append(h.bad, r.Header.Get(notify.HeaderSignature))
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			h.bad = append(h.bad, "body: "+err.Error())
		}
		h.bodies = append(h.bodies, m)
		w.WriteHeader(h.status)
	}))
	t.Cleanup(func() {
		srv.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.bad) > 0 {
			t.Errorf("webhook requests with a bad signature or body: %q", h.bad)
		}
	})
	h.URL = srv.URL + "/hook?token=receiver-token"
	return h
}

func (h *hook) answer(status int) {
	h.mu.Lock()
	h.status = status
	h.mu.Unlock()
}

func (h *hook) received() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...)
}

// env is a PocketBase with SMTP on a local test server, an owner and
// a site of theirs, a moved clock and a notifier.
type env struct {
	t     *testing.T
	srv   *pbtest.Server
	app   core.App
	clock *testclock.Clock
	inbox <-chan received
	owner *core.Record
	site  *core.Record
	n     *notify.Notifier
}

var start = time.Date(2026, 11, 18, 10, 20, 0, 0, time.UTC) // a Wednesday

func newEnv(t *testing.T, limit int) *env {
	t.Helper()
	port, inbox := startSMTP(t)
	// the settings are saved before the server answers a request: a
	// save reloads them while PocketBase's request logger reads them
	srv := pbtest.Start(t, pbtest.Options{Setup: func(app core.App) error {
		s := app.Settings()
		s.SMTP.Enabled, s.SMTP.Host, s.SMTP.Port = true, "127.0.0.1", port
		s.Meta.SenderAddress, s.Meta.SenderName = "alerts@example.com", "Skopos"
		return app.Save(s)
	}})
	app := srv.App()
	e := &env{t: t, srv: srv, app: app, clock: testclock.New(start), inbox: inbox}
	e.owner = pbtest.Save(t, app, schema.Users, map[string]any{"email": "owner@example.com"})
	e.site = e.addSite("shop.example", e.owner.Id)
	e.n = e.notifier(limit)
	return e
}

func (e *env) notifier(limit int) *notify.Notifier {
	return notify.New(e.app, notify.Options{Now: e.clock.Now, HourlyLimit: limit, BaseURL: "https://dash.example/",
		HTTP: safefetch.NewClient(safefetch.Options{AllowPrivate: true})})
}

func (e *env) addSite(domain, user string) *core.Record {
	e.t.Helper()
	site := e.srv.AddWebsite(e.t, domain)
	site.Set("user", user)
	if err := e.app.Save(site); err != nil {
		e.t.Fatal(err)
	}
	return site
}

// rule saves an active rule of the owner with fields.
func (e *env) rule(eventType string, fields map[string]any) *core.Record {
	e.t.Helper()
	f := map[string]any{"user": e.owner.Id, "name": eventType + " rule", "eventType": eventType, "isActive": true}
	for k, v := range fields {
		f[k] = v
	}
	return pbtest.Save(e.t, e.app, schema.NotifyRules, f)
}

// visit stores a new visitor's session on site.
func (e *env) visit(site *core.Record, at time.Time) *core.Record {
	e.t.Helper()
	v := pbtest.Save(e.t, e.app, schema.Visitors, map[string]any{"website": site.Id, "visitorId": "v" + at.Format("150405.000000")})
	return pbtest.Save(e.t, e.app, schema.Sessions, map[string]any{"website": site.Id, "visitor": v.Id,
		"browser": "Firefox", "os": "Linux", "device": "desktop", "country": "DE", "entryPath": "/",
		"isNewVisitor": true, "seq": 1, "startedAt": at, "lastActivity": at})
}

// event stores an event of the session (type custom when name is set).
func (e *env) event(sess *core.Record, name, path string, data map[string]any, at time.Time) *core.Record {
	e.t.Helper()
	typ := "pageView"
	if name != "" {
		typ = "custom"
	}
	return pbtest.Save(e.t, e.app, schema.Events, map[string]any{"session": sess.Id, "website": sess.GetString("website"),
		"type": typ, "eventName": name, "path": path, "eventData": data, "timestamp": at})
}

// deliveries returns the rule's deliveries, oldest first.
func (e *env) deliveries(rule *core.Record) []*core.Record {
	e.t.Helper()
	list, err := e.app.FindRecordsByFilter(schema.NotifyDeliveries, "rule = {:r}", "created,eventKey,channel", 0, 0,
		dbx.Params{"r": rule.Id})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

func (e *env) reload(rec *core.Record) *core.Record {
	e.t.Helper()
	r, err := e.app.FindRecordById(rec.Collection().Name, rec.Id)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

func (e *env) evaluate() {
	e.t.Helper()
	if err := e.n.Evaluate(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deliver() {
	e.t.Helper()
	if err := e.n.Deliver(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

// keys returns the deliveries' eventKey/channel/status.
func keys(list []*core.Record) []string {
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = d.GetString("eventKey") + " " + d.GetString("channel") + " " + d.GetString("status")
	}
	return out
}
