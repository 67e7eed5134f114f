package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

func TestWebsiteTimezone(t *testing.T) {
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
}
