// Package testwait waits, in tests, for a condition rather than for a
// fixed time: a fixed sleep fails on a busy machine, a condition polled
// under a generous deadline does not.
package testwait

import (
	"testing"
	"time"
)

// For polls cond until it holds, failing t when within passes first.
func For(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		<-tick.C
	}
}
