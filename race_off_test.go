//go:build !race

package skopos_test

const raceEnabled = false
