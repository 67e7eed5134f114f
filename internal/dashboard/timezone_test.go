package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// TestWebsiteTimezoneAndEmailReport: the settings page's time zone and
// email report fields (one server for both: each costs a start).
func TestWebsiteTimezoneAndEmailReport(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Shop", "shop.example", "")
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	form := func(tz string) url.Values {
		return url.Values{"name": {"Shop"}, "domain": {"shop.example"}, "dataRetentionDays": {"0"}, "timezone": {tz}}
	}
	stored := func() string {
		rec, err := e.app.FindRecordById(schema.Websites, site.Id)
		if err != nil {
			t.Fatal(err)
		}
		return rec.GetString("timezone")
	}
	if r := c.get("/dashboard/websites/" + site.Id); !strings.Contains(r.body, `id="timezone" name="timezone" list="zones" value=""`) ||
		!strings.Contains(r.body, `<option value="Europe/Berlin">`) {
		t.Fatalf("settings page lacks the time zone field:\n%s", r.body)
	}
	if r := c.get("/dashboard/sites/" + site.Id); !strings.Contains(r.body, `>UTC</a></span>`) {
		t.Errorf("site page does not show UTC as the zone")
	}
	tests := []struct {
		tz, want string
		ok       bool
	}{
		{"Europe/Berlin", "Europe/Berlin", true},
		{" Asia/Kolkata ", "Asia/Kolkata", true},
		{"Mars/Olympus_Mons", "Asia/Kolkata", false},
		{"Local", "Asia/Kolkata", false},
		{"", "", true},
	}
	for _, tt := range tests {
		r := c.post("/dashboard/websites/"+site.Id, form(tt.tz))
		switch {
		case tt.ok && r.StatusCode != http.StatusSeeOther:
			t.Errorf("%q: %d, want 303\n%s", tt.tz, r.StatusCode, r.body)
		case !tt.ok && (r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Not a time zone")):
			t.Errorf("%q: %d, want 422 saying Not a time zone", tt.tz, r.StatusCode)
		}
		if got := stored(); got != tt.want {
			t.Errorf("after %q the zone is %q, want %q", tt.tz, got, tt.want)
		}
		if tt.ok && tt.want != "" {
			r := c.get("/dashboard/sites/" + site.Id + "?period=7d")
			if !strings.Contains(r.body, `>`+tt.want+`</a></span>`) {
				t.Errorf("site page does not show the zone %s next to the period", tt.want)
			}
		}
	}

	// the email report select: stored, refused when unknown, and a
	// notice while SMTP is off and for a website without an owner
	page := func() string { return c.get("/dashboard/websites/" + site.Id).body }
	smtpOff := "Reports will not be sent until SMTP is configured in PocketBase's settings"
	if b := page(); !strings.Contains(b, `<option value="none" selected>none</option>`) ||
		!strings.Contains(b, smtpOff) || !strings.Contains(b, "This website has no owner, so nobody gets its reports.") {
		t.Fatalf("settings page lacks the email report select or its notices:\n%s", b)
	}
	for _, tt := range []struct {
		freq, want string
		status     int
	}{
		{"weekly", "weekly", http.StatusSeeOther},
		{"daily", "weekly", http.StatusUnprocessableEntity},
		{"monthly", "monthly", http.StatusSeeOther},
		{"", "none", http.StatusSeeOther}, // a form without it: none
	} {
		f := form("")
		f.Set("reportFrequency", tt.freq)
		if r := c.post("/dashboard/websites/"+site.Id, f); r.StatusCode != tt.status {
			t.Errorf("report %q: %d, want %d", tt.freq, r.StatusCode, tt.status)
		}
		rec, _ := e.app.FindRecordById(schema.Websites, site.Id)
		if got := rec.GetString("reportFrequency"); got != tt.want {
			t.Errorf("after %q the report is %q, want %q", tt.freq, got, tt.want)
		}
	}
	s := e.app.Settings()
	s.SMTP.Enabled, s.SMTP.Host, s.SMTP.Port = true, "127.0.0.1", 25
	if err := e.app.Save(s); err != nil {
		t.Fatal(err)
	}
	if b := page(); strings.Contains(b, smtpOff) {
		t.Errorf("the SMTP notice shows with SMTP enabled")
	}
}
