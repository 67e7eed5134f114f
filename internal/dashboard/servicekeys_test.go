package dashboard_test

// The Service keys page over HTTP: keys are added, replaced,
// (de)activated and removed through its forms (CSRF-checked,
// Post/Redirect/Get), only by their owner; a key is never in any
// response after it is sent, refused forms included, nor in the
// database in clear; without a vault the page says how to turn it on
// and stores nothing.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/servicekeys"
	"github.com/skopos-go/skopos/internal/vault"
	"github.com/skopos-go/skopos/schema"
)

const testVaultKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func testVault(t *testing.T) *vault.Vault {
	t.Helper()
	k, err := vault.ParseKey(testVaultKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestServiceKeysPage(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@vault.example", "ada-password-123")
	addUser(t, e.app, "bob@vault.example", "bob-password-123")
	e.use(dashboard.Options{Vault: testVault(t)})
	c := e.client(t)
	c.mustLogin("ada@vault.example", "ada-password-123")
	const page = "/dashboard/service-keys"

	// every body any client got; no key sent may ever be in one
	var bodies []string
	get := func(c *client, path string) resp {
		t.Helper()
		r := c.get(path)
		bodies = append(bodies, r.body)
		return r
	}
	post := func(c *client, path string, form url.Values) resp {
		t.Helper()
		r := c.post(path, form)
		bodies = append(bodies, r.body)
		return r
	}
	const (
		first    = "AIzaFirstKey-0123456789-wxyz"
		second   = "AIzaSecondKey-9876543210-mnop"
		refused  = "AIzaRefused key-with-space"
		refused2 = "AIzaUnknownService-4242-qrst"
	)
	sent := []string{first, second, refused, refused2, "AIzaRefused", "key-with-space"}
	keyID := func() string {
		t.Helper()
		keys, err := servicekeys.List(e.app, ada)
		if err != nil || len(keys) != 1 {
			t.Fatalf("ada's keys: %v %v", keys, err)
		}
		return keys[0].ID
	}
	row := func() string { return between(get(c, page).body, `<tr id="key-`, "</tr>") }

	r := get(c, page)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<a href="/dashboard/service-keys" aria-current="page">Service keys</a>`) ||
		!strings.Contains(r.body, "Google PageSpeed Insights key") || !strings.Contains(r.body, "They are not <a href=\"/dashboard/keys\">API keys</a>") ||
		!strings.Contains(r.body, "None yet.") || !strings.Contains(r.body, `<option value="google_pagespeed" selected>`) {
		t.Fatalf("page: %d\n%s", r.StatusCode, r.body)
	}
	if !strings.Contains(r.body, `<input type="password" id="key" name="key" maxlength="4096" autocomplete="off"`) {
		t.Error("the key field is not a password field without autocomplete")
	}

	if r := post(c, page, url.Values{"service": {"google_pagespeed"}, "key": {first}, "csrf": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("add with a wrong CSRF token: %d", r.StatusCode)
	}
	r = post(c, page, url.Values{"service": {"google_pagespeed"}, "label": {"<b>PageSpeed</b>"}, "key": {refused}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="form-error">The key contains spaces or line breaks.`) ||
		!strings.Contains(r.body, `value="&lt;b&gt;PageSpeed&lt;/b&gt;"`) {
		t.Errorf("refused key: %d\n%s", r.StatusCode, r.body)
	}
	r = post(c, page, url.Values{"service": {"chapybara"}, "key": {refused2}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Unknown service &#34;chapybara&#34;.") {
		t.Errorf("unknown service: %d", r.StatusCode)
	}
	if n := count(t, e.app, schema.ServiceKeys, nil); n != 0 {
		t.Fatalf("%d keys stored by refused forms", n)
	}

	r = post(c, page, url.Values{"service": {"google_pagespeed"}, "label": {"<b>PageSpeed</b>"}, "key": {" " + first + " "}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page+"?done=added" {
		t.Fatalf("add: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	id := keyID()
	tr := row()
	for _, want := range []string{"google_pagespeed", "&lt;b&gt;PageSpeed&lt;/b&gt;", "…wxyz", `<span class="badge ok">Active</span>`, `<span class="muted">never</span>`, `class="n">0<`} {
		if !strings.Contains(tr, want) {
			t.Errorf("listed key lacks %q\n%s", want, tr)
		}
	}
	if !strings.Contains(get(c, page+"?done=added").body, `id="done">Key saved.`) {
		t.Error("no notice after adding")
	}
	var stored string
	if err := e.app.DB().Select("encryptedKey").From(schema.ServiceKeys).Where(dbx.HashExp{"id": id}).Row(&stored); err != nil ||
		stored == "" || strings.Contains(stored, first) {
		t.Errorf("stored key %q (%v): empty or in clear", stored, err)
	}

	// another account sees none of it and changes nothing
	b := e.client(t)
	b.mustLogin("bob@vault.example", "bob-password-123")
	if r := get(b, page); strings.Contains(r.body, "wxyz") || !strings.Contains(r.body, "None yet.") {
		t.Error("bob sees ada's key")
	}
	for _, action := range []string{"replace", "active", "remove"} {
		if r := post(b, page+"/"+id+"/"+action, url.Values{"key": {second}, "active": {"0"}}); r.StatusCode != http.StatusNotFound {
			t.Errorf("bob %s: %d", action, r.StatusCode)
		}
	}
	if keyID() != id {
		t.Fatal("bob changed ada's keys")
	}

	// replace: refused, then done
	r = post(c, page+"/"+id+"/replace", url.Values{"key": {refused}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="replace-error">The key contains spaces or line breaks.`) ||
		!strings.Contains(r.body, `<details class="replace" open>`) {
		t.Errorf("refused replacement: %d\n%s", r.StatusCode, r.body)
	}
	if r := post(c, page+"/"+id+"/replace", url.Values{"key": {second}, "csrf": {"forged"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("replace with a wrong CSRF token: %d", r.StatusCode)
	}
	r = post(c, page+"/"+id+"/replace", url.Values{"key": {second}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page+"?done=replaced" {
		t.Fatalf("replace: %d\n%s", r.StatusCode, r.body)
	}
	if tr := row(); !strings.Contains(tr, "…mnop") || strings.Contains(tr, "wxyz") {
		t.Errorf("after replacing:\n%s", tr)
	}
	if key, ok, err := servicekeys.Use(e.app, testVault(t), ada.Id, false, servicekeys.PageSpeed, time.Now()); err != nil || !ok || key != second {
		t.Errorf("the replacement does not open as sent: ok %v, err %v", ok, err)
	}
	if tr := row(); !strings.Contains(tr, `class="n">1<`) || strings.Contains(tr, ">never<") {
		t.Errorf("a use is not counted:\n%s", tr)
	}

	// deactivate, activate, remove
	for _, step := range []struct{ active, done, badge string }{{"0", "deactivated", `<span class="badge">Inactive</span>`}, {"1", "activated", `<span class="badge ok">Active</span>`}} {
		r := post(c, page+"/"+id+"/active", url.Values{"active": {step.active}})
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != page+"?done="+step.done {
			t.Fatalf("%s: %d", step.done, r.StatusCode)
		}
		if tr := row(); !strings.Contains(tr, step.badge) {
			t.Errorf("after %s:\n%s", step.done, tr)
		}
		_, ok, _ := servicekeys.Use(e.app, testVault(t), ada.Id, false, servicekeys.PageSpeed, time.Now())
		if ok != (step.active == "1") {
			t.Errorf("after %s the key is used: %v", step.done, ok)
		}
	}
	if r := post(c, page+"/"+id+"/rename", url.Values{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown action: %d", r.StatusCode)
	}
	r = post(c, page+"/"+id+"/remove", url.Values{})
	if r.StatusCode != http.StatusSeeOther || count(t, e.app, schema.ServiceKeys, nil) != 0 {
		t.Fatalf("remove: %d", r.StatusCode)
	}
	if r := get(c, page+"?done=removed"); !strings.Contains(r.body, "None yet.") || !strings.Contains(r.body, "Key removed.") {
		t.Error("removed key still listed")
	}

	// without a vault: the page says how to set one and stores nothing
	e.use(dashboard.Options{})
	c = e.client(t)
	c.mustLogin("ada@vault.example", "ada-password-123")
	r = get(c, page)
	for _, want := range []string{`id="vault-off"`, "SKOPOS_ENCRYPTION_KEY</code> to 64 hexadecimal characters", "openssl rand -hex 32",
		"SKOPOS_ENCRYPTION_KEY_FILE", "restart the server"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("vault off: the page lacks %q", want)
		}
	}
	if strings.Contains(r.body, `id="service-key-form"`) || strings.Contains(r.body, `name="key"`) {
		t.Error("vault off: the page offers to add a key")
	}
	r = post(c, page, url.Values{"service": {"google_pagespeed"}, "key": {first}})
	if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.body, "The key vault is off: nothing was stored.") ||
		count(t, e.app, schema.ServiceKeys, nil) != 0 {
		t.Errorf("add with the vault off: %d", r.StatusCode)
	}

	for _, body := range bodies {
		for _, k := range sent {
			if strings.Contains(body, k) || strings.Contains(body, url.QueryEscape(k)) {
				t.Fatalf("a response holds the sent key %q:\n%s", k, body)
			}
		}
	}
}
