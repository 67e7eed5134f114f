package pbtest

import (
	"testing"
	"time"

	"github.com/skopos-go/skopos/schema/collections"
)

func TestZZApplyCost(t *testing.T) {
	s := Start(t, Options{})
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		ch, err := collections.Apply(s.App())
		t.Logf("apply %v changed %v err %v", time.Since(t0), ch, err)
	}
}
