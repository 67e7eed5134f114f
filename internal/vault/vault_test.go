package vault

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const (
	plaintext = "AIzaSyD-secret-pagespeed-key-0123456789"
	userA     = "u1a2b3c4d5e6f7g"
	userB     = "u9z8y7x6w5v4u3t"
	service   = "google_pagespeed"
)

func mustVault(t testing.TB, current string, older ...string) *Vault {
	t.Helper()
	var keys []Key
	for _, s := range older {
		keys = append(keys, mustKey(t, s))
	}
	v, err := New(mustKey(t, current), keys...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustSeal(t testing.TB, v *Vault, plain, user, service string) string {
	t.Helper()
	s, err := v.Seal(plain, user, service)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpenRoundTrip(t *testing.T) {
	v := mustVault(t, keyA)
	for _, plain := range []string{plaintext, "x", "ключ with unicode ✓", strings.Repeat("k", 4096)} {
		stored := mustSeal(t, v, plain, userA, service)
		// a one-character plaintext appears in random base64 by chance
		if len(plain) > 4 && strings.Contains(stored, plain) {
			t.Fatalf("sealed value %q contains its plaintext", stored)
		}
		if !strings.HasPrefix(stored, "skv1."+v.current.ID()+".") {
			t.Fatalf("sealed value %q lacks the skv1.<key id>. header", stored)
		}
		got, err := v.Open(stored, userA, service)
		if err != nil || got != plain {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
}

func TestSealUsesAFreshNonceEachTime(t *testing.T) {
	v := mustVault(t, keyA)
	seen := map[string]bool{}
	for range 100 {
		s := mustSeal(t, v, plaintext, userA, service)
		if seen[s] {
			t.Fatal("the same plaintext sealed twice gave the same value")
		}
		seen[s] = true
	}
}

func TestSealRefusesEmptyFields(t *testing.T) {
	v := mustVault(t, keyA)
	for _, args := range [][3]string{{"", userA, service}, {plaintext, "", service}, {plaintext, userA, ""}} {
		if s, err := v.Seal(args[0], args[1], args[2]); err == nil {
			t.Errorf("Seal(%q, %q, %q) = %q; want an error", args[0], args[1], args[2], s)
		}
	}
}

// Every byte of the value is flipped in turn: the nonce (first 12), the ciphertext, the tag (last
// 16). Each must fail to authenticate, as must a changed key id.
func TestTamperedValueFailsToDecrypt(t *testing.T) {
	v := mustVault(t, keyA)
	stored := mustSeal(t, v, plaintext, userA, service)
	head, body := stored[:strings.LastIndex(stored, ".")+1], stored[strings.LastIndex(stored, ".")+1:]
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			bad := []byte(string(raw))
			bad[i] ^= bit
			if got, err := v.Open(head+base64.RawURLEncoding.EncodeToString(bad), userA, service); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("byte %d of %d flipped (%#x): Open = %q, %v; want ErrDecrypt", i, len(raw), bit, got, err)
			}
		}
	}
	id := v.current.ID()
	otherID := string(id[0]^1) + id[1:]
	if got, err := v.Open(strings.Replace(stored, id, otherID, 1), userA, service); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("key id changed: Open = %q, %v; want ErrDecrypt", got, err)
	}
	if got, err := v.Open(stored[:len(stored)-1], userA, service); err == nil {
		t.Fatalf("last character cut: Open = %q; want an error", got)
	}
}

func TestWrongKeyFailsToDecrypt(t *testing.T) {
	stored := mustSeal(t, mustVault(t, keyA), plaintext, userA, service)
	if got, err := mustVault(t, keyB).Open(stored, userA, service); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open under another key = %q, %v; want ErrDecrypt", got, err)
	}
}

// A value relabelled with another key's ID is opened with that key and must fail: the ID picks a
// key, it does not vouch for the value.
func TestValueRelabelledWithAnotherKeysIDFailsToDecrypt(t *testing.T) {
	a, b := mustVault(t, keyA), mustVault(t, keyB)
	stored := mustSeal(t, a, plaintext, userA, service)
	relabelled := strings.Replace(stored, a.current.ID(), b.current.ID(), 1)
	if got, err := b.Open(relabelled, userA, service); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open = %q, %v; want ErrDecrypt", got, err)
	}
}

func TestRowMovedToAnotherUserFailsToDecrypt(t *testing.T) {
	v := mustVault(t, keyA)
	stored := mustSeal(t, v, plaintext, userA, service)
	if got, err := v.Open(stored, userB, service); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open for another user = %q, %v; want ErrDecrypt", got, err)
	}
}

func TestRowMovedToAnotherServiceFailsToDecrypt(t *testing.T) {
	v := mustVault(t, keyA)
	stored := mustSeal(t, v, plaintext, userA, service)
	if got, err := v.Open(stored, userA, "resend"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open for another service = %q, %v; want ErrDecrypt", got, err)
	}
}

// Moving characters between user and service must not keep the bound bytes equal.
func TestUserAndServiceCannotTradeCharacters(t *testing.T) {
	v := mustVault(t, keyA)
	stored := mustSeal(t, v, plaintext, "ab", "c")
	for _, pair := range [][2]string{{"a", "bc"}, {"abc", ""}, {"ab\x00", "c"}} {
		if _, err := v.Open(stored, pair[0], pair[1]); !errors.Is(err, ErrDecrypt) {
			t.Errorf("sealed for (ab, c), opened for (%q, %q): %v; want ErrDecrypt", pair[0], pair[1], err)
		}
	}
}

