package dashboard_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skopos-go/skopos/internal/dashboard"
	"github.com/skopos-go/skopos/internal/pbtest"
)

// The websites page warns when the oldest accepted event has waited more
// than a minute to be stored, and only then.
func TestWebsitesPageWarnsWhenTheWriterIsBehind(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		oldest time.Time
		want   string // "" = no warning
	}{
		{"nothing waiting", time.Time{}, ""},
		{"exactly a minute", now.Add(-time.Minute), ""},
		{"a second more", now.Add(-time.Minute - time.Second), "1m1s ago"},
		{"an hour", now.Add(-time.Hour), "1h0m0s ago"},
	}
	e := start(t)
	for _, tc := range tests {
		h := dashboard.Handler(e.app, dashboard.Options{Now: func() time.Time { return now },
			OldestUnwritten: func() time.Time { return tc.oldest }})
		e.handler.Store(&h)
		c := e.client(t) // a new handler has its own logins
		c.mustLogin(pbtest.Email, pbtest.Password)
		r := c.get("/dashboard/websites")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: GET /dashboard/websites = %d", tc.name, r.StatusCode)
		}
		warned := strings.Contains(r.body, `id="writer-behind"`)
		if warned != (tc.want != "") || tc.want != "" && !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: warning shown %v, want %q in it", tc.name, warned, tc.want)
		}
	}
}
