package plugin_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/summarytest"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// The embedded server serves the dashboard under /dashboard with its own
// security headers and without PocketBase's CORS (which would answer any
// origin) or activity log.
func TestServeMountsDashboard(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL + plugin.DashboardPath + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/dashboard/login") {
		t.Fatalf("GET /dashboard/: %d %s, want redirect to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}

	req, _ := http.NewRequest(http.MethodGet, srv.URL+plugin.DashboardPath+"/login", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `name="password"`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "script-src 'self'") {
		t.Errorf("CSP = %q", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("Access-Control-Allow-Origin = %q: PocketBase's CORS must not apply", got)
	}
	for _, p := range []string{"/dashboard/static/app.css", "/dashboard/static/app.js"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// TestDashboardErasesThroughThePipeline: the served dashboard's delete
// page erases a session stored through the pipeline (Options.Erase is
// wired), logs who did it, and the summaries still equal the raw rows.
func TestDashboardErasesThroughThePipeline(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	site := srv.AddWebsite(t, "wired.example")
	for i, path := range []string{"/", "/pricing", "/docs"} {
		post(t, srv, `{"type":"pageView","url":"https://wired.example`+path+`"}`,
			map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i+1)})
	}
	testwait.Until(t, "events stored", func() bool { return countEvents(t, app, dbx.HashExp{"website": site.Id}) == 3 })
	var sid string
	if err := app.DB().NewQuery("SELECT id FROM sessions WHERE website = {:w} LIMIT 1").Bind(dbx.Params{"w": site.Id}).Row(&sid); err != nil {
		t.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	page := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == http.MethodPost {
			resp, err = hc.PostForm(srv.URL+path, form)
		} else {
			resp, err = hc.Get(srv.URL + path)
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	token := func(body string) string {
		if m := csrf.FindStringSubmatch(body); m != nil {
			return m[1]
		}
		t.Fatalf("no form token in\n%s", body)
		return ""
	}
	_, body := page("GET", "/dashboard/login", nil)
	page("POST", "/dashboard/login", url.Values{"email": {pbtest.Email}, "password": {pbtest.Password}, "csrf": {token(body)}})
	del := "/dashboard/sites/" + site.Id + "/sessions/" + sid + "/delete"
	if _, body = page("GET", "/dashboard/sites/"+site.Id+"/sessions/"+sid, nil); !strings.Contains(body, `href="`+del+`"`) {
		t.Fatalf("the session page does not link %s\n%s", del, body)
	}
	_, body = page("GET", del, nil)
	resp, _ := page("POST", del, url.Values{"csrf": {token(body)}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "erased=session") {
		t.Fatalf("erasure: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := countEvents(t, app, dbx.HashExp{"session": sid}); n != 0 {
		t.Errorf("%d events of the erased session left", n)
	}
	var actor string
	if err := app.DB().Select("actor").From(schema.Erasures).Where(dbx.HashExp{"website": site.Id}).Row(&actor); err != nil ||
		!strings.HasPrefix(actor, core.CollectionNameSuperusers+"/") {
		t.Errorf("erasure log actor %q (%v)", actor, err)
	}
	summarytest.Check(t, app.DB(), "after the dashboard's erasure")
}
