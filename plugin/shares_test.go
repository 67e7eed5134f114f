package plugin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// getWith sends a GET with extra headers and returns status and body.
func getWith(t *testing.T, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return send(t, req)
}

// TestSharedLinks: links are created, listed and revoked over HTTP by
// whoever may see the website; share=<token> reads the aggregate stats
// routes without other auth and answers exactly what the owner reads;
// passwords go in a header; revoked, expired and unknown tokens are 404;
// raw-data routes (export, live) do not take links; only the token's
// hash is stored; failures and reads are rate-limited per address.
func TestSharedLinks(t *testing.T) {
	t.Parallel()
	const failLimit = 6
	srv := startEmbeddedWith(t, plugin.Config{AuthRateLimit: failLimit})
	app := srv.App()
	site := srv.AddWebsite(t, "shared.example")
	other := srv.AddWebsite(t, "other.example")
	userA, idA := tokenUser(t, app, "a@share.example")
	userB, idB := tokenUser(t, app, "b@share.example")
	for s, owner := range map[*core.Record]string{site: idA, other: idB} {
		s.Set("user", owner)
		if err := app.Save(s); err != nil {
			t.Fatal(err)
		}
	}
	tid := func(r *core.Record) string { return r.GetString("trackingId") }
	shares := srv.URL + plugin.SharesPath

	// some traffic, so that equal answers mean something
	for i, path := range []string{"/", "/pricing", "/", "/docs"} {
		post(t, srv, fmt.Sprintf(`{"type":"pageView","url":"https://shared.example%s","referrer":"https://news.example/"}`, path),
			map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", 10+i%2)})
	}
	post(t, srv, `{"type":"custom","name":"signup","url":"https://shared.example/pricing","customData":{"plan":"pro"}}`,
		map[string]string{"X-Forwarded-For": "203.0.113.10"})
	testwait.Until(t, "events stored", func() bool {
		return countEvents(t, app, dbx.HashExp{"website": site.Id}) == 5
	})

	create := func(auth, body string) (id, token string) {
		t.Helper()
		code, out := call(t, http.MethodPost, shares, auth, body)
		var s struct{ ID, Token, URL string }
		if err := json.Unmarshal([]byte(out), &s); code != http.StatusCreated || err != nil {
			t.Fatalf("create %s: %d %s", body, code, out)
		}
		if len(s.Token) != 43 || s.URL != srv.URL+plugin.SharePath+"/"+s.Token {
			t.Fatalf("token %q url %q: want 32 bytes base64url and %s/share/<token>", s.Token, s.URL, srv.URL)
		}
		return s.ID, s.Token
	}
	for _, tc := range []struct {
		name, auth, body string
		want             int
	}{
		{"no auth", "", fmt.Sprintf(`{"site":%q}`, tid(site)), http.StatusUnauthorized},
		{"someone else's site", userB, fmt.Sprintf(`{"site":%q}`, tid(site)), http.StatusNotFound},
		{"unknown site", userA, `{"site":"nosuchsite"}`, http.StatusNotFound},
		{"past expiry", userA, fmt.Sprintf(`{"site":%q,"expires":"2020-01-01T00:00:00Z"}`, tid(site)), http.StatusBadRequest},
		{"bad expiry", userA, fmt.Sprintf(`{"site":%q,"expires":"soon"}`, tid(site)), http.StatusBadRequest},
		{"password over 72 bytes", userA, fmt.Sprintf(`{"site":%q,"password":%q}`, tid(site), strings.Repeat("p", schema.MaxSharePassword+1)), http.StatusBadRequest},
		{"name over the limit", userA, fmt.Sprintf(`{"site":%q,"name":%q}`, tid(site), strings.Repeat("n", schema.MaxShareName+1)), http.StatusBadRequest},
		{"not JSON", userA, `site=x`, http.StatusBadRequest},
	} {
		if code, out := call(t, http.MethodPost, shares, tc.auth, tc.body); code != tc.want {
			t.Errorf("create, %s: %d %s, want %d", tc.name, code, out, tc.want)
		}
	}
	if n := countRecords(t, app, schema.Shares); n != 0 {
		t.Fatalf("%d links stored by refused requests", n)
	}
	openID, open := create(userA, fmt.Sprintf(`{"site":%q,"name":%q}`, tid(site), strings.Repeat("n", schema.MaxShareName)))
	_, locked := create(userA, fmt.Sprintf(`{"site":%q,"password":%q,"expires":%q}`, tid(site),
		strings.Repeat("p", schema.MaxSharePassword), time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339)))
	expiredID, expired := create(userA, fmt.Sprintf(`{"site":%q}`, tid(site)))
	rec, err := app.FindRecordById(schema.Shares, expiredID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Set("expires", time.Now().Add(-time.Second))
	if err := app.Save(rec); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{openID, expiredID} {
		rec, _ := app.FindRecordById(schema.Shares, r)
		for field, v := range rec.FieldsData() {
			if strings.Contains(fmt.Sprint(v), open) || strings.Contains(fmt.Sprint(v), expired) {
				t.Errorf("field %s holds a token", field)
			}
		}
	}

	// the owner's figures, read through each link
	q := "?period=7d&top=5&filter=page:!/docs&site="
	statsURL := srv.URL + plugin.StatsPath + q
	_, owner := call(t, http.MethodGet, statsURL+tid(site), userA, "")
	_, ownerProps := call(t, http.MethodGet, srv.URL+plugin.PropertiesPath+"?period=7d&event=signup&site="+tid(site), userA, "")
	if !strings.Contains(owner, `"pageViews"`) || !strings.Contains(ownerProps, "pro") {
		t.Fatalf("owner's stats: %s %s", owner, ownerProps)
	}
	pw := map[string]string{plugin.SharePasswordHeader: strings.Repeat("p", schema.MaxSharePassword)}
	for _, tc := range []struct {
		name, url string
		hdr       map[string]string
		want      int
		body      string
	}{
		{"open link", srv.URL + plugin.StatsPath + q + "&share=" + open, nil, http.StatusOK, owner},
		{"open link, site named", statsURL + tid(site) + "&share=" + open, nil, http.StatusOK, owner},
		{"token in the header", srv.URL + plugin.StatsPath + q, map[string]string{plugin.ShareHeader: open}, http.StatusOK, owner},
		{"properties", srv.URL + plugin.PropertiesPath + "?period=7d&event=signup&share=" + open, nil, http.StatusOK, ownerProps},
		{"password link with it", srv.URL + plugin.StatsPath + q + "&share=" + locked, pw, http.StatusOK, owner},
		{"password link without it", srv.URL + plugin.StatsPath + q + "&share=" + locked, nil, http.StatusUnauthorized, ""},
		{"another site named", statsURL + tid(other) + "&share=" + open, nil, http.StatusNotFound, ""},
		{"expired link", srv.URL + plugin.StatsPath + q + "&share=" + expired, nil, http.StatusNotFound, ""},
		{"export takes no link", srv.URL + plugin.ExportPath + "?period=7d&share=" + open, nil, http.StatusUnauthorized, ""},
		{"live takes no link", srv.URL + plugin.LivePath + "?share=" + open, nil, http.StatusUnauthorized, ""},
		{"funnel: unknown", srv.URL + plugin.FunnelPath + "?period=7d&funnel=nosuch&share=" + open, nil, http.StatusNotFound, ""},
	} {
		code, out := getWith(t, tc.url, tc.hdr)
		if code != tc.want || (tc.body != "" && out != tc.body) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, out, tc.want, tc.body)
		}
	}

	// lastUsed is set by use
	rec, _ = app.FindRecordById(schema.Shares, openID)
	if used := rec.GetDateTime("lastUsed"); used.IsZero() || time.Since(used.Time()) > time.Minute {
		t.Errorf("lastUsed %v after use", used)
	}

	// listing: links of the sites the caller sees, no token, no hash
	code, out := call(t, http.MethodGet, shares+"?site="+tid(site), userA, "")
	var list []struct {
		ID          string
		HasPassword bool
		Expired     bool
		LastUsed    string
	}
	if err := json.Unmarshal([]byte(out), &list); code != http.StatusOK || err != nil || len(list) != 3 {
		t.Fatalf("list: %d %s", code, out)
	}
	if strings.Contains(out, open) || strings.Contains(out, rec.GetString("hash")) || strings.Contains(out, "$2a$") {
		t.Errorf("list shows a token or a hash: %s", out)
	}
	seen := map[string]bool{}
	for _, l := range list {
		seen[fmt.Sprint(l.ID == openID, l.HasPassword, l.Expired, l.ID == openID && l.LastUsed != "")] = true
	}
	if !seen["true false false true"] || !seen["false true false false"] || !seen["false false true false"] {
		t.Errorf("list: %s", out)
	}
	for _, tc := range []struct{ name, auth, url, want string }{
		{"B sees none of A's", userB, shares, "[]"},
		{"B names A's site", userB, shares + "?site=" + tid(site), "404"},
	} {
		code, out := call(t, http.MethodGet, tc.url, tc.auth, "")
		if got := strings.TrimSpace(out); (tc.want == "404" && code != http.StatusNotFound) || (tc.want != "404" && got != tc.want) {
			t.Errorf("%s: %d %s", tc.name, code, out)
		}
	}

	// the link's pages are not in PocketBase's request log (the token is
	// in their path): a request it does log, sent after, shows it flushed
	const pageUA = "SharePageProbe/1.0"
	if code, _ := getWith(t, srv.URL+plugin.SharePath+"/"+open+"?period=7d", map[string]string{"User-Agent": pageUA}); code != http.StatusOK {
		t.Fatalf("shared page: %d", code)
	}
	getWith(t, srv.URL+"/api/collections/websites/records", map[string]string{"User-Agent": "ShareLogProbe/1.0"})
	logs := func(like string) int {
		var n int
		_ = app.AuxDB().Select("count(*)").From("_logs").Where(dbx.Like("data", like)).Row(&n)
		return n
	}
	testwait.Until(t, "the probe request logged", func() bool { return logs("ShareLogProbe/1.0") > 0 })
	// (the API calls above with ?share= are logged, as the README says)
	if n := logs(pageUA); n != 0 {
		t.Errorf("_logs holds the shared page's request (%d rows)", n)
	}

	// revoking by token or id: someone else's is 404, then the link is 404
	for _, tc := range []struct {
		name, auth, ref string
		want            int
	}{
		{"no auth", "", open, http.StatusUnauthorized},
		{"another user", userB, open, http.StatusNotFound},
		{"owner, by token", userA, open, http.StatusNoContent},
		{"again", userA, open, http.StatusNotFound},
		{"owner, by id", userA, expiredID, http.StatusNoContent},
	} {
		if code, out := call(t, http.MethodDelete, shares+"/"+tc.ref, tc.auth, ""); code != tc.want {
			t.Errorf("revoke, %s: %d %s, want %d", tc.name, code, out, tc.want)
		}
	}
	if code, out := getWith(t, srv.URL+plugin.StatsPath+q+"&share="+open, nil); code != http.StatusNotFound {
		t.Errorf("revoked link: %d %s, want 404", code, out)
	}

	// failures from one address (unknown tokens, wrong passwords) are
	// limited; then even the right password from there waits
	from := map[string]string{"X-Forwarded-For": "198.51.100.99"}
	wrongPassword := map[string]string{plugin.SharePasswordHeader: "wrong", "X-Forwarded-For": from["X-Forwarded-For"]}
	if code, _ := getWith(t, srv.URL+plugin.StatsPath+"?period=7d&share="+locked, wrongPassword); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", code)
	}
	// then unknown tokens (no bcrypt: cheaper under -race) up to the limit
	for i := 1; ; i++ {
		code, _ := getWith(t, srv.URL+plugin.StatsPath+"?period=7d&share=unknown", from)
		if code == http.StatusTooManyRequests {
			break
		}
		if code != http.StatusNotFound || i >= failLimit {
			t.Fatalf("failed attempt %d: %d, want 404 then 429 within %d", i, code, failLimit)
		}
	}
	pw["X-Forwarded-For"] = from["X-Forwarded-For"]
	if code, _ := getWith(t, srv.URL+plugin.StatsPath+"?period=7d&share="+locked, pw); code != http.StatusTooManyRequests {
		t.Errorf("right password from a limited address: %d, want 429", code)
	}
	delete(pw, "X-Forwarded-For")
	if code, _ := getWith(t, srv.URL+plugin.StatsPath+"?period=7d&share="+locked, pw); code != http.StatusOK {
		t.Errorf("another address: %d, want 200", code)
	}
}

