package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

func sessionCookie(r resp) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == "skopos_session" {
			return c
		}
	}
	return nil
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := start(t)
	addSite(t, e.app, "Shop", "shop.example", "")
	c := e.client(t)

	if r := c.get("/dashboard/"); r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/dashboard/login?next=") {
		t.Fatalf("anonymous overview: %d %s, want redirect to login", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.login(pbtest.Email, "wrong password"); r.StatusCode != http.StatusUnauthorized || sessionCookie(r) != nil {
		t.Fatalf("bad password: status %d, cookie %v", r.StatusCode, sessionCookie(r))
	}
	if r := c.login("nobody@example.com", pbtest.Password); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown email: status %d", r.StatusCode)
	}
	r := c.login(pbtest.Email, pbtest.Password)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/dashboard/" {
		t.Fatalf("login: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	ck := sessionCookie(r)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/dashboard" || ck.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/dashboard, not Secure over http", ck)
	}
	r = c.get("/dashboard/")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Shop") {
		t.Fatalf("overview: %d\n%s", r.StatusCode, r.body)
	}
	if got := r.Header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") ||
		!strings.Contains(got, "default-src 'self'") || !strings.Contains(got, "frame-ancestors 'none'") ||
		!strings.Contains(got, "object-src 'none'") || !strings.Contains(got, "base-uri 'none'") {
		t.Errorf("CSP = %q", got)
	}
	if r := c.post("/dashboard/logout", url.Values{}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if r := c.get("/dashboard/"); r.StatusCode != http.StatusFound {
		t.Fatalf("after logout: %d, want redirect to login", r.StatusCode)
	}

	// a users record logs in too
	addUser(t, e.app, "ada@example.com", "ada-password-123")
	c2 := e.client(t)
	c2.mustLogin("ada@example.com", "ada-password-123")
}

func TestLoginRedirectStaysInDashboard(t *testing.T) {
	t.Parallel()
	e := start(t)
	for next, want := range map[string]string{
		"/dashboard/websites":  "/dashboard/websites",
		"//evil.example/":      "/dashboard/",
		"https://evil.example": "/dashboard/",
		"/dashboard/\\evil":    "/dashboard/",
	} {
		c := e.client(t)
		c.get("/dashboard/login")
		r := c.post("/dashboard/login", url.Values{"email": {pbtest.Email}, "password": {pbtest.Password}, "next": {next}})
		if got := r.Header.Get("Location"); got != want {
			t.Errorf("next=%q: redirect to %q, want %q", next, got, want)
		}
	}
}

