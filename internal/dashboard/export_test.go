package dashboard_test

import (
	"encoding/csv"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/schema"
)

var exportLinkRE = regexp.MustCompile(`href="([^"]+)" id="export-(events|sessions|summary)"`)

// TestExportMenuDownloadsCSV follows the site page's Export links with the
// dashboard's login: each kind downloads its CSV, for the page's period,
// and only for a site the user may see.
func TestExportMenuDownloadsCSV(t *testing.T) {
	t.Parallel()
	e := start(t)
	owner := addUser(t, e.app, "owner@example.com", "owner-password-1")
	other := addUser(t, e.app, "other@example.com", "other-password-1")
	site := addSite(t, e.app, "Export", "export.example", owner.Id)
	foreign := addSite(t, e.app, "Foreign", "foreign.example", other.Id)
	events := e.traffic(t, site, 6)
	sessions := count(t, e.app, schema.Sessions, dbx.HashExp{"website": site.Id})

	anon := e.client(t)
	c := e.client(t)
	c.mustLogin("owner@example.com", "owner-password-1")
	page := c.get("/dashboard/sites/" + site.Id + "?period=30d")
	links := map[string]string{}
	for _, m := range exportLinkRE.FindAllStringSubmatch(page.body, -1) {
		links[m[2]] = html.UnescapeString(m[1])
	}
	for _, tc := range []struct {
		kind   string
		rows   int // below the header
		header string
	}{
		{"events", events, "time"},
		{"sessions", sessions, "started"},
		{"summary", 30, "date"},
	} {
		href := links[tc.kind]
		if !strings.Contains(href, "period=30d") {
			t.Fatalf("%s link %q: not the page's period (links %v)", tc.kind, href, links)
		}
		r := c.get(href)
		if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), `attachment; filename="skopos-export.example-`+tc.kind+"-") {
			t.Fatalf("%s: status %d, headers %v", tc.kind, r.StatusCode, r.Header)
		}
		rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][0] != tc.header || len(rows)-1 != tc.rows {
			t.Errorf("%s: header %v, %d rows, want %d", tc.kind, rows[0], len(rows)-1, tc.rows)
		}
	}

	for _, tc := range []struct {
		name string
		c    *client
		path string
		want int
	}{
		{"another owner's site", c, "/dashboard/sites/" + foreign.Id + "/export?kind=events", http.StatusNotFound},
		{"unknown kind", c, "/dashboard/sites/" + site.Id + "/export?kind=visitors", http.StatusBadRequest},
		{"logged out", anon, "/dashboard/sites/" + site.Id + "/export?kind=events", http.StatusFound},
	} {
		if r := tc.c.get(tc.path); r.StatusCode != tc.want || strings.Contains(r.Header.Get("Content-Type"), "csv") {
			t.Errorf("%s: status %d (%s), want %d", tc.name, r.StatusCode, r.Header.Get("Content-Type"), tc.want)
		}
	}
}
