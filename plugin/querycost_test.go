package plugin_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/internal/pbtest"
	"github.com/skopos-go/skopos/internal/plugintest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/plugin"
	"github.com/skopos-go/skopos/schema"
)

// answer is what costGet read: the status, the Retry-After and the body.
type answer struct {
	code  int
	retry string
	body  string
	err   error
}

// costGet sends a GET with auth (a token, or "" for none); safe to call
// from any goroutine.
func costGet(u, auth string) answer {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return answer{err: err}
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, retry: resp.Header.Get("Retry-After"), body: string(b), err: err}
}

// costSite is a website with a little traffic, a funnel and an open
// shared link; q adds the site (or the link) to a query.
type costSite struct {
	srv            *pbtest.Server
	token          string // a superuser's
	tid, funnel    string
	link, linkPath string // the link's token, and its dashboard page
}

func newCostSite(t *testing.T, srv *pbtest.Server) *costSite {
	t.Helper()
	site := srv.AddWebsite(t, "cost.example")
	c := &costSite{srv: srv, token: superuserToken(t, srv), tid: site.GetString("trackingId")}
	for i, path := range []string{"/", "/pricing", "/docs", "/pricing"} {
		post(t, srv, fmt.Sprintf(`{"type":"pageView","url":"https://cost.example%s","referrer":"https://r%d.example/"}`, path, i),
			map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", 20+i)})
	}
	post(t, srv, `{"type":"custom","name":"signup","url":"https://cost.example/pricing","customData":{"plan":"pro"}}`,
		map[string]string{"X-Forwarded-For": "203.0.113.21"})
	testwait.Until(t, "events stored", func() bool {
		return countEvents(t, srv.App(), dbx.HashExp{"website": site.Id}) == 5
	})
	c.funnel = restCreate(t, srv, c.token, schema.Funnels, map[string]any{"website": site.Id, "name": "Buy",
		"steps": []map[string]any{{"name": "Pricing", "type": "page", "match": "/pricing"}, {"name": "Signup", "type": "event", "match": "signup"}}})
	code, out := call(t, http.MethodPost, srv.URL+plugin.SharesPath, c.token, fmt.Sprintf(`{"site":%q}`, c.tid))
	var s struct{ Token string }
	if err := json.Unmarshal([]byte(out), &s); code != http.StatusCreated || err != nil {
		t.Fatalf("create link: %d %s", code, out)
	}
	c.link, c.linkPath = s.Token, srv.URL+plugin.SharePath+"/"+s.Token
	return c
}

// routes are the report routes with their own parameters; shared: the
// route takes shared links.
var costRoutes = []struct {
	name, path, extra string
	shared            bool
}{
	{"stats", plugin.StatsPath, "", true},
	{"properties", plugin.PropertiesPath, "&event=signup", true},
	{"funnel", plugin.FunnelPath, "&funnel=", true},
	{"export summary", plugin.ExportPath, "&kind=summary", false},
}

// url is route r's URL with filters, for the owner (shared false) or
// through the link.
func (c *costSite) url(path, extra string, shared bool, filters []string) string {
	q := url.Values{"period": {"7d"}, "filter": filters}
	if shared {
		q.Set("share", c.link)
	} else {
		q.Set("site", c.tid)
	}
	if extra == "&funnel=" {
		extra += c.funnel
	}
	return c.srv.URL + path + "?" + q.Encode() + extra
}

// referrerFilters are n filters each of which is a lookup of its own
// (the referrers stored in the period): the probe's costly kind.
func referrerFilters(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("referrer:!r%d.example", i)
	}
	return out
}

// TestQueryFilterLimits: every report route takes stats.MaxFilters
// filters and refuses one more with 400, from the owner and through a
// shared link; a value of stats.MaxFilterValue bytes is taken, one byte
// more refused.
func TestQueryFilterLimits(t *testing.T) {
	t.Parallel()
	c := newCostSite(t, startEmbedded(t))
	long := "page:!/" + strings.Repeat("a", stats.MaxFilterValue-1)
	for _, r := range costRoutes {
		for _, shared := range []bool{false, true} {
			if shared && !r.shared {
				continue
			}
			auth := c.token
			if shared {
				auth = ""
			}
			for _, tc := range []struct {
				name    string
				filters []string
				want    int
			}{
				{"10 filters", referrerFilters(stats.MaxFilters), http.StatusOK},
				{"11 filters", referrerFilters(stats.MaxFilters + 1), http.StatusBadRequest},
				{"longest value", []string{long}, http.StatusOK},
				{"value a byte longer", []string{long + "a"}, http.StatusBadRequest},
			} {
				a := costGet(c.url(r.path, r.extra, shared, tc.filters), auth)
				if a.err != nil || a.code != tc.want {
					t.Errorf("%s (shared %v), %s: %d %.200s %v, want %d", r.name, shared, tc.name, a.code, a.body, a.err, tc.want)
				}
				if tc.want == http.StatusBadRequest && !strings.Contains(a.body, "at most") {
					t.Errorf("%s, %s: the 400 does not say the limit: %.300s", r.name, tc.name, a.body)
				}
			}
		}
	}
	// the dashboard's shared page shares the limit
	q := url.Values{"filter": referrerFilters(stats.MaxFilters + 1)}
	if a := costGet(c.linkPath+"?"+q.Encode(), ""); a.code != http.StatusBadRequest || !strings.Contains(a.body, "at most 10 filters") {
		t.Errorf("shared page, 11 filters: %d %.300s", a.code, a.body)
	}
}

