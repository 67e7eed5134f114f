//go:build race

package adopt_test

// raceEnabled: the race detector slows PocketBase ~10x; tests that need
// volume to prove a property use less of it then.
const raceEnabled = true
