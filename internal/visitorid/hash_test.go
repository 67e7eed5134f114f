package visitorid

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"
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
	b.Run("salted", func(b *testing.B) {
		b.ReportAllocs()
		h, err := New(b.Context(), Config{Salt: "a-secret-salt"})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			h.ID("abcdefghijklmno", "203.0.113.9", ua, time.Time{})
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

// TestPooledIDsEqualHash: the pooled HMAC states give the same ids as a
// fresh HMAC, from many goroutines at once.
func TestPooledIDsEqualHash(t *testing.T) {
	t.Parallel()
	h, err := New(t.Context(), Config{Salt: "k"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for g := range 8 {
		go func() {
			ok := true
			for i := range 200 {
				ip := fmt.Sprintf("10.%d.0.%d", g, i)
				ok = ok && h.ID("site", ip, "ua", time.Time{}) == Hash("site", ip, "ua", []byte("k"))
			}
			done <- ok
		}()
	}
	for range 8 {
		if !<-done {
			t.Fatal("a pooled id differs from Hash")
		}
	}
	if h.ID("site", "", "", time.Time{}) != Hash("site", "", "", []byte("k")) {
		t.Fatal("missing ip/ua differ")
	}
}

// TestDayNumberIsTheUTCDate: the day number ids are keyed by names the
// same UTC date as formatting the time would, on both sides of midnight.
func TestDayNumberIsTheUTCDate(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CET", 3600)
	for _, tm := range []time.Time{
		time.Date(2026, 3, 10, 23, 59, 59, 999e6, time.UTC),
		time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 11, 0, 30, 0, 0, paris), // 23:30 UTC the day before
		time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC),
	} {
		if got, want := dayName(dayNumber(tm)), tm.UTC().Format(time.DateOnly); got != want {
			t.Errorf("dayName(dayNumber(%v)) = %s, want %s", tm, got, want)
		}
	}
}
