package visitorid

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestHashIsSeedCompatibleWithoutSalt(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("site-1.2.3.4-Mozilla/5.0"))
	if got := Hash("site", "1.2.3.4", "Mozilla/5.0", nil); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("VisitorHash = %s, want the Skopos SHA-256 %x", got, sum)
	}
	unknown := sha256.Sum256([]byte("site-unknown-unknown"))
	if got := Hash("site", "", "", nil); got != hex.EncodeToString(unknown[:]) {
		t.Fatalf("missing ip/ua must hash as 'unknown'")
	}
}

func TestHashWithSaltIsKeyedAndUnambiguous(t *testing.T) {
	t.Parallel()
	plain := Hash("site", "1.2.3.4", "ua", nil)
	s1 := Hash("site", "1.2.3.4", "ua", []byte("k1"))
	if s1 == plain || s1 == Hash("site", "1.2.3.4", "ua", []byte("k2")) {
		t.Fatal("salted hash does not depend on the salt")
	}
	if Hash("s", "a-b", "c", []byte("k")) == Hash("s", "a", "b-c", []byte("k")) {
		t.Fatal("salted hash is ambiguous across field boundaries")
	}
}

func BenchmarkHash(b *testing.B) {
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	b.Run("sha256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Hash("abcdefghijklmno", "203.0.113.9", ua, nil)
		}
	})
	b.Run("hmac", func(b *testing.B) {
		b.ReportAllocs()
		salt := []byte("a-secret-salt")
		for b.Loop() {
			Hash("abcdefghijklmno", "203.0.113.9", ua, salt)
		}
	})
}
