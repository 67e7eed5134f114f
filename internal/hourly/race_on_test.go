//go:build race

package hourly_test

// raceEnabled: the race detector slows PocketBase ~10x; the tests write
// less traffic then.
const raceEnabled = true
