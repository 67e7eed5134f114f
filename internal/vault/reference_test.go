package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
)

// refVector* is a value in the Node.js dashboard's format made by Node.js 20's crypto module
// (pbkdf2Sync with the hex-decoded master, createCipheriv("aes-256-gcm") with a 16-byte IV) from a
// fixed salt (0x40…0x5f) and IV (0xa0…0xaf), laid out salt || iv || tag || ciphertext.
// TestReferenceVectorBuiltIndependently builds the same bytes in Go without this package's code.
const (
	refVectorMaster = keyA
	refVectorPlain  = "AIzaSyTestVector-not-a-real-key-0123456"
	refVectorStored = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl+goaKjpKWmp6ipqqusra6vuxYpQ2BUS7c2MLciUamW4+pE2j5ZPD0veWPUhCLmlWiBeWSACofJJA/9m7anbF7mkE4+dTPZ8g=="
)

// The one vault row of a reference installation (api_keys.encryptedKey of the Node-era data.db
// the migration tests use), with the ENCRYPTION_KEY and plaintext that installation documents.
const (
	installMaster = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	installPlain  = "AIzafOotymAxKQ4R8DOBxygoetHhLVCW7AQwKAO"
	installStored = "jc9FBrv/xQCyR+weibEzfE8BFFZiKxhgzPxYqXYukf+FtdOeBGsmSkyIanJUHtzWf4eqVlNU8ASdUIDDGNF4HwyxBvES7VFb1piN2yezlWrMY8zFHtLcvazwlS46CUQbWrr38XbCPw=="
)

// pbkdf2SHA256 is PBKDF2 written from RFC 8018 section 5.2, so the vector does not rest on the
// library the package uses.
func pbkdf2SHA256(password, salt []byte, iterations, size int) []byte {
	var out []byte
	for block := uint32(1); len(out) < size; block++ {
		mac := hmac.New(sha256.New, password)
		mac.Write(salt)
		mac.Write(binary.BigEndian.AppendUint32(nil, block))
		u := mac.Sum(nil)
		t := slices.Clone(u)
		for range iterations - 1 {
			mac.Reset()
			mac.Write(u)
			u = mac.Sum(u[:0])
			for j := range t {
				t[j] ^= u[j]
			}
		}
		out = append(out, t...)
	}
	return out[:size]
}

func TestHandWrittenPBKDF2MatchesRFC7914(t *testing.T) {
	for _, tc := range []struct {
		password, salt string
		iterations     int
		want           string
	}{
		{"passwd", "salt", 1, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
		{"Password", "NaCl", 80000, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"},
	} {
		if got := hex.EncodeToString(pbkdf2SHA256([]byte(tc.password), []byte(tc.salt), tc.iterations, 64)); got != tc.want {
			t.Errorf("PBKDF2(%s, %s, %d) = %s, want %s", tc.password, tc.salt, tc.iterations, got, tc.want)
		}
	}
}

func TestReferenceVectorBuiltIndependently(t *testing.T) {
	master, _ := hex.DecodeString(refVectorMaster)
	salt, iv := make([]byte, 32), make([]byte, 16)
	for i := range salt {
		salt[i] = 0x40 + byte(i)
	}
	for i := range iv {
		iv[i] = 0xa0 + byte(i)
	}
	block, err := aes.NewCipher(pbkdf2SHA256(master, salt, 100_000, 32))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 16)
	if err != nil {
		t.Fatal(err)
	}
	sealed := gcm.Seal(nil, iv, []byte(refVectorPlain), nil)
	body, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
	built := base64.StdEncoding.EncodeToString(slices.Concat(salt, iv, tag, body))
	if built != refVectorStored {
		t.Fatalf("built in Go:  %s\nNode.js made: %s", built, refVectorStored)
	}
}

func TestOpenReadsTheReferenceFormat(t *testing.T) {
	for _, tc := range []struct{ name, master, stored, plain string }{
		{"vector", refVectorMaster, refVectorStored, refVectorPlain},
		{"a reference installation's row", installMaster, installStored, installPlain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := mustVault(t, tc.master)
			// Not bound to anyone: any user and service read it, until it is resealed.
			for _, user := range []string{userA, userB} {
				got, err := v.Open(tc.stored, user, service)
				if err != nil || got != tc.plain {
					t.Fatalf("Open = %q, %v; want %q", got, err, tc.plain)
				}
			}
			if !v.NeedsRotation(tc.stored) {
				t.Fatal("a reference value does not need rotation")
			}
		})
	}
}

// The reference derives from the 32 bytes the hex spells, not from its 64 characters: deriving
// from the characters does not open the installation's row.
func TestReferencePasswordIsTheDecodedKey(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString(installStored)
	block, _ := aes.NewCipher(pbkdf2SHA256([]byte(installMaster), raw[:32], 100_000, 32))
	gcm, _ := cipher.NewGCMWithNonceSize(block, 16)
	if _, err := gcm.Open(nil, raw[32:48], slices.Concat(raw[64:], raw[48:64]), nil); err == nil {
		t.Fatal("the row opened with the key's characters as the password")
	}
}

func TestReferenceFormatUnderTheWrongMasterFailsToDecrypt(t *testing.T) {
	got, err := mustVault(t, keyB).Open(refVectorStored, userA, service)
	if !errors.Is(err, ErrDecrypt) {
		t.Fatalf("Open = %q, %v; want ErrDecrypt", got, err)
	}
}

func TestTamperedReferenceValueFailsToDecrypt(t *testing.T) {
	v := mustVault(t, refVectorMaster)
	raw, _ := base64.StdEncoding.DecodeString(refVectorStored)
	for _, i := range []int{0, 31, 32, 47, 48, 63, 64, len(raw) - 1} { // salt, IV, tag, ciphertext edges
		bad := bytes.Clone(raw)
		bad[i] ^= 1
		if got, err := v.Open(base64.StdEncoding.EncodeToString(bad), userA, service); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("byte %d flipped: Open = %q, %v; want ErrDecrypt", i, got, err)
		}
	}
}

func TestReferenceValueOpensDuringRotationAndIsResealedBound(t *testing.T) {
	rotating := mustVault(t, keyB, installMaster)
	resealed, changed, err := rotating.Reseal(installStored, userA, service)
	if err != nil || !changed || rotating.NeedsRotation(resealed) {
		t.Fatalf("Reseal = %q, %v, %v", resealed, changed, err)
	}
	if got, err := rotating.Open(resealed, userA, service); err != nil || got != installPlain {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := rotating.Open(resealed, userB, service); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("resealed reference value opened for another user: %v", err)
	}
}
