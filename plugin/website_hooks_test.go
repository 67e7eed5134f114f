package plugin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	validation "github.com/go-ozzo/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/schema"
)

// superuserToken logs in as the test server's superuser over REST.
func superuserToken(t *testing.T, srv *pbtest.Server) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"identity": srv.Email, "password": srv.Password})
	resp, err := http.Post(srv.URL+"/api/collections/_superusers/auth-with-password", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("superuser login: %d %v", resp.StatusCode, err)
	}
	return out.Token
}

// restWebsite sends a websites record over PocketBase's REST API (POST
// creates, PATCH with an id updates) and decodes the answer.
func restWebsite(t *testing.T, srv *pbtest.Server, token, method, id string, fields map[string]any) (int, map[string]any) {
	t.Helper()
	url := srv.URL + "/api/collections/" + schema.Websites + "/records"
	if id != "" {
		url += "/" + id
	}
	body, _ := json.Marshal(fields)
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func TestWebsiteDomainNormalizedOverREST(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	token := superuserToken(t, srv)

	code, rec := restWebsite(t, srv, token, http.MethodPost, "", map[string]any{
		"name": "Typed", "domain": "https://WWW.Example.COM/some/path"})
	if code != http.StatusOK || rec["domain"] != "example.com" {
		t.Fatalf("create: %d %v; want 200 with domain example.com", code, rec)
	}
	id, _ := rec["id"].(string)
	stored, err := srv.App().FindRecordById(schema.Websites, id)
	if err != nil || stored.GetString("domain") != "example.com" {
		t.Fatalf("stored domain %q (%v), want example.com", stored.GetString("domain"), err)
	}

	code, rec = restWebsite(t, srv, token, http.MethodPatch, id, map[string]any{"domain": "Shop.Example.ORG:8443/x"})
	if code != http.StatusOK || rec["domain"] != "shop.example.org" {
		t.Fatalf("update: %d %v; want 200 with domain shop.example.org", code, rec)
	}

	// without a name, the website is named after its domain
	code, rec = restWebsite(t, srv, token, http.MethodPost, "", map[string]any{"domain": "http://Unnamed.Example/"})
	if code != http.StatusOK || rec["name"] != "unnamed.example" {
		t.Fatalf("create without name: %d %v; want name unnamed.example", code, rec)
	}
}

func TestWebsiteUnusableDomainRefusedOverREST(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	token := superuserToken(t, srv)
	existing := srv.AddWebsite(t, "kept.example")

	tests := []struct {
		name, method, id string
	}{
		{"create", http.MethodPost, ""},
		{"update", http.MethodPatch, existing.Id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out := restWebsite(t, srv, token, tt.method, tt.id, map[string]any{"name": "Bad", "domain": "http://user@bad example"})
			data, _ := out["data"].(map[string]any)
			field, _ := data["domain"].(map[string]any)
			msg, _ := field["message"].(string)
			if code != http.StatusBadRequest || !strings.Contains(msg, "Not a usable domain") {
				t.Fatalf("%s: %d %v; want 400 naming the domain field", tt.name, code, out)
			}
		})
	}
	t.Cleanup(func() {
		kept, err := srv.App().FindRecordById(schema.Websites, existing.Id)
		if err != nil || kept.GetString("domain") != "kept.example" {
			t.Errorf("refused update changed the stored domain to %q (%v)", kept.GetString("domain"), err)
		}
	})
}

func TestWebsiteDomainNormalizedByAppSave(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	col, err := app.FindCollectionByNameOrId(schema.Websites)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, domain, want string // want "" = refused
	}{
		{"url with www, case and path", "https://WWW.Example.COM/some/path", "example.com"},
		{"port", "localhost:3000", "localhost"},
		{"international", "bücher.de", "xn--bcher-kva.de"},
		{"user info", "http://user@example.com", ""},
		{"space", "exa mple", ""},
		{"empty", "  ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := core.NewRecord(col)
			rec.Set("name", tt.name)
			rec.Set("domain", tt.domain)
			err := app.Save(rec)
			if tt.want == "" {
				var verrs validation.Errors
				if !errors.As(err, &verrs) || verrs["domain"] == nil {
					t.Fatalf("Save(%q) = %v; want a validation error of domain", tt.domain, err)
				}
				return
			}
			if err != nil || rec.GetString("domain") != tt.want {
				t.Fatalf("Save(%q): domain %q, %v; want %q", tt.domain, rec.GetString("domain"), err, tt.want)
			}
			stored, err := app.FindRecordById(schema.Websites, rec.Id)
			if err != nil || stored.GetString("domain") != tt.want {
				t.Fatalf("stored domain %q (%v), want %q", stored.GetString("domain"), err, tt.want)
			}
		})
	}

	// The hook runs for SaveNoValidate too: it is bound to the save, not
	// to validation.
	bypass := srv.AddWebsite(t, "bypass.example")
	bypass.Set("domain", "exa mple")
	if err := app.SaveNoValidate(bypass); err == nil {
		t.Error("SaveNoValidate stored an unusable domain")
	}
}

// A value stored before its hook existed (an unusable domain, an unknown
// time zone) does not block other changes of the website, but cannot be
// replaced by another unusable one.
func TestWebsiteLegacyValuesDoNotBlockOtherChanges(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	for _, tc := range []struct{ field, stored, next string }{
		{"domain", "exa mple", "still bad"},
		{"timezone", "Mars/Base", "Moon/Base"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			site := srv.AddWebsite(t, "legacy-"+tc.field+".example")
			// stored before the hook existed: written behind every hook's back
			if _, err := app.DB().NewQuery("UPDATE " + schema.Websites + " SET " + tc.field + " = {:v} WHERE id = {:id}").
				Bind(map[string]any{"id": site.Id, "v": tc.stored}).Execute(); err != nil {
				t.Fatal(err)
			}
			site, err := app.FindRecordById(schema.Websites, site.Id)
			if err != nil {
				t.Fatal(err)
			}
			site.Set("isArchived", true)
			if err := app.Save(site); err != nil {
				t.Fatalf("archiving a website with a stored unusable %s: %v", tc.field, err)
			}
			site.Set(tc.field, tc.next)
			if err := app.Save(site); err == nil {
				t.Fatalf("changing to another unusable %s was accepted", tc.field)
			}
		})
	}
}

