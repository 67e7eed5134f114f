package dashboard_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// TestSitePageShowsEngagementAndAutomaticEvents: the pages card shows the
// median time on page and scroll depth, each automatic event with data
// has its card (value, page, visitors; a row filters on its page), and a
// session's page shows its engaged time.
func TestSitePageShowsEngagementAndAutomaticEvents(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@example.com", "ada-password-123")
	site := addSite(t, e.app, "Ada's shop", "shop.example", ada.Id)
	const ip = "192.0.2.7"
	e.beacon(t, `{"type":"pageView","url":"https://shop.example/pricing","pid":"pricing01"}`, ip, "")
	e.beacon(t, `{"type":"custom","name":"Outbound Link: Click","url":"https://shop.example/pricing","customData":{"url":"https://docs.example/a","host":"docs.example"}}`, ip, "")
	e.beacon(t, `{"type":"custom","name":"Form: Submit","url":"https://shop.example/pricing","customData":{"form":"signup"}}`, ip, "")
	testwait.Until(t, "events stored", func() bool { return count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id}) == 3 })
	e.beacon(t, `{"type":"engagement","url":"https://shop.example/pricing","pid":"pricing01","engagedMs":83000,"scroll":64}`, ip, "")
	testwait.Until(t, "engagement stored", func() bool {
		return count(t, e.app, schema.Events, dbx.HashExp{"website": site.Id, "engagedMs": 83000}) == 1
	})

	c := e.client(t)
	c.mustLogin("ada@example.com", "ada-password-123")
	r := c.get("/dashboard/sites/" + site.Id + "?period=today")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("site page: %d", r.StatusCode)
	}
	for _, want := range []string{
		"1m 23s on page · 64% scrolled",
		`<h2 id="h-auto0">Outbound Link: Click</h2>`,
		`https://docs.example/a</a>`, "on /pricing · 1 visitors",
		`<h2 id="h-auto3">Form: Submit</h2>`,
		`?filter=page%3A%2Fpricing`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("site page lacks %s", want)
		}
	}
	for _, absent := range []string{"File Download</h2>", "404</h2>"} {
		if strings.Contains(r.body, absent) {
			t.Errorf("site page shows a card without data: %s", absent)
		}
	}
	var sid string
	if err := e.app.DB().Select("id").From(schema.Sessions).Row(&sid); err != nil {
		t.Fatal(err)
	}
	r = c.get(fmt.Sprintf("/dashboard/sites/%s/sessions/%s", site.Id, sid))
	if !strings.Contains(r.body, "Engaged time") || !strings.Contains(r.body, "1m 23s") {
		t.Errorf("session page lacks its engaged time:\n%s", r.body)
	}
}
