package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/pocketbase/pocketbase/tools/mailer"
)

// userAgent is the webhooks' User-Agent.
const userAgent = "Skopos-Webhook/1"

// webhookTimeout bounds one webhook request.
const webhookTimeout = 15 * time.Second

// Header names of a webhook request.
const (
	HeaderTimestamp = "X-Skopos-Timestamp"
	HeaderSignature = "X-Skopos-Signature"
)

// Sign returns the signature header value of a webhook body sent at the
// timestamp (Unix seconds, as in HeaderTimestamp): "sha256=" and the hex
// HMAC-SHA256 of timestamp + "." + body under the rule's secret. A
// receiver computes it again and compares with hmac.Equal.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// send delivers p on one channel of r.
func (n *Notifier) send(ctx context.Context, r rule, channel string, p payload) error {
	if channel == channelWebhook {
		return n.sendWebhook(ctx, r, p)
	}
	return n.sendEmail(r, p)
}

func (n *Notifier) sendWebhook(ctx context.Context, r rule, p payload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return errors.New("webhook: invalid URL")
	}
	ts := strconv.FormatInt(n.opts.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(r.WebhookSecret, ts, body))
	resp, err := n.opts.HTTP.Do(req)
	if err != nil {
		// the URL may carry a token of the receiver: the error says
		// what failed, not where
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: the receiver answered %s", resp.Status)
	}
	return nil
}

// errSMTPDisabled: an email delivery waits (and is retried) until
// PocketBase's SMTP settings are enabled.
var errSMTPDisabled = errors.New("email: SMTP is not enabled in PocketBase's settings")

func (n *Notifier) sendEmail(r rule, p payload) error {
	settings := n.app.Settings()
	if !settings.SMTP.Enabled {
		return errSMTPDisabled
	}
	msg, err := n.email(p)
	if err != nil {
		return err
	}
	msg.From = mail.Address{Name: settings.Meta.SenderName, Address: settings.Meta.SenderAddress}
	msg.To = []mail.Address{{Address: r.RecipientEmail}}
	if err := n.app.NewMailClient().Send(msg); err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return nil
}

// emailView is what the email templates show.
type emailView struct {
	Title, Site, Domain, Time, Link string
	Rows                            []emailRow
}

type emailRow struct{ Name, Value string }

// email renders p's message. Every name and value in it may come from a
// tracked page (site names, event names, paths, properties): the HTML
// template escapes them.
func (n *Notifier) email(p payload) (*mailer.Message, error) {
	v := emailView{Title: p.Title, Time: p.Time, Link: n.opts.BaseURL}
	if p.Site != nil {
		v.Site, v.Domain = siteName(p.Site), p.Site.Domain
	}
	keys := make([]string, 0, len(p.Data))
	for k := range p.Data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if s := display(p.Data[k]); s != "" {
			v.Rows = append(v.Rows, emailRow{label(k), s})
		}
	}
	var text, html bytes.Buffer
	if err := emailText.Execute(&text, v); err != nil {
		return nil, err
	}
	if err := emailHTML.Execute(&html, v); err != nil {
		return nil, err
	}
	return &mailer.Message{Subject: subjectLine(p.Title), Text: text.String(), HTML: html.String()}, nil
}

// subjectLine makes s one header line (no line breaks from a stored
// name), at most 200 characters.
func subjectLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

// label turns a data key (pageViews) into words (page views).
func label(k string) string {
	var b strings.Builder
	for i, r := range k {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// display writes a data value for people.
func display(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, display(e))
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+display(v[k]))
		}
		return strings.Join(parts, ", ")
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

var emailText = texttemplate.Must(texttemplate.New("text").Parse(`{{.Title}}
{{if .Site}}
Website: {{.Site}}{{if .Domain}} ({{.Domain}}){{end}}{{end}}
Time: {{.Time}}
{{range .Rows}}
{{.Name}}: {{.Value}}{{end}}
{{if .Link}}
Dashboard: {{.Link}}
{{end}}`))

var emailHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">
<h1 style="font-size:1.2em">{{.Title}}</h1>
{{if .Site}}<p>{{.Site}}{{if .Domain}} ({{.Domain}}){{end}}</p>{{end}}
<table>
<tr><th align="left">time</th><td>{{.Time}}</td></tr>
{{range .Rows}}<tr><th align="left" valign="top">{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{if .Link}}<p><a href="{{.Link}}">Open the dashboard</a></p>{{end}}
</body></html>
`))
