package plugin_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// call sends method url with auth in Authorization (none when empty) and
// body as JSON, and returns the status and the answer's body.
func call(t *testing.T, method, url, auth, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return send(t, req)
}

// send sends req and returns the status and the answer's body.
func send(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// tokenUser creates a users record and returns an auth token of it and
// its id. No password: bcrypt under the race detector costs seconds, and
// the token is what PocketBase's login would answer.
func tokenUser(t *testing.T, app core.App, email string) (token, id string) {
	t.Helper()
	col, err := app.FindCollectionByNameOrId(schema.Users)
	if err != nil {
		t.Fatal(err)
	}
	u := core.NewRecord(col)
	u.SetEmail(email)
	u.SetRaw("password", &core.PasswordFieldValue{Hash: "unusable"})
	if err := app.Save(u); err != nil {
		t.Fatal(err)
	}
	token, err = u.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	return token, u.Id
}

// TestAPIKeys: keys are created, listed and revoked over HTTP; a key
// reads every stats route as its owner within its sites; unknown,
// expired and revoked keys are 401; only the hash is stored; lastUsed is
// written once a minute at most; a key authenticates no other route;
// failed keys are rate-limited per client address.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	const rateLimit = 8
	srv := startEmbeddedWith(t, plugin.Config{AuthRateLimit: rateLimit})
	app := srv.App()
	siteA := srv.AddWebsite(t, "a.keys.example")
	siteB := srv.AddWebsite(t, "b.keys.example")
	siteC := srv.AddWebsite(t, "c.keys.example") // someone else's
	userA, idA := tokenUser(t, app, "a@keys.example")
	userB, idB := tokenUser(t, app, "b@keys.example")
	for site, owner := range map[*core.Record]string{siteA: idA, siteB: idA, siteC: idB} {
		site.Set("user", owner)
		if err := app.Save(site); err != nil {
			t.Fatal(err)
		}
	}
	su, err := app.FindAuthRecordByEmail(core.CollectionNameSuperusers, srv.Email)
	if err != nil {
		t.Fatal(err)
	}
	super, err := su.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	tid := func(r *core.Record) string { return r.GetString("trackingId") }
	keys := srv.URL + plugin.KeysPath

	create := func(auth, body string) (id, key string) {
		t.Helper()
		code, out := call(t, http.MethodPost, keys, auth, body)
		var k struct{ ID, Key string }
		if err := json.Unmarshal([]byte(out), &k); code != http.StatusCreated || err != nil {
			t.Fatalf("create %s: %d %s", body, code, out)
		}
		if !strings.HasPrefix(k.Key, plugin.KeyPrefix) || len(k.Key) != len(plugin.KeyPrefix)+43 {
			t.Fatalf("key %q: want %s + 32 bytes base64url", k.Key, plugin.KeyPrefix)
		}
		return k.ID, "Bearer " + k.Key
	}

	// refused creations
	for _, tc := range []struct {
		name, auth, body string
		want             int
	}{
		{"no auth", "", `{"name":"x"}`, http.StatusUnauthorized},
		{"no name", userA, `{"name":" "}`, http.StatusBadRequest},
		{"someone else's site", userA, fmt.Sprintf(`{"name":"x","sites":[%q]}`, tid(siteC)), http.StatusBadRequest},
		{"unknown site", userA, `{"name":"x","sites":["nosuchsite"]}`, http.StatusBadRequest},
		{"empty sites", userA, `{"name":"x","sites":[]}`, http.StatusBadRequest},
		{"bad expiry", userA, `{"name":"x","expires":"tomorrow"}`, http.StatusBadRequest},
		{"past expiry", userA, `{"name":"x","expires":"2020-01-01T00:00:00Z"}`, http.StatusBadRequest},
		{"not JSON", userA, `name=x`, http.StatusBadRequest},
	} {
		if code, out := call(t, http.MethodPost, keys, tc.auth, tc.body); code != tc.want {
			t.Errorf("create, %s: %d %s, want %d", tc.name, code, out, tc.want)
		}
	}

	allID, allKey := create(userA, `{"name":"all of A"}`)
	scopedID, scopedKey := create(userA, fmt.Sprintf(`{"name":"only A","sites":[%q],"expires":%q}`,
		tid(siteA), time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)))
	var exp *core.Record
	expiredID, expiredKey := create(userA, `{"name":"soon expired"}`)
	_, superKey := create(super, `{"name":"ops"}`)
	// expire one key in the past (the API refuses past expiries)
	exp, err = app.FindRecordById(schema.APIKeys, expiredID)
	if err != nil {
		t.Fatal(err)
	}
	exp.Set("expires", time.Now().Add(-time.Minute))
	if err := app.Save(exp); err != nil {
		t.Fatal(err)
	}

	// only the hash is stored
	rec, err := app.FindRecordById(schema.APIKeys, allID)
	if err != nil {
		t.Fatal(err)
	}
	plain := strings.TrimPrefix(allKey, "Bearer ")
	sum := sha256.Sum256([]byte(plain))
	if rec.GetString("hash") != hex.EncodeToString(sum[:]) {
		t.Errorf("stored hash %q is not the key's SHA-256", rec.GetString("hash"))
	}
	for field, v := range rec.FieldsData() {
		if strings.Contains(fmt.Sprint(v), strings.TrimPrefix(plain, plugin.KeyPrefix)) {
			t.Errorf("field %s holds the key", field)
		}
	}

	// listing: the caller's own keys, never a key or hash
	code, out := call(t, http.MethodGet, keys, userA, "")
	var list []struct {
		ID, Name string
		Sites    []string
		Expires  string
	}
	if err := json.Unmarshal([]byte(out), &list); code != http.StatusOK || err != nil || len(list) != 3 {
		t.Fatalf("list: %d %s", code, out)
	}
	if list[1].ID != scopedID || len(list[1].Sites) != 1 || list[1].Sites[0] != tid(siteA) || list[1].Expires == "" || list[0].Sites != nil {
		t.Errorf("list: %s", out)
	}
	if strings.Contains(out, "hash") || strings.Contains(out, plugin.KeyPrefix) {
		t.Errorf("list shows a key or hash: %s", out)
	}
	if code, out := call(t, http.MethodGet, keys, userB, ""); code != http.StatusOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("B's list: %d %s", code, out)
	}

	// reading with keys
	stats := func(site *core.Record) string { return srv.URL + plugin.StatsPath + "?period=7d&site=" + tid(site) }
	for _, tc := range []struct {
		name, auth, url string
		want            int
	}{
		{"user token still works", userA, stats(siteA), http.StatusOK},
		{"key, own site", allKey, stats(siteA), http.StatusOK},
		{"key, other own site", allKey, stats(siteB), http.StatusOK},
		{"key without Bearer", plain, stats(siteB), http.StatusOK},
		{"key, someone else's site", allKey, stats(siteC), http.StatusNotFound},
		{"scoped key, its site", scopedKey, stats(siteA), http.StatusOK},
		{"scoped key, outside its scope", scopedKey, stats(siteB), http.StatusNotFound},
		{"key, properties", scopedKey, srv.URL + plugin.PropertiesPath + "?period=7d&event=x&site=" + tid(siteA), http.StatusOK},
		{"key, unknown funnel", scopedKey, srv.URL + plugin.FunnelPath + "?period=7d&funnel=nosuchfunnel&site=" + tid(siteA), http.StatusNotFound},
		{"superuser key, any site", superKey, stats(siteC), http.StatusOK},
		{"expired key", expiredKey, stats(siteA), http.StatusUnauthorized},
		{"unknown key", "Bearer sk_unknown", stats(siteA), http.StatusUnauthorized},
		{"unknown key, funnel", "Bearer sk_unknown", srv.URL + plugin.FunnelPath + "?period=7d&funnel=x&site=" + tid(siteA), http.StatusUnauthorized},
		{"no auth", "", stats(siteA), http.StatusUnauthorized},
		// a key is not a PocketBase token
		{"key manages no keys", allKey, keys, http.StatusUnauthorized},
		{"key reads no collection", superKey, srv.URL + "/api/collections/" + schema.APIKeys + "/records", http.StatusForbidden},
		{"key is no superuser", superKey, srv.URL + "/api/settings", http.StatusUnauthorized},
	} {
		if code, out := call(t, http.MethodGet, tc.url, tc.auth, ""); code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, out, tc.want)
		}
	}

	// lastUsed: set by the first use, not rewritten within the minute
	rec, _ = app.FindRecordById(schema.APIKeys, allID)
	used := rec.GetDateTime("lastUsed")
	if used.IsZero() || time.Since(used.Time()) > time.Minute {
		t.Errorf("lastUsed %v after use", used)
	}
	if code, _ := call(t, http.MethodGet, stats(siteA), allKey, ""); code != http.StatusOK {
		t.Fatal(code)
	}
	if rec, _ = app.FindRecordById(schema.APIKeys, allID); rec.GetDateTime("lastUsed") != used {
		t.Errorf("lastUsed rewritten within a minute: %v → %v", used, rec.GetDateTime("lastUsed"))
	}

	// revoking: someone else's key is 404, the owner's 204, then 401
	for _, tc := range []struct {
		name, auth, id string
		want           int
	}{
		{"no auth", "", scopedID, http.StatusUnauthorized},
		{"another user", userB, scopedID, http.StatusNotFound},
		{"with a key", allKey, scopedID, http.StatusUnauthorized},
		{"owner", userA, scopedID, http.StatusNoContent},
		{"again", userA, scopedID, http.StatusNotFound},
		{"superuser, A's key", super, allID, http.StatusNoContent},
	} {
		if code, out := call(t, http.MethodDelete, keys+"/"+tc.id, tc.auth, ""); code != tc.want {
			t.Errorf("revoke, %s: %d %s, want %d", tc.name, code, out, tc.want)
		}
	}
	for _, k := range []string{scopedKey, allKey} {
		if code, _ := call(t, http.MethodGet, stats(siteA), k, ""); code != http.StatusUnauthorized {
			t.Errorf("revoked key: %d, want 401", code)
		}
	}

	// failed keys count per client address: 4 failures so far, then the
	// limit, after which even a valid key from there waits
	for i := 0; ; i++ {
		code, _ := call(t, http.MethodGet, stats(siteA), "Bearer sk_wrong", "")
		if code == http.StatusTooManyRequests {
			break
		}
		if code != http.StatusUnauthorized || i >= rateLimit {
			t.Fatalf("failed attempt %d: %d, want 401 then 429 within %d", i, code, rateLimit)
		}
	}
	if code, _ := call(t, http.MethodGet, stats(siteC), superKey, ""); code != http.StatusTooManyRequests {
		t.Errorf("valid key from a limited address: %d, want 429", code)
	}
	if code, _ := call(t, http.MethodGet, stats(siteC), super, ""); code != http.StatusOK {
		t.Errorf("token from a limited address: %d, want 200 (tokens are not API keys)", code)
	}
}

