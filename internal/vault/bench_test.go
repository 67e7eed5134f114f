package vault

import "testing"

// BenchmarkOpen measures both formats: skv1 is one AES-GCM open; the reference format pays a
// 100 000-iteration PBKDF2 per key tried.
func BenchmarkOpen(b *testing.B) {
	v := mustVault(b, keyA)
	stored := mustSeal(b, v, plaintext, userA, service)
	b.Run("skv1", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Open(stored, userA, service); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Open(refVectorStored, userA, service); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	v := mustVault(b, keyA)
	for b.Loop() {
		mustSeal(b, v, plaintext, userA, service)
	}
}
