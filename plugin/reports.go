package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"strings"
	"sync/atomic"
	texttemplate "text/template"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/mailer"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/schema"
	"github.com/spf13/cobra"
)

// ErrSMTPDisabled is returned by SendReports when PocketBase's SMTP
// settings are off: no report is sent until SMTP is configured.
var ErrSMTPDisabled = errors.New("skopos: email reports: SMTP is not enabled in PocketBase's settings")

// ReportsResult says what a SendReports run did.
type ReportsResult struct {
	// Sent are the reports sent, as "<website id> <period>".
	Sent []string
	// NoRecipient counts the due reports of websites without an owner
	// (or whose owner has no email): nobody gets those.
	NoRecipient int
}

// ReportPeriod returns the last whole period of a report frequency
// ("weekly" or "monthly") that has ended at now in loc: the previous
// Monday to Sunday, or the previous calendar month, as inclusive dates
// (YYYY-MM-DD). ok is false for any other frequency.
func ReportPeriod(frequency string, now time.Time, loc *time.Location) (from, to string, ok bool) {
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	var start, end time.Time
	switch frequency {
	case "weekly":
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		start, end = monday.AddDate(0, 0, -7), monday.AddDate(0, 0, -1)
	case "monthly":
		first := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		start, end = first.AddDate(0, -1, 0), first.AddDate(0, 0, -1)
	default:
		return "", "", false
	}
	return start.Format(time.DateOnly), end.Format(time.DateOnly), true
}

// SendReports sends every due email report at now: for each website with
// reportFrequency weekly or monthly (and not archived), the report of the
// last whole week (Monday to Sunday) or calendar month in the site's time
// zone, unless websites.lastReport says it was sent. The reports go to
// the sites' owners (websites.user) through PocketBase's mailer, one
// email per owner with a section per website; a site without an owner
// has no recipient and nothing is sent. lastReport is written after the
// mail is sent, so a failed send is tried again on the next run and a
// restart never sends a report twice. Two runs at the same time (the
// server's job and `skopos reports send`) may both send one.
//
// ctx bounds its queries; a mail being sent is not interrupted, and is
// recorded as sent. It returns ErrSMTPDisabled, sending nothing, when
// PocketBase's SMTP settings are not enabled.
func SendReports(ctx context.Context, app core.App, now time.Time) (ReportsResult, error) {
	var res ReportsResult
	settings := app.Settings()
	if !settings.SMTP.Enabled {
		return res, ErrSMTPDisabled
	}
	var sites []*core.Record
	err := app.RecordQuery(schema.Websites).WithContext(ctx).
		AndWhere(dbx.In("reportFrequency", "weekly", "monthly")).AndWhere(dbx.HashExp{"isArchived": false}).
		OrderBy("created", "id").All(&sites)
	if err != nil {
		return res, err
	}
	owners, errs, err := dueReports(ctx, app, sites, now, &res)
	if err != nil {
		return res, err
	}
	for _, o := range owners {
		if err := ctx.Err(); err != nil { // no new mail once cancelled
			return res, err
		}
		errs = append(errs, o.send(ctx, app, settings.Meta, &res)...)
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("skopos: email reports: %w", errors.Join(errs...))
	}
	return res, nil
}

// ownerReports are the due reports of one owner, sent as one email.
type ownerReports struct {
	owner *core.Record
	due   []dueReport
}

// dueReport is one website's report that is due.
type dueReport struct {
	site, key string // key is the lastReport it records
	section   reportSection
}

