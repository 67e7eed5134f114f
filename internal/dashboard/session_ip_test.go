package dashboard_test

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/ipinfo"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// withIPInfo serves the dashboard with the bundled network data, as the
// plugin does.
func (e *env) withIPInfo() {
	h := dashboard.Handler(e.app, dashboard.Options{IPInfo: ipinfo.Lookup})
	e.handler.Store(&h)
}

// visitSession sends one page view to site from ip and returns the id
// of the session it opened.
func (e *env) visitSession(t *testing.T, site *core.Record, ip string) string {
	t.Helper()
	e.beacon(t, `{"type":"pageView","url":"https://`+site.GetString("domain")+`/pricing","referrer":"https://news.example/item","language":"de-CH","screenWidth":1440,"screenHeight":900}`,
		ip, userAgents[0])
	var id string
	testwait.Until(t, "session stored", func() bool {
		return e.app.DB().Select("id").From(schema.Sessions).Where(dbx.HashExp{"website": site.Id}).Row(&id) == nil
	})
	return id
}

// storedSession starts a server whose dashboard has the network data,
// with a website that stores raw addresses and one session from ip.
func storedSession(t *testing.T, ip string) (e *env, site *core.Record, sess string) {
	t.Helper()
	e = start(t)
	e.withIPInfo()
	site = addSite(t, e.app, "Shop", "shop.example", "")
	storeRawIP(t, e.app, site)
	return e, site, e.visitSession(t, site, ip)
}

func storeRawIP(t *testing.T, app core.App, site *core.Record) {
	t.Helper()
	site.Set("storeRawIp", true)
	if err := app.Save(site); err != nil {
		t.Fatal(err)
	}
}

// TestSessionPageRawIP: the session page shows the address and its
// network only where the website stored it, and says so otherwise; the
// screen, language and referrer are shown either way.
func TestSessionPageRawIP(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.withIPInfo()
	kept := addSite(t, e.app, "Kept", "kept.example", "")
	storeRawIP(t, e.app, kept)
	private := addSite(t, e.app, "Private", "private.example", "")
	keptSess := e.visitSession(t, kept, "8.8.8.8")
	privateSess := e.visitSession(t, private, "8.8.8.8")
	if n := count(t, e.app, schema.Sessions, dbx.HashExp{"id": privateSess, "ipAddress": ""}); n != 1 {
		t.Fatalf("the private site's session stored an address")
	}
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)

	r := c.get("/dashboard/sites/" + kept.Id + "/sessions/" + keptSess)
	for _, want := range []string{
		`<code id="raw-ip">8.8.8.8</code>`, `data-copy="raw-ip"`,
		`id="asn">AS15169<`, `id="org">Google LLC<`, `id="hosting">Yes`,
		`<a href="https://db-ip.com">IP Geolocation by DB-IP</a>`,
		"1440×900", "de-CH", "https://news.example/item", `id="region-hint"`,
	} {
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, want) {
			t.Errorf("stored IP: %d, page lacks %q\n%s", r.StatusCode, want, r.body)
		}
	}
	if strings.Contains(r.body, "Not stored") {
		t.Error("stored IP: page says it was not stored")
	}

	r = c.get("/dashboard/sites/" + private.Id + "/sessions/" + privateSess)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Not stored (privacy mode)") {
		t.Errorf("no IP: %d, page lacks the privacy-mode text\n%s", r.StatusCode, r.body)
	}
	for _, leak := range []string{"8.8.8.8", "raw-ip\"", `id="asn"`, "Google", "DB-IP"} {
		if strings.Contains(r.body, leak) {
			t.Errorf("no IP: page shows %q", leak)
		}
	}
	if !strings.Contains(r.body, "1440×900") || !strings.Contains(r.body, "de-CH") {
		t.Error("no IP: screen or language missing")
	}

	// a region from a city database replaces the hint
	if _, err := e.app.DB().Update(schema.Sessions, dbx.Params{"state": "US-CA"}, dbx.HashExp{"id": keptSess}).Execute(); err != nil {
		t.Fatal(err)
	}
	r = c.get("/dashboard/sites/" + kept.Id + "/sessions/" + keptSess)
	if !strings.Contains(r.body, "California, United States") || strings.Contains(r.body, "region-hint") {
		t.Errorf("with a region: page lacks it or still hints\n%s", r.body)
	}

	// without Options.IPInfo: the address, no network facts (a new
	// handler forgets logins)
	e.setHandler()
	c.mustLogin(pbtest.Email, pbtest.Password)
	r = c.get("/dashboard/sites/" + kept.Id + "/sessions/" + keptSess)
	if !strings.Contains(r.body, `<code id="raw-ip">8.8.8.8</code>`) || strings.Contains(r.body, `id="asn"`) {
		t.Errorf("without IPInfo: want the address and no network\n%s", r.body)
	}
}

