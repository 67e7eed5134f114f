package plugin_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/plugin"
)

// TestPasswordResetRateLimit: with AuthRateLimit n, the n+1th password
// reset request of a minute from one address is refused (each one mails
// an address anyone can name). An install from before the rule gets it
// on its next start, beside the operator's own rules.
func TestPasswordResetRateLimit(t *testing.T) {
	t.Parallel()
	const n = 3
	srv := startEmbeddedWith(t, plugin.Config{AuthRateLimit: n})
	rule := func(label string, max int) core.RateLimitRule {
		return core.RateLimitRule{Label: label, MaxRequests: max, Duration: 60}
	}
	if rules := srv.App().Settings().RateLimits.Rules; !slices.Contains(rules, rule("*:requestPasswordReset", n)) {
		t.Errorf("a fresh install's rules %v lack the password reset", rules)
	}

	// an install whose rate limits predate the rule, with a rule of its
	// own (changed before any request: PocketBase reads its settings
	// unlocked while serving)
	app := srv.App()
	s, err := app.Settings().Clone()
	if err != nil {
		t.Fatal(err)
	}
	s.RateLimits.Rules = []core.RateLimitRule{rule("*:auth", n), rule("*:requestOTP", 50)}
	if err := app.Save(s); err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB().Delete("_migrations", dbx.HashExp{"file": "1764115215_skopos_mail_request_rate_limit.go"}).Execute(); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	rules := srv.App().Settings().RateLimits.Rules
	want := []core.RateLimitRule{rule("*:auth", n), rule("*:requestOTP", 50), rule("*:requestPasswordReset", n),
		rule("*:requestVerification", n), rule("*:requestEmailChange", n)}
	if len(rules) != len(want) {
		t.Errorf("after the restart: rules %v, want %v", rules, want)
	}
	for _, w := range want {
		if !slices.Contains(rules, w) {
			t.Errorf("after the restart the rules %v lack %v", rules, w)
		}
	}

	for i := 1; i <= n+1; i++ {
		status, body := call(t, http.MethodPost, srv.URL+"/api/collections/users/request-password-reset", "",
			`{"email":"nobody@reset.example"}`)
		want := http.StatusNoContent
		if i == n+1 {
			want = http.StatusTooManyRequests
		}
		if status != want {
			t.Fatalf("reset request %d: %d, want %d\n%s", i, status, want, body)
		}
	}
}
