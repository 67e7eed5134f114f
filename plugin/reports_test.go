package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/pipeline"
	"github.com/skopos-go/skopos/internal/segment"
	"github.com/skopos-go/skopos/internal/smtptest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/store/localstore"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

func TestReportPeriod(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	for _, tc := range []struct {
		freq     string
		now      time.Time
		loc      *time.Location
		from, to string
	}{
		{"weekly", time.Date(2026, 11, 23, 0, 30, 0, 0, berlin), berlin, "2026-11-16", "2026-11-22"},
		// Sunday 23:30 UTC is already Monday in Tokyo, still Sunday in Berlin
		{"weekly", time.Date(2026, 11, 22, 23, 30, 0, 0, time.UTC), tokyo, "2026-11-16", "2026-11-22"},
		{"weekly", time.Date(2026, 11, 22, 22, 30, 0, 0, time.UTC), berlin, "2026-11-09", "2026-11-15"},
		{"weekly", time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), time.UTC, "2026-11-16", "2026-11-22"},
		// the week of the DST change in Berlin (Sunday 2026-10-25)
		{"weekly", time.Date(2026, 10, 26, 9, 0, 0, 0, berlin), berlin, "2026-10-19", "2026-10-25"},
		{"monthly", time.Date(2026, 12, 1, 0, 5, 0, 0, berlin), berlin, "2026-11-01", "2026-11-30"},
		{"monthly", time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC), time.UTC, "2026-02-01", "2026-02-28"},
		{"monthly", time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC), time.UTC, "2026-12-01", "2026-12-31"},
	} {
		from, to, ok := plugin.ReportPeriod(tc.freq, tc.now, tc.loc)
		if !ok || from != tc.from || to != tc.to {
			t.Errorf("%s at %v in %v: %s to %s (%v), want %s to %s", tc.freq, tc.now, tc.loc, from, to, ok, tc.from, tc.to)
		}
	}
	for _, f := range []string{"", "none", "daily"} {
		if _, _, ok := plugin.ReportPeriod(f, time.Now(), time.UTC); ok {
			t.Errorf("%q has a period", f)
		}
	}
}