func TestOlderKeyOpensAndNeedsRotation(t *testing.T) {
	stored := mustSeal(t, mustVault(t, keyA), plaintext, userA, service)
	rotating := mustVault(t, keyB, keyA)
	got, err := rotating.Open(stored, userA, service)
	if err != nil || got != plaintext {
		t.Fatalf("Open under an older key = %q, %v; want %q", got, err, plaintext)
	}
	if !rotating.NeedsRotation(stored) {
		t.Fatal("a value sealed by an older key does not need rotation")
	}
}

func TestResealMovesAValueToTheCurrentKey(t *testing.T) {
	stored := mustSeal(t, mustVault(t, keyA), plaintext, userA, service)
	rotating := mustVault(t, keyB, keyA)
	resealed, changed, err := rotating.Reseal(stored, userA, service)
	if err != nil || !changed {
		t.Fatalf("Reseal = %q, %v, %v; want a new value", resealed, changed, err)
	}
	if rotating.NeedsRotation(resealed) {
		t.Fatal("a resealed value still needs rotation")
	}
	// Once every row is done the older key can go.
	got, err := mustVault(t, keyB).Open(resealed, userA, service)
	if err != nil || got != plaintext {
		t.Fatalf("Open after rotation under the new key alone = %q, %v", got, err)
	}
	again, changed, err := rotating.Reseal(resealed, userA, service)
	if err != nil || changed || again != resealed {
		t.Fatalf("Reseal of a current value = %q, %v, %v; want it unchanged", again, changed, err)
	}
	if _, _, err := rotating.Reseal(stored, userB, service); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Reseal for the wrong user: %v; want ErrDecrypt", err)
	}
}

func TestNeedsRotationReadsOnlyTheHeader(t *testing.T) {
	v := mustVault(t, keyA)
	current := mustSeal(t, v, plaintext, userA, service)
	for stored, want := range map[string]bool{
		current:                         false,
		"skv1." + v.current.ID() + ".":  false, // damaged, but Open says so; rotation has nothing to do
		"skv1.00000000." + current[14:]: true,
		"skv2." + current[5:]:           true,
		refVectorStored:                 true,
		"":                              true,
		plaintext:                       true,
	} {
		if got := v.NeedsRotation(stored); got != want {
			t.Errorf("NeedsRotation(%.30q…) = %v, want %v", stored, got, want)
		}
	}
}

func TestMalformedValuesAreFormatErrors(t *testing.T) {
	v := mustVault(t, keyA)
	for name, stored := range map[string]string{
		"empty":                         "",
		"clear text stored by mistake":  plaintext,
		"clear text with a dot":         "my.secret.key",
		"unknown version":               "skv2." + v.current.ID() + ".AAAA",
		"no key id":                     "skv1.AAAA",
		"body not base64url":            "skv1." + v.current.ID() + ".!!!!",
		"body shorter than nonce + tag": "skv1." + v.current.ID() + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 27)),
		"reference value cut short":     base64.StdEncoding.EncodeToString(make([]byte, 63)),
	} {
		got, err := v.Open(stored, userA, service)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: Open = %q, %v; want ErrFormat", name, got, err)
		}
		if stored != "" && strings.Contains(err.Error(), stored) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: error %q repeats the value", name, err)
		}
	}
}

func TestNewRefusesMissingKeys(t *testing.T) {
	if _, err := New(Key{}); err == nil {
		t.Error("New(zero Key) succeeded")
	}
	if _, err := New(mustKey(t, keyA), Key{}); err == nil {
		t.Error("New with a zero older key succeeded")
	}
	v, err := New(mustKey(t, keyA), mustKey(t, keyA), mustKey(t, keyB))
	if err != nil || len(v.all) != 2 {
		t.Fatalf("the current key repeated among the older ones: %v, %d keys", err, len(v.all))
	}
}

// Every way an Open, a Seal or a ParseKey can fail, checked for the key and the plaintext in
// any spelling a careless %v could produce.
func TestErrorsNeverContainTheKeyOrThePlaintext(t *testing.T) {
	v := mustVault(t, keyA)
	other := mustVault(t, keyB)
	stored := mustSeal(t, v, plaintext, userA, service)
	var errs []error
	collect := func(_ string, err error) { errs = append(errs, err) }
	collect(other.Open(stored, userA, service))
	collect(v.Open(stored, userB, service))
	collect(v.Open(plaintext, userA, service))
	collect(v.Open("skv9."+plaintext, userA, service))
	collect(v.Open(plaintext+".x", userA, service))
	collect(other.Open(refVectorStored, userA, service))
	collect(v.Seal(plaintext, "", service))
	_, err := ParseKey(keyA + "0")
	errs = append(errs, err)
	_, err = ParseKey(keyA[:20] + "z" + keyA[21:])
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		msg := strings.ToLower(err.Error())
		for _, secret := range []string{keyA, keyA[:16], keyA[48:], strings.ToLower(plaintext), "secret-pagespeed", "0123456789"} {
			if strings.Contains(msg, secret) {
				t.Errorf("error %q contains %q", err, secret)
			}
		}
	}
}