// dueReports builds the reports of sites due at now, by owner in the
// order of their first due site; a site without an owner email counts in
// res.NoRecipient. A report that fails is one of errs; err is ctx's end.
func dueReports(ctx context.Context, app core.App, sites []*core.Record, now time.Time, res *ReportsResult) (owners []*ownerReports, errs []error, err error) {
	byUser := map[string]*ownerReports{}
	for _, site := range sites {
		loc := stats.SiteLocation(site)
		freq := site.GetString("reportFrequency")
		from, to, _ := ReportPeriod(freq, now, loc)
		key := freq + " " + from
		if site.GetString("lastReport") == key {
			continue
		}
		owner, _ := app.FindRecordById(schema.Users, site.GetString("user"), withContext(ctx))
		if err := ctx.Err(); err != nil { // not "no owner": the lookup was cut short
			return nil, nil, err
		}
		if owner == nil || owner.Email() == "" {
			res.NoRecipient++
			continue
		}
		period, err := stats.ParsePeriodIn("custom", from, to, now, loc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// a report pinned to a segment (websites.reportFilters) shows
		// that segment; filters that cannot be read fail the report
		// rather than send the whole site's
		pin, segName, err := segment.Pinned(site, "report")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rep, err := stats.Query(ctx, app, site.Id, stats.Request{Period: period, Filters: pin, Top: reportTopPages, Now: now, ClickHouse: clickHouseOf(app)})
		if err != nil {
			errs = append(errs, fmt.Errorf("website %s: %w", site.Id, err))
			continue
		}
		o := byUser[owner.Id]
		if o == nil {
			o = &ownerReports{owner: owner}
			byUser[owner.Id] = o
			owners = append(owners, o)
		}
		sec := sectionOf(rep, freq, from, to)
		sec.Segment = segName
		o.due = append(o.due, dueReport{site.Id, key, sec})
	}
	return owners, errs, nil
}

// send mails the owner's reports and records them sent (res.Sent).
func (o *ownerReports) send(ctx context.Context, app core.App, meta core.MetaConfig, res *ReportsResult) (errs []error) {
	sections := make([]reportSection, len(o.due))
	for i, d := range o.due {
		sections[i] = d.section
	}
	msg, err := reportMessage(sections)
	if err != nil {
		return []error{err}
	}
	msg.From = mail.Address{Name: meta.SenderName, Address: meta.SenderAddress}
	msg.To = []mail.Address{{Address: o.owner.Email()}}
	if err := app.NewMailClient().Send(msg); err != nil {
		return []error{fmt.Errorf("user %s: sending the report: %w", o.owner.Id, err)}
	}
	// a sent mail is recorded even when ctx ends now: it cannot be
	// unsent, and unrecorded it would be sent again
	sent := context.WithoutCancel(ctx)
	for _, d := range o.due {
		// only this column: a whole-record save would undo an edit
		// made to the website while the report was being sent
		if _, err := app.DB().Update(schema.Websites, dbx.Params{"lastReport": d.key}, dbx.HashExp{"id": d.site}).
			WithContext(sent).Execute(); err != nil {
			errs = append(errs, fmt.Errorf("website %s: recording the report sent: %w", d.site, err))
			continue
		}
		res.Sent = append(res.Sent, d.site+" "+d.key)
	}
	return errs
}

// withContext makes a PocketBase find (FindRecordById) honour ctx.
func withContext(ctx context.Context) func(*dbx.SelectQuery) error {
	return func(q *dbx.SelectQuery) error {
		q.WithContext(ctx)
		return nil
	}
}

// reportTopPages is how many top pages a report lists.
const reportTopPages = 10

type reportKPI struct {
	Name, Value, Previous string
	Change                int
}

// reportSection is one website's part of a report email.
type reportSection struct {
	Site, Domain, Frequency, From, To string
	// Segment names the segment the report is pinned to ("": none).
	Segment string
	KPIs    []reportKPI
	Pages   []stats.Item
}

func sectionOf(r *stats.Report, freq, from, to string) reportSection {
	num := func(v float64) string { return fmt.Sprintf("%.0f", v) }
	rate := func(v float64) string { return fmt.Sprintf("%.1f %%", v) }
	dur := func(v float64) string { return (time.Duration(v) * time.Second).String() }
	kpi := func(name string, m stats.Metric, f func(float64) string) reportKPI {
		return reportKPI{Name: name, Value: f(m.Value), Previous: f(m.Previous), Change: m.Change}
	}
	name := r.Site.Name
	if name == "" {
		name = r.Site.Domain
	}
	return reportSection{Site: name, Domain: r.Site.Domain, Frequency: freq, From: from, To: to,
		KPIs: []reportKPI{
			kpi("Page views", r.PageViews, num),
			kpi("Visitors", r.Visitors, num),
			kpi("Bounce rate", r.BounceRate, rate),
			kpi("Avg. duration", r.AvgDuration, dur),
		},
		Pages: r.Top["page"],
	}
}

func reportMessage(sections []reportSection) (*mailer.Message, error) {
	var text, html bytes.Buffer
	if err := reportText.Execute(&text, sections); err != nil {
		return nil, err
	}
	if err := reportHTML.Execute(&html, sections); err != nil {
		return nil, err
	}
	first := sections[0]
	subject := fmt.Sprintf("Skopos %s report for %s: %s to %s", first.Frequency, first.Site, first.From, first.To)
	if len(sections) > 1 {
		names := make([]string, len(sections))
		for i, s := range sections {
			names[i] = s.Site
		}
		subject = fmt.Sprintf("Skopos reports for %d websites: %s", len(sections), strings.Join(names, ", "))
	}
	// the subject is a header: no line breaks from a stored name
	subject = strings.Join(strings.Fields(subject), " ")
	return &mailer.Message{Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

var reportText = texttemplate.Must(texttemplate.New("text").Parse(`{{range $i, $s := .}}{{if $i}}

----

{{end}}{{.Site}} ({{.Domain}}), {{.Frequency}} report: {{.From}} to {{.To}}{{if .Segment}}
Segment: {{.Segment}}{{end}}

{{range .KPIs}}{{.Name}}: {{.Value}} ({{printf "%+d" .Change}} % vs {{.Previous}})
{{end}}
Top pages:
{{range .Pages}}{{.Count}}	{{.Key}}
{{else}}(none)
{{end}}{{end}}`))

var reportHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">
{{range .}}<h1>{{.Site}}</h1>
<p>{{.Domain}}, {{.Frequency}} report: {{.From}} to {{.To}}{{if .Segment}}, segment {{.Segment}}{{end}}</p>
<table>
{{range .KPIs}}<tr><th align="left">{{.Name}}</th><td>{{.Value}}</td><td>{{printf "%+d" .Change}} % vs {{.Previous}}</td></tr>
{{end}}</table>
<h2>Top pages</h2>
{{if .Pages}}<table>
{{range .Pages}}<tr><td align="right">{{.Count}}</td><td>{{.Key}}</td></tr>
{{end}}</table>{{else}}<p>(none)</p>{{end}}
{{end}}</body></html>
`))

// reportsSchedule runs the reports job hourly, at minute 7 (off the hour,
// when other jobs run): a report is due from the first run after its
// period ends in the site's time zone.
const reportsSchedule = "7 * * * *"

func (p *plugin) scheduleReports(app core.App) {
	var smtpOffLogged atomic.Bool
	ctx := untilTerminate(app)
	app.Cron().MustAdd("skoposReports", reportsSchedule, func() {
		res, err := SendReports(ctx, app, time.Now())
		if errors.Is(err, ErrSMTPDisabled) {
			if !smtpOffLogged.Swap(true) { // once per process, not hourly
				app.Logger().Info("skopos: email reports are not sent: SMTP is not enabled in PocketBase's settings")
			}
			return
		}
		smtpOffLogged.Store(false)
		if err != nil {
			app.Logger().Error("skopos: email reports failed", "error", err)
		}
		if len(res.Sent) > 0 || res.NoRecipient > 0 {
			app.Logger().Info("skopos: email reports", "sent", res.Sent, "noRecipient", res.NoRecipient)
		}
	})
}

func (c *cli) reportsCommand() *cobra.Command {
	group := c.command(&cobra.Command{Use: "reports", Short: "Email reports of websites to their owners"})
	var now string
	send := c.command(&cobra.Command{
		Use:   "send [--now TIME]",
		Short: "Send the due email reports now (they are also sent hourly while the server runs)",
		Args:  cobra.NoArgs,
		RunE: c.runE(func(cmd *cobra.Command, _ []string) error {
			at := time.Now()
			if now != "" {
				t, err := time.Parse(time.RFC3339, now)
				if err != nil {
					return fmt.Errorf("--now: %w", err)
				}
				at = t
			}
			if err := c.migrate(c.app); err != nil {
				return err
			}
			if err := c.connectClickHouse(cmd.Context(), c.app); err != nil {
				return err
			}
			res, err := SendReports(cmd.Context(), c.app, at)
			for _, s := range res.Sent {
				fmt.Fprintf(cmd.OutOrStdout(), "sent %s\n", s)
			}
			if res.NoRecipient > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%d due report(s) of websites without an owner email: not sent\n", res.NoRecipient)
			}
			return err
		}),
	})
	send.Flags().StringVar(&now, "now", "", "the time to send as of (RFC 3339, e.g. 2026-11-30T09:00:00Z)")
	group.AddCommand(send)
	return group
}
