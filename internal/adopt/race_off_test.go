//go:build !race

package adopt_test

const raceEnabled = false