// Values an attacker controls: identify() sends the user's, the browser
// the referrer; an address is never one the intake stores, but the page
// must not trust the column.
const (
	hostileName  = `<script>alert("name")</script>`
	hostileEmail = `"><img src=x onerror=alert('email')>@x.io`
	hostileKey   = `<b onclick=alert(1)>plan</b>`
	hostileValue = `<script>alert("meta")</script>`
	hostileRef   = `https://evil.example/"><script>alert("ref")</script>`
	hostileIP    = `<svg onload=alert("ip")>`
)

// hostileUser identifies the visitor of session sess with hostile
// values, through raw SQL: the page must escape whatever the store
// holds, whatever the intake's own checks let through. It also sets a
// hostile referrer.
func hostileUser(t *testing.T, app core.App, sess string) {
	t.Helper()
	meta := `{"zz":{"a":"<img src=x onerror=alert(2)>"},"` + strings.ReplaceAll(hostileKey, `"`, `\"`) + `":"` +
		strings.ReplaceAll(hostileValue, `"`, `\"`) + `","n":3}`
	if _, err := app.DB().NewQuery(`UPDATE visitors SET userId = 'u-1', name = {:name}, email = {:email},
		metadata = {:meta} WHERE id = (SELECT visitor FROM sessions WHERE id = {:s})`).Bind(dbx.Params{
		"name": hostileName, "email": hostileEmail, "s": sess, "meta": meta,
	}).Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB().Update(schema.Sessions, dbx.Params{"referrer": hostileRef}, dbx.HashExp{"id": sess}).Execute(); err != nil {
		t.Fatal(err)
	}
}

// TestSessionPageEscapes: what identify() and the browser send (user
// name, email, metadata keys and values, referrer) and the stored
// address reach the session page escaped; the metadata is a table in
// key order, nested values as JSON.
func TestSessionPageEscapes(t *testing.T) {
	t.Parallel()
	e, site, sess := storedSession(t, "1.1.1.1")
	hostileUser(t, e.app, sess)
	if _, err := e.app.DB().Update(schema.Sessions, dbx.Params{"ipAddress": hostileIP}, dbx.HashExp{"id": sess}).Execute(); err != nil {
		t.Fatal(err)
	}
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	r := c.get("/dashboard/sites/" + site.Id + "/sessions/" + sess)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", r.StatusCode, r.body)
	}
	for _, raw := range []string{"<script>alert", "<img src=x", "<b onclick", "<svg onload", `"><script`} {
		if strings.Contains(r.body, raw) {
			t.Errorf("page carries %q unescaped", raw)
		}
	}
	for _, s := range []string{hostileName, hostileEmail, hostileKey, hostileValue, hostileRef, hostileIP, `{"a":"<img src=x onerror=alert(2)>"}`} {
		if !strings.Contains(html.UnescapeString(r.body), s) {
			t.Errorf("page does not show %q", s)
		}
	}
	// the table, in key order: the hostile key ("<" sorts first), n, zz
	meta := r.body[strings.Index(r.body, `id="user-meta"`):]
	meta = html.UnescapeString(meta[:strings.Index(meta, "</table>")])
	if k, n, z := strings.Index(meta, hostileKey), strings.Index(meta, ">n<"), strings.Index(meta, ">zz<"); k < 0 || n < k || z < n || !strings.Contains(meta, ">3<") {
		t.Errorf("metadata table out of order or incomplete:\n%s", meta)
	}
	if strings.Contains(r.body, `id="asn"`) {
		t.Error("an address that does not parse got network facts")
	}
	// the identified user's page is one click away
	if want := `id="user-link"`; !strings.Contains(r.body, `href="/dashboard/sites/`+site.Id+`/users/u-1" id="user-link"`) {
		t.Errorf("no %s to the user page", want)
	}
}

// TestBrowserSessionPageIP: in Chromium, the session page of a stored
// address shows it and its network, the hostile user values run no
// script, and the metadata table has its rows.
func TestBrowserSessionPageIP(t *testing.T) {
	t.Parallel()
	e, site, sess := storedSession(t, "1.1.1.1")
	hostileUser(t, e.app, sess)

	ctx := tab(t)
	noDialogs(t, ctx)
	browserLogin(t, ctx, e.dash.URL, pbtest.Email, pbtest.Password)
	visit(t, ctx, e.dash.URL+"/dashboard/sites/"+site.Id+"/sessions/"+sess, "#network")
	if ip, org, asn := text(t, ctx, "#raw-ip"), text(t, ctx, "#org"), text(t, ctx, "#asn"); ip != "1.1.1.1" || org != "Cloudflare, Inc." || asn != "AS13335" {
		t.Errorf("network: %q %q %q", ip, asn, org)
	}
	if got := text(t, ctx, "#identified"); !strings.Contains(got, hostileName) || !strings.Contains(got, hostileEmail) {
		t.Errorf("identified user shown as %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#user-meta tbody tr").length`); n != 3 {
		t.Errorf("metadata table: %d rows, want 3", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("main script, main img, main svg, main b").length`); n != 0 {
		t.Errorf("%d elements injected", n)
	}
	screenshot(t, ctx, "session-ip")
}
