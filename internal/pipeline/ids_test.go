package pipeline

import (
	"regexp"
	"testing"
)

var idPattern = regexp.MustCompile(`^[a-z0-9]{15}$`)

func TestNewIDIsAPocketBaseID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 10000 {
		id := NewID()
		if !idPattern.MatchString(id) {
			t.Fatalf("NewID() = %q", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestDeriveIDIsStableDistinctAndUnambiguous(t *testing.T) {
	t.Parallel()
	a := DeriveID("v", "site1", "abc")
	if a != DeriveID("v", "site1", "abc") || !idPattern.MatchString(a) {
		t.Fatalf("DeriveID unstable or malformed: %q", a)
	}
	if a == DeriveID("v", "site1", "abd") || DeriveID("a-b", "c") == DeriveID("a", "b-c") || DeriveID("ab", "c") == DeriveID("a", "bc") {
		t.Fatal("DeriveID collides on distinct inputs")
	}
}