func TestEmailReports(t *testing.T) {
	t.Parallel()
	port, inbox := smtptest.Start(t)
	srv := startEmbedded(t)
	app := srv.App()

	users, _ := app.FindCollectionByNameOrId(schema.Users)
	owner := core.NewRecord(users)
	owner.SetEmail("owner@example.com")
	owner.SetPassword("owner-password-1")
	if err := app.Save(owner); err != nil {
		t.Fatal(err)
	}
	site := srv.AddWebsite(t, "shop.example")
	site.Set("name", "Shop & <Co>")
	site.Set("timezone", "Europe/Berlin")
	site.Set("reportFrequency", "weekly")
	site.Set("user", owner.Id)
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
	blog := srv.AddWebsite(t, "blog.example") // the same owner's, no traffic: one email for both
	blog.Set("name", "Blog")
	blog.Set("reportFrequency", "weekly")
	blog.Set("user", owner.Id)
	if err := app.Save(blog); err != nil {
		t.Fatal(err)
	}
	archived := srv.AddWebsite(t, "archived.example") // archived: no report
	archived.Set("reportFrequency", "weekly")
	archived.Set("user", owner.Id)
	archived.Set("isArchived", true)
	if err := app.Save(archived); err != nil {
		t.Fatal(err)
	}
	orphan := srv.AddWebsite(t, "orphan.example") // no owner: nobody to send to
	orphan.Set("reportFrequency", "monthly")
	if err := app.Save(orphan); err != nil {
		t.Fatal(err)
	}

	// traffic in the reported week (Monday 2026-11-16 to Sunday 11-22 in
	// Berlin) and the week before, through a pipeline with its own clock
	var mu sync.Mutex
	var clock time.Time
	ps := pipeline.NewSites()
	ss, err := ps.Put(localstore.WebsiteFromRecord(site))
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Store: localstore.New(app), Sites: ps, RateLimit: -1,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	hit := func(at time.Time, ip, path string) {
		t.Helper()
		mu.Lock()
		clock = at
		mu.Unlock()
		r := httptest.NewRequest(http.MethodPost, "/api/event", nil)
		r.RemoteAddr = ip + ":5000"
		browsertest.Headers(r.Header, firefoxUA)
		body := fmt.Sprintf(`{"type":"pageView","url":"https://shop.example%s"}`, path)
		if err := p.TrackBrowser(r, []byte(body), func(string) *pipeline.Site { return ss }); err != nil {
			t.Fatal(err)
		}
	}
	script := "/<script>alert(1)</script>"
	// Monday 00:30 Berlin is Sunday 23:30 UTC: in the week by the site's zone
	hit(time.Date(2026, 11, 16, 0, 30, 0, 0, berlin), "198.51.100.1", "/")
	hit(time.Date(2026, 11, 16, 0, 31, 0, 0, berlin), "198.51.100.1", script)
	hit(time.Date(2026, 11, 18, 10, 0, 0, 0, berlin), "198.51.100.2", "/pricing")
	hit(time.Date(2026, 11, 22, 23, 0, 0, 0, berlin), "198.51.100.3", "/")
	hit(time.Date(2026, 11, 10, 12, 0, 0, 0, berlin), "198.51.100.4", "/") // the week before
	hit(time.Date(2026, 11, 23, 0, 10, 0, 0, berlin), "198.51.100.5", "/next-week")
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// the pipeline stores the path URL-escaped; a writer around it (or an
	// older version) may not: the report must escape what is stored
	escaped := "/%3Cscript%3Ealert%281%29%3C/script%3E"
	for _, q := range []string{
		"UPDATE events SET path = {:raw} WHERE path = {:esc}",
		"UPDATE dash_sum_items SET key = {:raw} WHERE key = {:esc}",
	} {
		r, err := app.DB().NewQuery(q).Bind(dbx.Params{"raw": script, "esc": escaped}).Execute()
		if n, _ := r.RowsAffected(); err != nil || n == 0 {
			t.Fatalf("%s: %v (%d rows)", q, err, n)
		}
	}

	ctx := context.Background()
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, berlin) // Monday morning

	// SMTP off: nothing is sent and nothing recorded
	if _, err := plugin.SendReports(ctx, app, now); !errors.Is(err, plugin.ErrSMTPDisabled) {
		t.Fatalf("SMTP disabled: %v, want ErrSMTPDisabled", err)
	}

	s := app.Settings()
	s.SMTP.Enabled, s.SMTP.Host, s.SMTP.Port = true, "127.0.0.1", port
	s.Meta.SenderAddress, s.Meta.SenderName = "reports@example.com", "Skopos"
	if err := app.Save(s); err != nil {
		t.Fatal(err)
	}

	res, err := plugin.SendReports(ctx, app, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sent) != 2 || res.Sent[0] != site.Id+" weekly 2026-11-16" || res.Sent[1] != blog.Id+" weekly 2026-11-16" || res.NoRecipient != 1 {
		t.Fatalf("first run: %+v", res)
	}
	var msg smtptest.Message
	select {
	case msg = <-inbox:
	case <-time.After(testwait.Timeout()):
		t.Fatal("no message received")
	}
	if msg.From != "reports@example.com" || len(msg.To) != 1 || msg.To[0] != "owner@example.com" {
		t.Errorf("envelope from %q to %v", msg.From, msg.To)
	}
	hdr, text, html := smtptest.Bodies(t, msg.Data)
	text = strings.ReplaceAll(text, "\r\n", "\n")
	subject, _ := new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject"))
	if want := "Skopos reports for 2 websites: Shop & <Co>, Blog"; subject != want {
		t.Errorf("subject %q, want %q", subject, want)
	}

	period, _ := stats.ParsePeriodIn("custom", "2026-11-16", "2026-11-22", now, berlin)
	want, err := stats.Query(ctx, app, site.Id, stats.Request{Period: period, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if want.PageViews.Value != 4 || want.Visitors.Value != 3 || want.PageViews.Previous != 1 {
		t.Fatalf("fixture: page views %+v, visitors %+v", want.PageViews, want.Visitors)
	}
	for _, line := range []string{
		fmt.Sprintf("Page views: %.0f (%+d %% vs %.0f)", want.PageViews.Value, want.PageViews.Change, want.PageViews.Previous),
		fmt.Sprintf("Visitors: %.0f (%+d %% vs %.0f)", want.Visitors.Value, want.Visitors.Change, want.Visitors.Previous),
		fmt.Sprintf("Bounce rate: %.1f %% (%+d %% vs %.1f %%)", want.BounceRate.Value, want.BounceRate.Change, want.BounceRate.Previous),
		fmt.Sprintf("Avg. duration: %s (%+d %% vs %s)", time.Duration(want.AvgDuration.Value)*time.Second, want.AvgDuration.Change, time.Duration(want.AvgDuration.Previous)*time.Second),
		"2\t/\n", "1\t/pricing\n", "1\t" + script + "\n",
		"Shop & <Co> (shop.example), weekly report: 2026-11-16 to 2026-11-22\n",
		"Blog (blog.example), weekly report: 2026-11-16 to 2026-11-22\n\nPage views: 0 (+0 % vs 0)\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("text body lacks %q:\n%s", line, text)
		}
	}
	if strings.Contains(text, "/next-week") {
		t.Errorf("text body lists a page of the next week:\n%s", text)
	}
	for _, s := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "Shop &amp; &lt;Co&gt;", "/pricing"} {
		if !strings.Contains(html, s) {
			t.Errorf("HTML body lacks %q:\n%s", s, html)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<Co>") {
		t.Errorf("HTML body has unescaped stored values:\n%s", html)
	}

	// what was sent is stored: a second run (or one after a restart,
	// which reads the same record) sends nothing
	if got, _ := app.FindRecordById(schema.Websites, site.Id); got.GetString("lastReport") != "weekly 2026-11-16" {
		t.Errorf("lastReport %q", got.GetString("lastReport"))
	}
	if res, err = plugin.SendReports(ctx, app, now.Add(time.Hour)); err != nil || len(res.Sent) != 0 {
		t.Errorf("second run: sent %v, %v", res.Sent, err)
	}
	select {
	case m := <-inbox:
		t.Errorf("a second message to %v", m.To)
	default:
	}

	// pinned to a segment, the report shows the segment's figures only
	pinned, _ := app.FindRecordById(schema.Websites, site.Id)
	segment.Pin{Name: "Pricing", Filters: []string{"page:/pricing"}}.Apply(pinned, "report")
	pinned.Set("lastReport", "")
	blog.Set("reportFrequency", "none")
	if err := app.Save(pinned); err != nil {
		t.Fatal(err)
	}
	if err := app.Save(blog); err != nil {
		t.Fatal(err)
	}
	if res, err = plugin.SendReports(ctx, app, now.Add(time.Hour)); err != nil || len(res.Sent) != 1 {
		t.Fatalf("pinned run: sent %v, %v", res.Sent, err)
	}
	select {
	case msg = <-inbox:
	case <-time.After(testwait.Timeout()):
		t.Fatal("no pinned report received")
	}
	_, text, _ = smtptest.Bodies(t, msg.Data)
	text = strings.ReplaceAll(text, "\r\n", "\n")
	for _, line := range []string{"Segment: Pricing\n", "Page views: 1 ", "Visitors: 1 ", "1\t/pricing\n"} {
		if !strings.Contains(text, line) {
			t.Errorf("pinned report lacks %q:\n%s", line, text)
		}
	}
	if strings.Contains(text, "2\t/\n") {
		t.Errorf("pinned report lists pages outside its segment:\n%s", text)
	}

	// the server sends them from an hourly job
	var expr string
	for _, j := range app.Cron().Jobs() {
		if j.Id() == "skoposReports" {
			expr = j.Expression()
		}
	}
	if expr != "7 * * * *" {
		t.Errorf("reports job %q, want hourly at minute 7", expr)
	}
}
