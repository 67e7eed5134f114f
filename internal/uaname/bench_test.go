package uaname

import (
	"testing"

	"github.com/medama-io/go-useragent"
)

// The per-new-session naming cost, over the corpus' user agents in turn.
// BenchmarkNamesBefore is what the pipeline ran until this package
// (medama-io/go-useragent's trie parser and a device switch),
// BenchmarkNamesAfter is Parse. Continuing sessions parse nothing.

func corpusUAs(b *testing.B) []string {
	rows := loadCorpus(b)
	uas := make([]string, len(rows))
	for i, r := range rows {
		uas[i] = r.UA
	}
	return uas
}

func BenchmarkNamesBefore(b *testing.B) {
	uas := corpusUAs(b)
	p := useragent.NewParser()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ua := p.Parse(uas[i%len(uas)])
		device := "desktop"
		switch {
		case ua.IsTablet():
			device = "tablet"
		case ua.IsMobile():
			device = "mobile"
		}
		_, _, _ = string(ua.Browser()), string(ua.OS()), device
	}
}

func BenchmarkNamesAfter(b *testing.B) {
	uas := corpusUAs(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = Parse(uas[i%len(uas)])
	}
}
