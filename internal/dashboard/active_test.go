package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/skopos-go/skopos/internal/browsertest"
	"github.com/skopos-go/skopos/internal/ssetest"
	"github.com/skopos-go/skopos/internal/stats"
	"github.com/skopos-go/skopos/internal/testwait"
	"github.com/skopos-go/skopos/schema"
)

// activeCounts is one "event: active" of the "active now" stream: counts
// by website record id.
type activeCounts map[string]int

// openActive opens the "active now" stream at path with c's login
// (ssetest.Open): the status, and for 200 the stream's messages.
func (c *client) openActive(path string) (int, <-chan ssetest.Msg) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	req.Header.Set("Accept", "text/event-stream")
	// c.hc's timeout would cut the stream; same cookies
	return ssetest.Open(c.t, &http.Client{Jar: c.hc.Jar, CheckRedirect: c.hc.CheckRedirect}, req)
}

// nextCounts waits for the stream's next message, which must be counts.
func nextCounts(t *testing.T, ch <-chan ssetest.Msg) activeCounts {
	t.Helper()
	m := ssetest.Next(t, ch, testwait.Timeout())
	var counts activeCounts
	if err := json.Unmarshal([]byte(m.Data), &counts); m.Event != "active" || err != nil {
		t.Fatalf("message %+v, want active counts", m)
	}
	return counts
}

// The "active now" stream as the plugin mounts the dashboard (its hub
// gets the writer's events): it needs a login (401: it is not a page),
// serves only the user's sites (one other is a 404 for the whole
// request), starts with every site's count (stats.ActiveUsers, the
// report's figure) and pushes a site's change when a beacon is stored.
func TestActiveStream(t *testing.T) {
	t.Parallel()
	e := start(t)
	ada := addUser(t, e.app, "ada@example.com", "ada-password-123")
	bob := addUser(t, e.app, "bob@example.com", "bob-password-123")
	blog := addSite(t, e.app, "Ada's blog", "ada.example", ada.Id)
	shop := addSite(t, e.app, "Ada's shop", "shop.example", ada.Id)
	bobs := addSite(t, e.app, "Bob's shop", "bob.example", bob.Id)
	for i := range 2 {
		e.beacon(t, `{"type":"pageView","url":"https://ada.example/"}`, fmt.Sprintf("198.51.100.%d", i+1), browsertest.Chrome)
	}
	testwait.Until(t, "2 events stored", func() bool {
		return count(t, e.app, schema.Events, dbx.HashExp{"website": blog.Id}) == 2
	})

	c := e.client(t)
	c.base = e.srv.URL // the plugin's mount, with its hub
	path := "/dashboard/live/active?site=" + blog.Id + "&site=" + shop.Id
	if st, _ := c.openActive(path); st != http.StatusUnauthorized {
		t.Errorf("without a login: %d, want 401", st)
	}
	// the live view's event stream too: a redirect to a login page is no
	// answer for an EventSource
	if st := c.get("/dashboard/sites/" + blog.Id + "/live/stream").StatusCode; st != http.StatusUnauthorized {
		t.Errorf("live view stream without a login: %d, want 401", st)
	}
	c.mustLogin("ada@example.com", "ada-password-123")
	for q, want := range map[string]int{
		"?site=" + bobs.Id:                      http.StatusNotFound,
		"?site=" + blog.Id + "&site=" + bobs.Id: http.StatusNotFound,
		"?site=nosuchsite":                      http.StatusNotFound,
		"":                                      http.StatusBadRequest,
	} {
		if st, _ := c.openActive("/dashboard/live/active" + q); st != want {
			t.Errorf("GET /dashboard/live/active%s: %d, want %d", q, st, want)
		}
	}

	st, ch := c.openActive(path)
	if st != http.StatusOK {
		t.Fatalf("own sites: %d", st)
	}
	report, err := stats.ActiveUsers(context.Background(), e.app.DB(), blog.Id, time.Now())
	if m := nextCounts(t, ch); err != nil || len(m) != 2 || m[blog.Id] != 2 || m[blog.Id] != report || m[shop.Id] != 0 {
		t.Fatalf("first counts %v; want blog 2 (stats.ActiveUsers %d, %v), shop 0", m, report, err)
	}
	e.beacon(t, `{"type":"pageView","url":"https://shop.example/"}`, "198.51.100.9", browsertest.Chrome)
	if m := nextCounts(t, ch); len(m) != 1 || m[shop.Id] != 1 {
		t.Fatalf("after a visit of the shop: %v, want only the shop's 1", m)
	}
}
