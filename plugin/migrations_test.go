package plugin_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/skopos-go/skopos/plugin"
)

// TestPasswordResetRateLimit: with AuthRateLimit n, PocketBase limits
// each of its requests that mail an address anyone can name to n a
// minute per address: the n+1th password reset request is refused.
func TestPasswordResetRateLimit(t *testing.T) {
	t.Parallel()
	const n = 3
	srv := startEmbeddedWith(t, plugin.Config{AuthRateLimit: n})
	rules := srv.App().Settings().RateLimits.Rules
	for _, label := range []string{"*:auth", "*:requestPasswordReset", "*:requestVerification", "*:requestEmailChange", "*:requestOTP"} {
		if !slices.Contains(rules, core.RateLimitRule{Label: label, MaxRequests: n, Duration: 60}) {
			t.Errorf("the rate limit rules %v lack %s", rules, label)
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
