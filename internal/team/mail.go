package team

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strings"
	texttemplate "text/template"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/mailer"
)

// ErrNoMail is SendInvite on a server whose PocketBase settings have no
// SMTP: the invitation exists, and its link must be passed on by hand.
var ErrNoMail = errors.New("team: SMTP is not enabled in PocketBase's settings")

// inviteView is what the invitation email shows. Every value may come
// from a user (the website's name, the inviter's email), so the HTML
// part is an html/template and escapes them.
type inviteView struct {
	Site, Inviter, Role, Link, Expires string
}

const inviteText = `{{.Inviter}} invited you to the analytics of {{.Site}} on Skopos, as {{.Role}}.

Accept the invitation (the link works once, until {{.Expires}}):
{{.Link}}

If you did not expect this email, ignore it: nothing happens unless the link is opened.
`

const inviteHTML = `<p>{{.Inviter}} invited you to the analytics of <strong>{{.Site}}</strong> on Skopos, as {{.Role}}.</p>
<p><a href="{{.Link}}">Accept the invitation</a> (the link works once, until {{.Expires}}).</p>
<p>If you did not expect this email, ignore it: nothing happens unless the link is opened.</p>
`

var (
	inviteTextT = texttemplate.Must(texttemplate.New("text").Parse(inviteText))
	inviteHTMLT = htmltemplate.Must(htmltemplate.New("html").Parse(inviteHTML))
)

// SendInvite mails the invitation rec (from Invite) with its link through
// PocketBase's mailer. inviter is who sent it (named in the message).
func SendInvite(app core.App, rec, site, inviter *core.Record, link string) error {
	settings := app.Settings()
	if !settings.SMTP.Enabled {
		return ErrNoMail
	}
	v := inviteView{Site: site.GetString("name"), Role: rec.GetString("role"), Link: link,
		Expires: rec.GetDateTime("expires").Time().UTC().Format("2006-01-02 15:04 UTC")}
	v.Inviter = "The owner"
	if inviter != nil && inviter.Email() != "" {
		v.Inviter = inviter.Email()
	}
	var text, html bytes.Buffer
	if err := inviteTextT.Execute(&text, v); err != nil {
		return fmt.Errorf("team: invitation text: %w", err)
	}
	if err := inviteHTMLT.Execute(&html, v); err != nil {
		return fmt.Errorf("team: invitation html: %w", err)
	}
	msg := &mailer.Message{
		From:    mail.Address{Name: settings.Meta.SenderName, Address: settings.Meta.SenderAddress},
		To:      []mail.Address{{Address: rec.GetString("email")}},
		Subject: "Invitation to " + strings.Join(strings.Fields(v.Site), " ") + " on Skopos",
		Text:    text.String(), HTML: html.String(),
	}
	if err := app.NewMailClient().Send(msg); err != nil {
		return fmt.Errorf("team: sending the invitation: %w", err)
	}
	return nil
}
