package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
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

func TestVisitorHashIsSeedCompatibleWithoutSalt(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("site-1.2.3.4-Mozilla/5.0"))
	if got := VisitorHash("site", "1.2.3.4", "Mozilla/5.0", nil); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("VisitorHash = %s, want the Skopos SHA-256 %x", got, sum)
	}
	unknown := sha256.Sum256([]byte("site-unknown-unknown"))
	if got := VisitorHash("site", "", "", nil); got != hex.EncodeToString(unknown[:]) {
		t.Fatalf("missing ip/ua must hash as 'unknown'")
	}
}

func TestVisitorHashWithSaltIsKeyedAndUnambiguous(t *testing.T) {
	t.Parallel()
	plain := VisitorHash("site", "1.2.3.4", "ua", nil)
	s1 := VisitorHash("site", "1.2.3.4", "ua", []byte("k1"))
	if s1 == plain || s1 == VisitorHash("site", "1.2.3.4", "ua", []byte("k2")) {
		t.Fatal("salted hash does not depend on the salt")
	}
	if VisitorHash("s", "a-b", "c", []byte("k")) == VisitorHash("s", "a", "b-c", []byte("k")) {
		t.Fatal("salted hash is ambiguous across field boundaries")
	}
}

func BenchmarkVisitorHash(b *testing.B) {
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	b.Run("sha256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			VisitorHash("abcdefghijklmno", "203.0.113.9", ua, nil)
		}
	})
	b.Run("hmac", func(b *testing.B) {
		b.ReportAllocs()
		salt := []byte("a-secret-salt")
		for b.Loop() {
			VisitorHash("abcdefghijklmno", "203.0.113.9", ua, salt)
		}
	})
}