func countRecords(t *testing.T, app core.App, collection string) int {
	t.Helper()
	n, err := app.CountRecords(collection)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// TestSharedLinkPasswordLimitedPerLink is issue 34's repro: wrong
// passwords for one link from rotating addresses (behind the trusted
// loopback proxy) meet the link's own limit (the 10 is the
// default; 3 here: each wrong guess is a bcrypt check, seconds under
// -race): the limit+1th gets 429.
func TestSharedLinkPasswordLimitedPerLink(t *testing.T) {
	t.Parallel()
	const limit = 3
	srv := startEmbeddedWith(t, plugin.Config{AuthRateLimit: limit})
	token, owner := tokenUser(t, srv.App(), "owner@perlink.example")
	site := srv.AddWebsite(t, "perlink.example")
	site.Set("user", owner)
	if err := srv.App().Save(site); err != nil {
		t.Fatal(err)
	}
	code, out := call(t, http.MethodPost, srv.URL+plugin.SharesPath, token, fmt.Sprintf(`{"site":%q,"password":"the right one"}`, site.GetString("trackingId")))
	var s struct{ Token string }
	if err := json.Unmarshal([]byte(out), &s); code != http.StatusCreated || err != nil {
		t.Fatalf("create: %d %s", code, out)
	}
	for i := 1; i <= limit+1; i++ {
		hdr := map[string]string{plugin.SharePasswordHeader: "wrong", "X-Forwarded-For": fmt.Sprintf("203.0.113.%d", i)}
		code, _ := getWith(t, srv.URL+plugin.StatsPath+"?period=7d&share="+s.Token, hdr)
		want := http.StatusUnauthorized
		if i > limit {
			want = http.StatusTooManyRequests
		}
		if code != want {
			t.Fatalf("wrong guess %d from a fresh address: %d, want %d", i, code, want)
		}
	}
}
