package dashboard_test

// The API keys page over HTTP: a key created there reads the stats API of
// the plugin-mounted server until it is revoked there; it is shown once;
// an account sees and revokes only its own keys; forms are CSRF-checked,
// validated like the REST API and escaped.

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/apikey"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

var (
	newKeyRE    = regexp.MustCompile(`id="key-value"[^>]* value="(` + apikey.Prefix + `[A-Za-z0-9_-]{43})"`)
	formErrorRE = regexp.MustCompile(`id="form-error">([^<]*)</p>`)
	cellRE      = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
)

// keyCells returns the cells after the name in the list's row of the key
// named name: websites, created, expires, last used, the Revoke form. Nil
// when the key is not listed.
func keyCells(body, name string) []string {
	m := regexp.MustCompile(`(?s)<tr>\s*<td class="val">` + regexp.QuoteMeta(attr(name)) + `</td>(.*?)</tr>`).FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var cells []string
	for _, c := range cellRE.FindAllStringSubmatch(m[1], -1) {
		cells = append(cells, strings.TrimSpace(c[1]))
	}
	return cells
}

const never = `<span class="muted">never</span>`

func TestAPIKeysPage(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@keys.example", "ada-password-123")
	bob := addUser(t, e.app, "bob@keys.example", "bob-password-123")
	const shopName = `"><script>alert(2)</script> Shop`
	shop := addSite(t, e.app, shopName, "shop.keys.example", ada.Id)
	blog := addSite(t, e.app, "Blog", "blog.keys.example", ada.Id)
	bobs := addSite(t, e.app, "Bob's", "bob.keys.example", bob.Id)
	tid := func(site *core.Record) string { return site.GetString("trackingId") }
	c := e.client(t)
	c.mustLogin("ada@keys.example", "ada-password-123")
	nKeys := func() int { return count(t, e.app, schema.APIKeys, nil) }

	// stats reads the stats API of the plugin-mounted server with key.
	stats := func(key string, site *core.Record) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+plugin.StatsPath+"?period=7d&site="+tid(site), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	// create submits the form and returns the key the page shows.
	create := func(form url.Values) (resp, string) {
		t.Helper()
		r := c.post("/dashboard/keys", form)
		m := newKeyRE.FindStringSubmatch(r.body)
		if r.StatusCode != http.StatusCreated || m == nil {
			t.Fatalf("create %v: %d, no key shown\n%s", form, r.StatusCode, r.body)
		}
		return r, m[1]
	}
	keyID := func(name string) string {
		t.Helper()
		rec, err := e.app.FindFirstRecordByData(schema.APIKeys, "name", name)
		if err != nil {
			t.Fatalf("key %q: %v", name, err)
		}
		return rec.Id
	}
	revoke := func(c *client, id string) resp {
		t.Helper()
		return c.post("/dashboard/keys/"+id+"/revoke", url.Values{})
	}

	t.Run("create, use, revoke", func(t *testing.T) {
		r := c.get("/dashboard/keys")
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "None yet.") ||
			!strings.Contains(r.body, `<a href="/dashboard/keys" aria-current="page">API keys</a>`) {
			t.Fatalf("keys page: %d\n%s", r.StatusCode, r.body)
		}
		r, key := create(url.Values{"name": {" grafana "}, "site": {tid(shop)}})
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" || r.Header.Get("Location") != "" {
			t.Errorf("creation answer: Cache-Control %q, Location %q; want no-store and no redirect", cc, r.Header.Get("Location"))
		}
		if !strings.Contains(r.body, "it will not be shown again") || !strings.Contains(r.body, `data-copy="key-value"`) {
			t.Errorf("the new key lacks its warning or copy button\n%s", r.body)
		}
		if code := stats(key, shop); code != http.StatusOK {
			t.Errorf("the new key on its site: %d, want 200", code)
		}
		if code := stats(key, blog); code != http.StatusNotFound {
			t.Errorf("the new key outside its scope: %d, want 404", code)
		}

		r = c.get("/dashboard/keys")
		cells := keyCells(r.body, "grafana")
		if len(cells) != 5 || strings.Contains(r.body, key) || strings.Contains(r.body, strings.TrimPrefix(key, apikey.Prefix)) {
			t.Fatalf("the list must show the key's name and never the key\n%s", r.body)
		}
		if cells[0] != attr(shopName) || cells[2] != never || !strings.HasSuffix(cells[3], " UTC") {
			t.Errorf("grafana's row: want its website by name, no expiry and a last use: %q", cells)
		}

		r = revoke(c, keyID("grafana"))
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/dashboard/keys?revoked=1" {
			t.Fatalf("revoke: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		if code := stats(key, shop); code != http.StatusUnauthorized {
			t.Errorf("the revoked key: %d, want 401", code)
		}
		r = c.get(r.Header.Get("Location"))
		if !strings.Contains(r.body, `id="revoked"`) || keyCells(r.body, "grafana") != nil {
			t.Errorf("after revoking: want the notice and no grafana\n%s", r.body)
		}
	})

	t.Run("every website, expiry, removed website", func(t *testing.T) {
		day := time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)
		_, all := create(url.Values{"name": {"all"}, "expires": {day}})
		after := time.Now().UTC().AddDate(0, 0, 3).Format(time.DateOnly)
		if rec, _ := e.app.FindRecordById(schema.APIKeys, keyID("all")); rec.GetDateTime("expires").Time().Format(time.RFC3339) != after+"T00:00:00Z" {
			t.Errorf("expires stored as %v, want %s 00:00 UTC (valid through %s)", rec.GetDateTime("expires"), after, day)
		}
		if cells := keyCells(c.get("/dashboard/keys").body, "all"); len(cells) != 5 || cells[0] != "All your websites" ||
			cells[2] != "through "+day || cells[3] != never {
			t.Errorf("the unscoped key's row: want all websites, its expiry and never used: %q", cells)
		}
		for site, want := range map[*core.Record]int{shop: http.StatusOK, blog: http.StatusOK, bobs: http.StatusNotFound} {
			if code := stats(all, site); code != want {
				t.Errorf("the unscoped key on %s: %d, want %d", site.GetString("name"), code, want)
			}
		}

		gone := addSite(t, e.app, "Gone", "gone.keys.example", ada.Id)
		create(url.Values{"name": {"gone"}, "site": {tid(gone), tid(blog)}})
		if err := e.app.Delete(gone); err != nil {
			t.Fatal(err)
		}
		if cells := keyCells(c.get("/dashboard/keys").body, "gone"); len(cells) != 5 || cells[0] != "(removed website), Blog" {
			t.Errorf("a key of a deleted website: %q", cells)
		}
	})

	t.Run("validation, as the REST API", func(t *testing.T) {
		token, err := ada.NewAuthToken()
		if err != nil {
			t.Fatal(err)
		}
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		tooLong := strings.Repeat("n", schema.MaxAPIKeyName+1)
		for _, tc := range []struct {
			name string
			form url.Values
			json string // the same input to POST /api/skopos/keys
		}{
			{"empty name", url.Values{"name": {"  "}}, `{"name":"  "}`},
			{"name too long", url.Values{"name": {tooLong}}, `{"name":"` + tooLong + `"}`},
			// through yesterday: expired at today's 00:00 UTC
			{"past expiry", url.Values{"name": {"x"}, "expires": {yesterday}}, `{"name":"x","expires":"` + time.Now().UTC().Format(time.DateOnly) + `T00:00:00Z"}`},
			{"not a date", url.Values{"name": {"x"}, "expires": {"soon"}}, `{"name":"x","expires":"soonT00:00:00Z"}`},
			{"someone else's website", url.Values{"name": {"x"}, "site": {tid(shop), tid(bobs)}},
				`{"name":"x","sites":["` + tid(shop) + `","` + tid(bobs) + `"]}`},
		} {
			before := nKeys()
			r := c.post("/dashboard/keys", tc.form)
			m := formErrorRE.FindStringSubmatch(r.body)
			if r.StatusCode != http.StatusUnprocessableEntity || m == nil || newKeyRE.MatchString(r.body) {
				t.Errorf("%s: %d, want 422 with an error and no key\n%s", tc.name, r.StatusCode, r.body)
				continue
			}
			if n := nKeys(); n != before {
				t.Errorf("%s: %d keys stored, want %d", tc.name, n, before)
			}
			if !strings.Contains(r.body, `id="name" name="name" maxlength="`+strconv.Itoa(schema.MaxAPIKeyName)+`" required value="`+attr(strings.TrimSpace(tc.form.Get("name")))+`"`) {
				t.Errorf("%s: the form lost the name", tc.name)
			}
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+plugin.KeysPath, strings.NewReader(tc.json))
			req.Header.Set("Authorization", token)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var rest struct{ Message string }
			err = json.NewDecoder(res.Body).Decode(&rest)
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest || err != nil || html.UnescapeString(m[1]) != rest.Message {
				t.Errorf("%s: the page says %q, the REST API %d %q", tc.name, html.UnescapeString(m[1]), res.StatusCode, rest.Message)
			}
		}
		// a name of exactly the limit is fine
		create(url.Values{"name": {strings.Repeat("n", schema.MaxAPIKeyName)}})
	})

	t.Run("CSRF", func(t *testing.T) {
		_, key := create(url.Values{"name": {"csrf target"}})
		id := keyID("csrf target")
		before := nKeys()
		for _, tc := range []struct {
			name string
			path string
			form url.Values
			hdr  map[string]string
		}{
			{"create without a token", "/dashboard/keys", url.Values{"name": {"forged"}}, nil},
			{"create with a wrong token", "/dashboard/keys", url.Values{"name": {"forged"}, "csrf": {"wrong"}}, nil},
			{"create from another site", "/dashboard/keys", url.Values{"name": {"forged"}, "csrf": {c.csrf}},
				map[string]string{"Origin": "https://evil.example"}},
			{"revoke without a token", "/dashboard/keys/" + id + "/revoke", url.Values{}, nil},
			{"revoke with a wrong token", "/dashboard/keys/" + id + "/revoke", url.Values{"csrf": {"wrong"}}, nil},
			{"revoke from another site", "/dashboard/keys/" + id + "/revoke", url.Values{"csrf": {c.csrf}},
				map[string]string{"Origin": "https://evil.example"}},
		} {
			// do, not post: post would add the session's token
			if r := c.do(http.MethodPost, tc.path, tc.form, tc.hdr); r.StatusCode != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", tc.name, r.StatusCode)
			}
		}
		if n := nKeys(); n != before {
			t.Errorf("%d keys after forged requests, want %d", n, before)
		}
		if code := stats(key, blog); code != http.StatusOK {
			t.Errorf("the key after forged revokes: %d, want 200", code)
		}
	})

	t.Run("only the account's own keys", func(t *testing.T) {
		bobsID, bobsKey, err := apikey.Create(e.app, bob, apikey.Input{Name: "bob's key"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, adasKey := create(url.Values{"name": {"ada's key"}})
		sc := e.client(t)
		sc.mustLogin(pbtest.Email, pbtest.Password)
		r := sc.post("/dashboard/keys", url.Values{"name": {"ops"}})
		opsID := keyID("ops")
		if rec, _ := e.app.FindRecordById(schema.APIKeys, opsID); r.StatusCode != http.StatusCreated || rec.GetString("superuser") == "" {
			t.Fatalf("the superuser's key: %d, stored %v", r.StatusCode, rec)
		}
		if body := c.get("/dashboard/keys").body; keyCells(body, "bob's key") != nil || keyCells(body, "ops") != nil {
			t.Error("ada's list shows another account's keys")
		}
		if body := sc.get("/dashboard/keys").body; keyCells(body, "ada's key") != nil || keyCells(body, "ops") == nil {
			t.Errorf("the superuser's list: want only their own key\n%s", body)
		}
		for _, tc := range []struct {
			name string
			c    *client
			id   string
			want int
		}{
			{"ada, bob's key", c, bobsID, http.StatusNotFound},
			{"ada, the superuser's key", c, opsID, http.StatusNotFound},
			{"superuser, ada's key", sc, keyID("ada's key"), http.StatusNotFound},
			{"unknown id", c, "nosuchkey12345", http.StatusNotFound},
			{"superuser, own key", sc, opsID, http.StatusSeeOther},
		} {
			if r := revoke(tc.c, tc.id); r.StatusCode != tc.want {
				t.Errorf("revoke, %s: %d, want %d", tc.name, r.StatusCode, tc.want)
			}
		}
		if code := stats(bobsKey, bobs); code != http.StatusOK {
			t.Errorf("bob's key after ada's revoke: %d, want 200", code)
		}
		if code := stats(adasKey, shop); code != http.StatusOK {
			t.Errorf("ada's key after the superuser's refused revoke: %d, want 200", code)
		}
	})

	t.Run("escaping", func(t *testing.T) {
		for _, h := range hostileStored {
			r, _ := create(url.Values{"name": {h}, "site": {tid(shop)}})
			list := c.get("/dashboard/keys")
			refused := c.post("/dashboard/keys", url.Values{"name": {h}, "expires": {"2020-01-01"}})
			for what, body := range map[string]string{"creation": r.body, "list": list.body, "refused form": refused.body} {
				for _, raw := range append([]string{shopName}, hostileStored...) {
					if strings.ContainsAny(raw, `<>"'`) && strings.Contains(body, raw) {
						t.Errorf("%s of %q: %q unescaped in the HTML", what, h, raw)
					}
				}
				if !strings.Contains(body, attr(h)) || !strings.Contains(body, attr(shopName)) {
					t.Errorf("%s of %q: the name or website is not shown (escaped): the test does not exercise it", what, h)
				}
			}
			if cells := keyCells(list.body, h); len(cells) != 5 || cells[0] != attr(shopName) {
				t.Errorf("the key %q is not listed with its website: %q", h, cells)
			}
		}
	})
}
