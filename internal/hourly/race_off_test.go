//go:build !race

package hourly_test

const raceEnabled = false