// TestInvalidKeysLimitedPerPrefix: guesses at the rest of a key whose
// first characters are known are limited from any number of forwarded
// addresses (a proxy on loopback is trusted): past AuthRateLimit failures
// in a minute that prefix is answered 429 whatever the address, while
// other keys from fresh addresses are still checked.
func TestInvalidKeysLimitedPerPrefix(t *testing.T) {
	t.Parallel()
	const rateLimit = 8
	srv := startEmbeddedWith(t, plugin.Config{AuthRateLimit: rateLimit})
	site := srv.AddWebsite(t, "prefix.keys.example")
	try := func(key, ip string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+plugin.StatsPath+"?period=7d&site="+site.GetString("trackingId"), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("X-Forwarded-For", ip)
		code, _ := send(t, req)
		return code
	}
	for i := range rateLimit {
		if code := try(fmt.Sprintf("sk_AbCdEfGh%040d", i), fmt.Sprintf("203.0.113.%d", i+1)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d from a new address: %d, want 401", i+1, code)
		}
	}
	if code := try("sk_AbCdEfGhanother", "203.0.113.100"); code != http.StatusTooManyRequests {
		t.Fatalf("guess %d at the prefix from a new address: %d, want 429", rateLimit+1, code)
	}
	if code := try("sk_ZyXwVuTsanother", "203.0.113.101"); code != http.StatusUnauthorized {
		t.Fatalf("another prefix from a new address: %d, want 401", code)
	}
}