func TestLoginRateLimited(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.client(t)
	for i := range 5 {
		if r := c.login(pbtest.Email, "nope"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, r.StatusCode)
		}
	}
	r := c.login(pbtest.Email, pbtest.Password) // even the right password
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || sessionCookie(r) != nil {
		t.Fatalf("6th attempt: status %d Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
}

// TestLoginRateLimitedPerAccount: guesses at one account from ever new
// forwarded addresses (a trusted proxy passes whatever the client claims)
// are limited too: past twice the per-IP allowance a wrong password is
// answered 429 from any address, and an address that failed at the
// account is not checked again, while the right password from an address
// that has not failed still logs in (else anyone could keep the owner
// out) and other accounts are not affected.
func TestLoginRateLimitedPerAccount(t *testing.T) {
	t.Parallel()
	e := start(t)
	h := dashboard.Handler(e.app, dashboard.Options{ClientIP: func(r *http.Request) netip.Addr {
		a, _ := netip.ParseAddr(r.Header.Get("X-Forwarded-For"))
		return a
	}})
	e.handler.Store(&h)
	addUser(t, e.app, "other@example.com", "a-long-password-1")
	attempt := func(email, password, ip string) int {
		c := e.client(t) // a fresh browser: a login leaves a session behind
		c.get("/dashboard/login")
		r := c.do("POST", "/dashboard/login", url.Values{"email": {email}, "password": {password}, "csrf": {c.csrf}},
			map[string]string{"X-Forwarded-For": ip})
		return r.StatusCode
	}
	for i := range 10 { // 5 per IP is the IP limit; each guess from a new IP
		if code := attempt(pbtest.Email, "nope", fmt.Sprintf("198.51.100.%d", i+1)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: status %d, want 401", i+1, code)
		}
	}
	for i := range 5 {
		if code := attempt(pbtest.Email, "nope", fmt.Sprintf("203.0.113.%d", i+1)); code != http.StatusTooManyRequests {
			t.Fatalf("guess %d from a fresh IP: status %d, want 429", 11+i, code)
		}
	}
	if code := attempt(pbtest.Email, pbtest.Password, "198.51.100.1"); code != http.StatusTooManyRequests {
		t.Fatalf("the right password from an address that failed at the account: status %d, want 429", code)
	}
	if code := attempt(pbtest.Email, pbtest.Password, "203.0.113.77"); code != http.StatusSeeOther {
		t.Fatalf("the right password from a fresh IP after 15 failures: status %d, want 303", code)
	}
	if code := attempt("other@example.com", "a-long-password-1", "198.51.100.2"); code != http.StatusSeeOther {
		t.Fatalf("another account: status %d, want 303", code)
	}
}

func TestLoginRateLimitWindowPasses(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	now := time.Now()
	clock := func() time.Time { return now }
	h := httptest.NewServer(dashboard.Handler(srv.App(), dashboard.Options{Now: clock}))
	t.Cleanup(h.Close)
	e := &env{srv: srv, app: srv.App(), dash: h}
	c := e.client(t)
	for range 5 {
		c.login(pbtest.Email, "nope")
	}
	if r := c.login(pbtest.Email, pbtest.Password); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", r.StatusCode)
	}
	now = now.Add(61 * time.Second)
	if r := c.login(pbtest.Email, pbtest.Password); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after a minute: status %d, want 303", r.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.client(t)

	// the login form itself needs its token
	c.get("/dashboard/login")
	if r := c.do("POST", "/dashboard/login", url.Values{"email": {pbtest.Email}, "password": {pbtest.Password}}, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("login without token: %d, want 403", r.StatusCode)
	}

	c.mustLogin(pbtest.Email, pbtest.Password)
	add := url.Values{"name": {"x"}, "domain": {"x.example"}}
	if r := c.do("POST", "/dashboard/websites", add, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("no token: %d, want 403", r.StatusCode)
	}
	bad := url.Values{"name": {"x"}, "domain": {"x.example"}, "csrf": {"not-the-token"}}
	if r := c.do("POST", "/dashboard/websites", bad, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong token: %d, want 403", r.StatusCode)
	}
	good := url.Values{"name": {"x"}, "domain": {"x.example"}, "csrf": {c.csrf}}
	if r := c.do("POST", "/dashboard/websites", good, map[string]string{"Origin": "https://evil.example"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin post: %d, want 403", r.StatusCode)
	}
	if r := c.do("POST", "/dashboard/logout", url.Values{}, nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without token: %d, want 403", r.StatusCode)
	}
	if n := count(t, e.app, schema.Websites, nil); n != 0 {
		t.Fatalf("%d websites created by refused posts", n)
	}
	if r := c.post("/dashboard/websites", good); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("with token: %d\n%s", r.StatusCode, r.body)
	}
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	t.Parallel()
	srv := pbtest.Start(t, pbtest.Options{})
	h := httptest.NewTLSServer(dashboard.Handler(srv.App(), dashboard.Options{}))
	t.Cleanup(h.Close)
	jar, _ := cookiejar.New(nil)
	hc := h.Client()
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &client{t: t, base: h.URL, hc: hc}
	r := c.login(pbtest.Email, pbtest.Password)
	if ck := sessionCookie(r); r.StatusCode != http.StatusSeeOther || ck == nil || !ck.Secure || !ck.HttpOnly {
		t.Fatalf("https login: %d cookie %+v, want Secure", r.StatusCode, ck)
	}

	// behind a reverse proxy on the same machine that terminates TLS
	e := start(t)
	c2 := e.client(t)
	c2.get("/dashboard/login")
	r = c2.do("POST", "/dashboard/login", url.Values{"email": {pbtest.Email}, "password": {pbtest.Password}, "csrf": {c2.csrf}},
		map[string]string{"X-Forwarded-Proto": "https"})
	if ck := sessionCookie(r); ck == nil || !ck.Secure {
		t.Fatalf("X-Forwarded-Proto https from loopback: cookie %+v, want Secure", ck)
	}
}

