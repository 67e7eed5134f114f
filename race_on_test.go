//go:build race

package skopos_test

// raceEnabled: the race detector slows PocketBase ~10x; tests that need
// volume to prove a property use less of it then (the property holds at
// the smaller size; scripts/bench-sdk.sh checks the full one).
const raceEnabled = true
