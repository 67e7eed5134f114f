// Package testwait waits, in tests, for a condition rather than for a
// fixed time: a fixed sleep fails on a busy machine, a condition polled
// under a generous deadline does not.
//
// The deadline policy: a deadline is a failure bound, not a speed
// assertion. A test waiting for work the machine must do (events stored,
// a server started, a browser page loaded) waits Deadline, or longer when
// the work is large (Events), and every such bound stretches by the
// factor in SKOPOS_TEST_TIMEOUT_SCALE (Scale) on a slow machine. Speed is
// measured by benchmarks, never by these bounds. A test asserting that
// something does not happen waits a short fixed time that, elapsing
// early or late, can only make it pass: it is not scaled.
package testwait

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// Deadline is how long a test waits for work the machine must do: a
// minute, which a busy two-core machine under the race detector meets for
// anything short of thousands of events.
const Deadline = time.Minute

// ScaleEnv names the environment variable whose positive number
// multiplies every deadline (Scale), for a machine slower still.
const ScaleEnv = "SKOPOS_TEST_TIMEOUT_SCALE"

// Scale stretches d by the factor in SKOPOS_TEST_TIMEOUT_SCALE; d as it
// is when the variable is unset or not a positive number. Use it for the
// deadlines For does not set (Timeout is Deadline scaled).
func Scale(d time.Duration) time.Duration {
	f, err := strconv.ParseFloat(os.Getenv(ScaleEnv), 64)
	if err != nil || f <= 0 {
		return d
	}
	return time.Duration(float64(d) * f)
}

// Timeout is Deadline, scaled: the bound for a wait For does not poll
// (a context, an HTTP client, a select on a channel).
func Timeout() time.Duration { return Scale(Deadline) }

// Events is the deadline for storing n events: Deadline plus 5 ms an
// event (110 s for 10 000, which the race detector on a busy machine
// needs; a quiet one takes a few seconds).
func Events(n int) time.Duration {
	return Deadline + time.Duration(n)*5*time.Millisecond
}

// Until polls cond until it holds, failing t when Deadline (scaled)
// passes first.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	For(t, Deadline, what, cond)
}

// For polls cond until it holds, failing t when within (scaled) passes
// first. The polls start 5 ms apart and slow to 100 ms, so that a long
// wait does not load the machine it waits for.
func For(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	within = Scale(within)
	deadline := time.Now().Add(within)
	pause := 5 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// Context returns a context that ends after Timeout, or with t: for the
// calls of a test that talk to a real server.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout())
	t.Cleanup(cancel)
	return ctx
}