func TestUsersSeeOnlyTheirSites(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@example.com", "ada-password-123")
	bob := addUser(t, e.app, "bob@example.com", "bob-password-123")
	adas := addSite(t, e.app, "Ada's blog", "ada.example", ada.Id)
	bobs := addSite(t, e.app, "Bob's shop", "bob.example", bob.Id)
	addSite(t, e.app, "Admin site", "admin.example", "")

	c := e.client(t)
	c.mustLogin("ada@example.com", "ada-password-123")
	r := c.get("/dashboard/")
	if !strings.Contains(r.body, "Ada&#39;s blog") || strings.Contains(r.body, "Bob") || strings.Contains(r.body, "Admin site") {
		t.Fatalf("ada's overview shows other sites:\n%s", r.body)
	}
	if r := c.get("/dashboard/websites"); strings.Contains(r.body, "bob.example") || !strings.Contains(r.body, "ada.example") {
		t.Fatalf("ada's websites page:\n%s", r.body)
	}
	// the "active now" stream: TestActiveStream
	for _, p := range []string{"/dashboard/sites/" + bobs.Id,
		"/dashboard/sites/" + bobs.Id + "/sessions", "/dashboard/sites/" + bobs.Id + "/events?name=x",
		"/dashboard/websites/" + bobs.Id, "/dashboard/websites/" + bobs.Id + "/delete", "/dashboard/sites/nosuchsite"} {
		if r := c.get(p); r.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.StatusCode)
		}
	}
	for _, p := range []string{"/dashboard/websites/" + bobs.Id, "/dashboard/websites/" + bobs.Id + "/archive",
		"/dashboard/websites/" + bobs.Id + "/delete"} {
		if r := c.post(p, url.Values{"name": {"pwned"}, "domain": {"pwned.example"}, "archived": {"1"}, "confirm": {"bob.example"}}); r.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", p, r.StatusCode)
		}
	}
	if rec, err := e.app.FindRecordById(schema.Websites, bobs.Id); err != nil || rec.GetString("name") != "Bob's shop" || rec.GetBool("isArchived") {
		t.Fatalf("bob's site changed by ada: %v %v", rec, err)
	}
	if r := c.get("/dashboard/sites/" + adas.Id); r.StatusCode != http.StatusOK {
		t.Fatalf("own site: %d", r.StatusCode)
	}
	// a site ada adds is hers
	if r := c.post("/dashboard/websites", url.Values{"name": {"New"}, "domain": {"new.example"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", r.StatusCode)
	}
	recs, _ := e.app.FindAllRecords(schema.Websites, dbx.HashExp{"domain": "new.example"})
	if len(recs) != 1 || recs[0].GetString("user") != ada.Id {
		t.Fatalf("added site's user = %v, want ada", recs)
	}

	admin := e.client(t)
	admin.mustLogin(pbtest.Email, pbtest.Password)
	r = admin.get("/dashboard/")
	for _, name := range []string{"Ada&#39;s blog", "Bob&#39;s shop", "Admin site", "New"} {
		if !strings.Contains(r.body, name) {
			t.Errorf("superuser overview lacks %q", name)
		}
	}
	if r := admin.get("/dashboard/sites/" + bobs.Id); r.StatusCode != http.StatusOK {
		t.Fatalf("superuser on bob's site: %d", r.StatusCode)
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@example.com", "ada-password-123")
	c := e.client(t)
	c.mustLogin("ada@example.com", "ada-password-123")
	ada.SetPassword("another-password-456")
	if err := e.app.Save(ada); err != nil {
		t.Fatal(err)
	}
	if r := c.get("/dashboard/"); r.StatusCode != http.StatusFound {
		t.Fatalf("after password change: %d, want redirect to login", r.StatusCode)
	}
}

func TestWebsitesCRUD(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)

	// add: the domain is validated and normalized as the pipeline parses it
	if r := c.post("/dashboard/websites", url.Values{"name": {"Bad"}, "domain": {"http://user@bad example"}}); r.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Not a usable domain") {
		t.Fatalf("bad domain: %d\n%s", r.StatusCode, r.body)
	}
	r := c.post("/dashboard/websites", url.Values{"name": {"My Shop"}, "domain": {"https://www.Shop.Example:8443/x"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", r.StatusCode, r.body)
	}
	recs, _ := e.app.FindAllRecords(schema.Websites)
	if len(recs) != 1 || recs[0].GetString("domain") != "shop.example" || recs[0].GetString("name") != "My Shop" {
		t.Fatalf("stored %v", recs)
	}
	site := recs[0]
	r = c.get(r.Header.Get("Location"))
	snippet := `&lt;script defer src=&#34;` + e.dash.URL + `/skopos.js&#34; data-endpoint=&#34;` + e.dash.URL + `/api/event&#34;&gt;&lt;/script&gt;`
	if !strings.Contains(r.body, snippet) || !strings.Contains(r.body, site.GetString("trackingId")) || !strings.Contains(r.body, "Not connected") {
		t.Fatalf("settings page lacks snippet/trackingId/Not connected:\n%s", r.body)
	}

	// edit: a bad blacklist line is refused and nothing changes
	edit := url.Values{"name": {"Shop"}, "domain": {"shop.example"}, "ipBlacklist": {"203.0.113.7\nnot-an-ip"},
		"dataRetentionDays": {"30"}}
	if r := c.post("/dashboard/websites/"+site.Id, edit); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Line 2") {
		t.Fatalf("bad ip: %d\n%s", r.StatusCode, r.body)
	}
	edit.Set("dataRetentionDays", "-1")
	edit.Set("ipBlacklist", "203.0.113.7")
	if r := c.post("/dashboard/websites/"+site.Id, edit); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("negative retention: %d", r.StatusCode)
	}
	edit = url.Values{"name": {"Shop"}, "domain": {"shop.example"}, "ipBlacklist": {" 203.0.113.7 \n\n198.51.100.9/24\n2001:db8::/32\n203.0.113.7"},
		"dataRetentionDays": {"30"}, "storeRawIp": {"1"}, "disableLocalhostTracking": {"1"}}
	if r := c.post("/dashboard/websites/"+site.Id, edit); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", r.StatusCode, r.body)
	}
	site, _ = e.app.FindRecordById(schema.Websites, site.Id)
	if site.GetString("name") != "Shop" || site.GetInt("dataRetentionDays") != 30 || !site.GetBool("storeRawIp") ||
		!site.GetBool("disableLocalhostTracking") || site.GetString("ipBlacklist") != `["203.0.113.7","198.51.100.0/24","2001:db8::/32"]` {
		t.Fatalf("saved %s", site.PublicExport())
	}
	r = c.get("/dashboard/websites/" + site.Id)
	if !strings.Contains(r.body, "203.0.113.7\n198.51.100.0/24\n2001:db8::/32</textarea>") {
		t.Fatalf("settings form does not show the blacklist:\n%s", r.body)
	}
	// unchecked boxes clear the flags
	edit.Del("storeRawIp")
	c.post("/dashboard/websites/"+site.Id, edit)
	if site, _ = e.app.FindRecordById(schema.Websites, site.Id); site.GetBool("storeRawIp") {
		t.Fatal("storeRawIp still set after unchecking")
	}

	// archive and restore
	c.post("/dashboard/websites/"+site.Id+"/archive", url.Values{"archived": {"1"}})
	if site, _ = e.app.FindRecordById(schema.Websites, site.Id); !site.GetBool("isArchived") {
		t.Fatal("not archived")
	}
	c.post("/dashboard/websites/"+site.Id+"/archive", url.Values{"archived": {"0"}})
	if site, _ = e.app.FindRecordById(schema.Websites, site.Id); site.GetBool("isArchived") {
		t.Fatal("not restored")
	}

	// delete: confirmation required, then the site and its data go
	e.traffic(t, site, 3)
	if r := c.get("/dashboard/websites/" + site.Id + "/delete"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Type the domain") {
		t.Fatalf("confirm page: %d", r.StatusCode)
	}
	if r := c.post("/dashboard/websites/"+site.Id+"/delete", url.Values{"confirm": {"wrong"}}); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("wrong confirmation: %d", r.StatusCode)
	}
	if _, err := e.app.FindRecordById(schema.Websites, site.Id); err != nil {
		t.Fatal("deleted without confirmation")
	}
	if r := c.post("/dashboard/websites/"+site.Id+"/delete", url.Values{"confirm": {"shop.example"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", r.StatusCode, r.body)
	}
	if _, err := e.app.FindRecordById(schema.Websites, site.Id); err == nil {
		t.Fatal("website still there")
	}
	for _, table := range []string{schema.Events, schema.Sessions, schema.Visitors, schema.DashSum, schema.DashSumItems, schema.JSErrors} {
		if n := count(t, e.app, table, dbx.HashExp{"website": site.Id}); n != 0 {
			t.Errorf("%s: %d rows of the deleted site", table, n)
		}
	}
}

func TestStaticAndHeaders(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.client(t)
	for path, ctype := range map[string]string{"/dashboard/static/app.css": "text/css", "/dashboard/static/app.js": "javascript"} {
		r := c.get(path)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %s", path, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	r := c.get("/dashboard/login")
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if r := c.get("/dashboard/nope"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path: %d", r.StatusCode)
	}
}

func TestSitesReceivingEventsWithoutAnSDKShowTheEmbeddedEndpoint(t *testing.T) {
	t.Parallel()
	e := start(t)
	c := e.client(t)
	c.mustLogin(e.srv.Email, e.srv.Password)
	quiet := addSite(t, e.app, "Quiet", "quiet.example", "")
	busy := addSite(t, e.app, "Busy", "busy.example", "")
	e.traffic(t, busy, 3)
	page := c.get("/dashboard/websites").body
	if !strings.Contains(page, dashboard.Embedded) || !strings.Contains(page, "Not connected") {
		t.Fatalf("websites page should show %q for the busy site and Not connected for the quiet one:\n%s", dashboard.Embedded, page)
	}
	if page := c.get("/dashboard/").body; !strings.Contains(page, dashboard.Embedded) || !strings.Contains(page, "Not connected") {
		t.Errorf("the overview should show %q and Not connected too", dashboard.Embedded)
	}
	for site, want := range map[string]string{quiet.Id: "Not connected", busy.Id: dashboard.Embedded} {
		if body := c.get("/dashboard/websites/" + site).body; !strings.Contains(body, want) {
			t.Errorf("settings of %s do not say %q", site, want)
		}
	}
}

// TestUnverifiedUsersCannotAddWebsitesWhenAnyoneMaySignUp: with
// RequireVerified (the plugin sets it when sign-up is on) an account whose
// email is not verified cannot claim a domain; once verified it can.
func TestUnverifiedUsersCannotAddWebsitesWhenAnyoneMaySignUp(t *testing.T) {
	t.Parallel()
	e := start(t)
	h := dashboard.Handler(e.app, dashboard.Options{RequireVerified: true})
	e.handler.Store(&h)
	u := addUser(t, e.app, "new@example.com", "a-long-password-1")
	c := e.client(t)
	c.mustLogin("new@example.com", "a-long-password-1")
	form := url.Values{"name": {"Mine"}, "domain": {"mine.example"}}
	if r := c.post("/dashboard/websites", form); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Verify your email") {
		t.Fatalf("unverified: status %d, want 422 saying so", r.StatusCode)
	}
	if n := count(t, e.app, schema.Websites, nil); n != 0 {
		t.Fatalf("%d websites after a refused add", n)
	}
	u.SetVerified(true)
	if err := e.app.Save(u); err != nil {
		t.Fatal(err)
	}
	if r := c.post("/dashboard/websites", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("verified: status %d, want 303", r.StatusCode)
	}
}

// TestWebsiteFormRefusesPublicSuffixes: the add and edit forms refuse a
// public suffix (nobody owns one) with the domain field's message, and a
// local address unless a superuser adds it.
func TestWebsiteFormRefusesPublicSuffixes(t *testing.T) {
	t.Parallel()
	e := start(t)
	addUser(t, e.app, "owner@example.com", "a-long-password-1")
	user, super := e.client(t), e.client(t)
	user.mustLogin("owner@example.com", "a-long-password-1")
	super.mustLogin(pbtest.Email, pbtest.Password)
	for _, tc := range []struct {
		c       *client
		domain  string
		refusal string // "" = added
	}{
		{user, "com", "public suffix"},
		{user, "example", "public suffix"},
		{super, "co.uk", "public suffix"},
		{user, "github.io", "public suffix"},
		{user, "127.0.0.1", "local address"},
		{user, "localhost", "local address"},
		{user, "me.github.io", ""},
		{user, "shop.example.co.uk", ""},
		{super, "localhost", ""},
	} {
		r := tc.c.post("/dashboard/websites", url.Values{"name": {"Site"}, "domain": {tc.domain}})
		if tc.refusal == "" && r.StatusCode != http.StatusSeeOther ||
			tc.refusal != "" && (r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.refusal)) {
			t.Errorf("add %s: status %d; want refusal %q", tc.domain, r.StatusCode, tc.refusal)
		}
	}
	site := addSite(t, e.app, "Mine", "mine.example", "")
	r := super.post("/dashboard/websites/"+site.Id, url.Values{"name": {"Mine"}, "domain": {"example"}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "public suffix") {
		t.Errorf("edit to example: status %d, want 422 naming the public suffix", r.StatusCode)
	}
}

// TestWebsitePageShowsWhyEventsWereNotStored: the website page lists the
// last hour's filtered events by reason, most first, so a user can see
// why their curl or headless-browser tests are missing.
func TestWebsitePageShowsWhyEventsWereNotStored(t *testing.T) {
	t.Parallel()
	e := start(t)
	site := addSite(t, e.app, "Shop", "shop.example", "")
	tid := site.GetString("trackingId")
	h := dashboard.Handler(e.app, dashboard.Options{RecentDrops: func(trackingID string) map[string]int64 {
		if trackingID != tid {
			return nil
		}
		return map[string]int64{"domain": 3, "bot": 12, "blacklist": 0}
	}})
	e.handler.Store(&h)
	c := e.client(t)
	c.mustLogin(pbtest.Email, pbtest.Password)
	r := c.get("/dashboard/websites/" + site.Id)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.StatusCode)
	}
	want := "Not stored in the last hour: <b>bot</b> 12 <b>domain</b> 3."
	if !strings.Contains(r.body, want) || strings.Contains(r.body, "<b>blacklist</b>") {
		t.Errorf("the page does not say %q", want)
	}
}