// TestWebsiteDomainClaims: a domain belongs to one website, and an account
// cannot claim a domain under one another account's website tracks (the
// longest match would take that traffic); the same owner and superusers
// (websites without a user) may.
func TestWebsiteDomainClaims(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	newUser := func(email string) string {
		u := core.NewRecord(users)
		u.SetEmail(email)
		u.SetPassword("a-long-password-1")
		if err := app.Save(u); err != nil {
			t.Fatal(err)
		}
		return u.Id
	}
	victim, attacker := newUser("victim@example.com"), newUser("attacker@example.com")
	websites, _ := app.FindCollectionByNameOrId(schema.Websites)
	save := func(owner, domain string) error {
		rec := core.NewRecord(websites)
		rec.Set("domain", domain)
		rec.Set("user", owner)
		return app.Save(rec)
	}
	if err := save(victim, "victim.example"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, owner, domain, refusal string
	}{
		{"subdomain of another account's site", attacker, "shop.victim.example", "under victim.example"},
		{"deep subdomain", attacker, "a.b.victim.example", "under victim.example"},
		{"the same domain", attacker, "victim.example", "already tracked"},
		{"the same domain, www", attacker, "www.victim.example", "already tracked"},
		{"the same domain, same owner", victim, "victim.example", "already tracked"},
		{"own subdomain", victim, "shop.victim.example", ""},
		{"superuser's subdomain", "", "blog.victim.example", ""},
		{"unrelated domain", attacker, "attacker.example", ""},
		{"a suffix that is not a parent", attacker, "notvictim.example", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := save(tc.owner, tc.domain)
			if tc.refusal == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.refusal) {
				t.Fatalf("got %v, want a refusal saying %q", err, tc.refusal)
			}
		})
	}
	// through the REST API the refusal is a 400 on the domain field
	token := superuserToken(t, srv)
	status, body := restWebsite(t, srv, token, http.MethodPost, "", map[string]any{"domain": "attacker.example", "name": "again"})
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), "already tracked") {
		t.Errorf("REST create of a taken domain: %d %v", status, body)
	}
}

// TestWebsitePublicSuffixCannotBeClaimed: nobody owns a public suffix, so
// no website may track one (it would receive every unclaimed host's
// events under it and refuse everyone else its names), whichever way it
// is saved; localhost and IP addresses are for an administrator's
// websites only.
func TestWebsitePublicSuffixCannotBeClaimed(t *testing.T) {
	t.Parallel()
	srv := startEmbedded(t)
	app := srv.App()
	_, userID := tokenUser(t, app, "owner@example.com")
	websites, _ := app.FindCollectionByNameOrId(schema.Websites)
	token := superuserToken(t, srv)
	for _, tc := range []struct {
		domain  string
		user    bool   // saved for the user (else an administrator's website)
		refusal string // "" = accepted
	}{
		{"com", true, "public suffix"},
		{"com", false, "public suffix"},
		{"example", true, "public suffix"},
		{"co.uk", true, "public suffix"},
		{"github.io", false, "public suffix"},
		{"https://www.co.uk/", true, "public suffix"},
		{"example.com", true, ""},
		{"shop.example.co.uk", true, ""},
		{"me.github.io", true, ""},
		{"localhost:3000", false, ""},
		{"127.0.0.1", false, ""},
		{"localhost", true, "local address"},
		{"127.0.0.1", true, "local address"},
	} {
		owner := ""
		if tc.user {
			owner = userID
		}
		t.Run(fmt.Sprintf("%s user=%v", tc.domain, tc.user), func(t *testing.T) {
			rec := core.NewRecord(websites)
			rec.Set("domain", tc.domain)
			rec.Set("user", owner)
			err := app.Save(rec)
			if tc.refusal == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if err := app.Delete(rec); err != nil { // the REST save below claims it again
					t.Fatal(err)
				}
			} else {
				var verrs validation.Errors
				if !errors.As(err, &verrs) || verrs["domain"] == nil || !strings.Contains(err.Error(), tc.refusal) {
					t.Fatalf("Save = %v; want a validation error of domain saying %q", err, tc.refusal)
				}
			}
			status, body := restWebsite(t, srv, token, http.MethodPost, "", map[string]any{"domain": tc.domain, "user": owner})
			if tc.refusal == "" && status != http.StatusOK ||
				tc.refusal != "" && (status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body), tc.refusal)) {
				t.Fatalf("REST create: %d %v; want refusal %q", status, body, tc.refusal)
			}
		})
	}

	// a change of domain or of owner is checked as a new website is
	site := srv.AddWebsite(t, "moving.example")
	site.Set("domain", "co.uk")
	if err := app.Save(site); err == nil || !strings.Contains(err.Error(), "public suffix") {
		t.Errorf("changing the domain to co.uk: %v", err)
	}
	local := srv.AddWebsite(t, "127.0.0.2")
	local.Set("user", userID)
	if err := app.Save(local); err == nil || !strings.Contains(err.Error(), "local address") {
		t.Errorf("giving a user a website on 127.0.0.2: %v", err)
	}
}
