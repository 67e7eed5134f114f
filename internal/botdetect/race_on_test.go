//go:build race

package botdetect

// raceEnabled: the race detector slows the regular expressions ~10x; the
// differential test then checks a sample of the corpus.
const raceEnabled = true