// TestQueryBudget: a report over Config.QueryBudget (here 1 ns, so that
// every report is over it without a large data set) is cut short and
// answered 503 with Retry-After on every report route, from the owner
// and through a shared link with 10 filters, and on the dashboard's
// shared page with a message saying so.
func TestQueryBudget(t *testing.T) {
	t.Parallel()
	c := newCostSite(t, startEmbeddedWith(t, plugin.Config{QueryBudget: time.Nanosecond}))
	for _, r := range costRoutes {
		for _, shared := range []bool{false, true} {
			if (shared && !r.shared) || r.name == "export summary" {
				continue // the export's status line is sent before its first report
			}
			auth := c.token
			if shared {
				auth = ""
			}
			a := costGet(c.url(r.path, r.extra, shared, referrerFilters(stats.MaxFilters)), auth)
			if a.err != nil || a.code != http.StatusServiceUnavailable || a.retry != fmt.Sprint(stats.RetryBudget) ||
				!strings.Contains(a.body, "took longer than the server allows") {
				t.Errorf("%s (shared %v): %d, Retry-After %q, %.300s %v; want 503 with Retry-After", r.name, shared, a.code, a.retry, a.body, a.err)
			}
		}
	}
	a := costGet(c.linkPath+"?"+url.Values{"filter": referrerFilters(stats.MaxFilters)}.Encode(), "")
	if a.code != http.StatusServiceUnavailable || a.retry == "" || !strings.Contains(a.body, "took longer than the server allows") {
		t.Errorf("shared page: %d, Retry-After %q, %.300s", a.code, a.retry, a.body)
	}
}

// TestQueryGate: with 2 reports per website and 1 per shared link, the
// reports beyond them are answered 503 with Retry-After at once (the API
// and the dashboard count together), and the slots come back when the
// reports end. Reports are held mid-way by a query hook on the reports'
// referrer lookup (a real PocketBase, its queries paused, not mocked).
func TestQueryGate(t *testing.T) {
	t.Parallel()
	held := make(chan chan struct{})
	srv := plugintest.Start(t, plugin.Config{QueriesPerSite: 2, QueriesPerLink: 1}, func(app core.App) error {
		// before the server serves: no request reads the hook meanwhile
		app.ConcurrentDB().(*dbx.DB).QueryLogFunc = func(_ context.Context, _ time.Duration, q string, _ *sql.Rows, _ error) {
			if strings.Contains(q, "SELECT DISTINCT referrer") {
				release := make(chan struct{})
				held <- release
				<-release
			}
		}
		return nil
	})
	c := newCostSite(t, srv)
	slow := referrerFilters(1)
	// hold starts a report that stops at its referrer lookup until the
	// returned function lets it finish; it checks the report's answer
	hold := func(name, u, auth string) func() {
		done := make(chan answer, 1)
		go func() { done <- costGet(u, auth) }()
		release := <-held
		return func() {
			close(release)
			if a := <-done; a.err != nil || a.code != http.StatusOK {
				t.Errorf("%s, held: %d %.200s %v", name, a.code, a.body, a.err)
			}
		}
	}
	refused := func(name, u, auth string) {
		t.Helper()
		a := costGet(u, auth)
		if a.err != nil || a.code != http.StatusServiceUnavailable || a.retry != fmt.Sprint(stats.RetryBusy) {
			t.Errorf("%s: %d, Retry-After %q, %.200s %v; want 503 at once", name, a.code, a.retry, a.body, a.err)
		}
	}
	ok := func(name, u, auth string) {
		t.Helper()
		if a := costGet(u, auth); a.err != nil || a.code != http.StatusOK {
			t.Errorf("%s: %d %.200s %v, want 200", name, a.code, a.body, a.err)
		}
	}
	owner := func(path string, filters []string) string { return c.url(path, "", false, filters) }
	shared := func(path string, filters []string) string { return c.url(path, "", true, filters) }

	// the website's two: one from the owner, one through the link
	endOwner := hold("owner's report", owner(plugin.StatsPath, slow), c.token)
	endLink := hold("link's report", shared(plugin.StatsPath, slow), "")
	refused("owner's third", owner(plugin.StatsPath, nil), c.token)
	refused("owner's export", owner(plugin.ExportPath, nil), c.token)
	refused("link's second", shared(plugin.PropertiesPath, nil)+"&event=signup", "")
	if a := costGet(c.linkPath, ""); a.code != http.StatusServiceUnavailable || !strings.Contains(a.body, "Too many reports") {
		t.Errorf("shared page with the website full: %d %.300s", a.code, a.body)
	}
	endOwner()
	// one slot of the website free, none of the link
	refused("link's second, website not full", shared(plugin.StatsPath, nil), "")
	ok("owner's with a slot free", owner(plugin.StatsPath, nil), c.token)
	endLink()
	ok("link's after its report ended", shared(plugin.StatsPath, nil), "")
	ok("shared page after", c.linkPath, "")
}
