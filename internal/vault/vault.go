// Package vault encrypts the service keys users keep in Skopos (a Google PageSpeed Insights key,
// for example) so that the database never holds them in clear text.
//
//	key, ok, err := vault.LoadKey(nil, nil) // SKOPOS_ENCRYPTION_KEY or SKOPOS_ENCRYPTION_KEY_FILE
//	if err != nil || !ok {
//		// no vault: say how to set a key, store nothing
//	}
//	v, _ := vault.New(key)
//	stored, _ := v.Seal(apiKey, userID, "google_pagespeed") // goes into api_keys.encryptedKey
//	apiKey, err = v.Open(stored, userID, "google_pagespeed") // only when the key is used
//
// Why it is built this way:
//
//   - The server key comes from the environment or a file, never from the database, and is never
//     generated: a key written beside the ciphertext it protects gives a stolen database file away
//     with it. Without a key the vault is off rather than pretending.
//   - Each value is bound to its user and service (AES-GCM additional data), so a row copied to
//     another user, or relabelled as another service, does not decrypt: whoever can write rows
//     cannot borrow someone else's key.
//   - Values carry a version and the ID of the key that sealed them, so the format can change and
//     rotation can tell finished rows from pending ones; older keys given to New still open.
//   - Values written by the Node.js dashboard (its format is read, never written) still open under
//     the same ENCRYPTION_KEY, so a migrated installation keeps its keys.
//
// Errors never contain a key or a plaintext; a failed authentication is one error, ErrDecrypt,
// whatever the cause, so it cannot be used to probe.
//
// # Format
//
//	skv1.<key id>.<base64url, no padding, of nonce(12) || ciphertext || tag(16)>
//
// AES-256-GCM with the server key and a fresh random nonce per value. The additional data is
// "skv1" || 0 || key id || 0 || len(user) || user || len(service) || service, lengths as 4-byte
// big-endian integers. The key id is the first 8 hex characters of
// SHA-256("skopos vault key id" || key).
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrDecrypt means a value did not authenticate: it was sealed under a key the vault does not
	// have, altered, or moved to another user or service. Which one is deliberately not said.
	ErrDecrypt = errors.New("vault: cannot decrypt: wrong key, or the value was altered or belongs to another user or service")
	// ErrFormat means a value is not one the vault writes or reads (an unknown version, a cut
	// value, clear text stored by mistake). Errors wrapping it say what is wrong, never the value.
	ErrFormat = errors.New("vault: not a sealed value")
)

const (
	version   = "skv1"
	nonceSize = 12
	tagSize   = 16
)

// Vault seals and opens service keys. It holds no mutable state and is safe for concurrent use.
type Vault struct {
	current Key
	byID    map[string]Key
	all     []Key // current first: the reference format names no key, so Open tries them in turn
}

// New returns a vault that seals with current and opens values sealed with current or any of
// older, which is how a rotation reads the rows it has not re-sealed yet.
func New(current Key, older ...Key) (*Vault, error) {
	v := &Vault{current: current, byID: map[string]Key{}}
	for i, k := range append([]Key{current}, older...) {
		if k.IsZero() {
			if i == 0 {
				return nil, errors.New("vault: no current key")
			}
			return nil, fmt.Errorf("vault: older key %d is the zero Key", i)
		}
		if have, dup := v.byID[k.id]; dup {
			if have.b == k.b {
				continue
			}
			// One chance in 2^32 per pair; refusing is simpler than trying both.
			return nil, fmt.Errorf("vault: two different keys share the ID %s; replace one", k.id)
		}
		v.byID[k.id] = k
		v.all = append(v.all, k)
	}
	return v, nil
}

// Seal encrypts plaintext for one user's service and returns the text to store. Each call uses a
// fresh nonce, so sealing the same key twice gives different values.
func (v *Vault) Seal(plaintext, user, service string) (string, error) {
	if user == "" || service == "" {
		return "", errors.New("vault: a value is sealed for a user and a service, one is empty")
	}
	if plaintext == "" {
		return "", errors.New("vault: nothing to seal")
	}
	aead := newGCM(v.current.b[:], nonceSize)
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	rand.Read(out) // never fails (it would crash the program rather than return)
	out = aead.Seal(out, out[:nonceSize], []byte(plaintext), additionalData(v.current.id, user, service))
	return version + "." + v.current.id + "." + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a stored value for the user and service it is read for. It reads this package's
// format under any key the vault has, and the Node.js dashboard's format under the same keys
// (those values are bound to no user or service: NeedsRotation reports them so they can be
// re-sealed).
func (v *Vault) Open(stored, user, service string) (string, error) {
	if !strings.Contains(stored, ".") { // standard base64 has no dot
		return v.openReference(stored)
	}
	ver, rest, _ := strings.Cut(stored, ".")
	if ver != version {
		// The version is not quoted: a clear-text key stored by mistake could be cut here.
		return "", fmt.Errorf("%w: unknown version", ErrFormat)
	}
	id, body, ok := strings.Cut(rest, ".")
	if !ok {
		return "", fmt.Errorf("%w: no key id", ErrFormat)
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < nonceSize+tagSize {
		return "", fmt.Errorf("%w: damaged %s value", ErrFormat, version)
	}
	k, ok := v.byID[id]
	if !ok {
		return "", ErrDecrypt
	}
	plain, err := newGCM(k.b[:], nonceSize).Open(nil, raw[:nonceSize], raw[nonceSize:], additionalData(id, user, service))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(plain), nil
}

// NeedsRotation reports whether stored is anything but a value sealed by the current key in the
// current format: sealed by an older key, written by the Node.js dashboard, or unreadable. It
// only reads the value's header, so it is cheap enough to run over every row.
func (v *Vault) NeedsRotation(stored string) bool {
	return !strings.HasPrefix(stored, version+"."+v.current.id+".")
}

// Reseal is one step of a rotation: a value that NeedsRotation is opened with whichever key can
// and sealed again under the current key, bound to user and service; changed is false (and
// stored is returned as it is) when it was already current.
func (v *Vault) Reseal(stored, user, service string) (resealed string, changed bool, err error) {
	if !v.NeedsRotation(stored) {
		return stored, false, nil
	}
	plain, err := v.Open(stored, user, service)
	if err != nil {
		return "", false, err
	}
	resealed, err = v.Seal(plain, user, service)
	if err != nil {
		return "", false, err
	}
	return resealed, true, nil
}

// additionalData is what a value is bound to besides its key. Lengths, not separators, split the
// fields, so no choice of user and service can spell another pair's bytes.
func additionalData(id, user, service string) []byte {
	ad := make([]byte, 0, len(version)+len(id)+len(user)+len(service)+10)
	ad = append(ad, version...)
	ad = append(ad, 0)
	ad = append(ad, id...)
	ad = append(ad, 0)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(user)))
	ad = append(ad, user...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(service)))
	ad = append(ad, service...)
	return ad
}

// newGCM cannot fail for a 32-byte key and a positive nonce size, so it does not return an error.
func newGCM(key []byte, nonceSize int) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	var aead cipher.AEAD
	if nonceSize == 12 {
		aead, err = cipher.NewGCM(block)
	} else {
		aead, err = cipher.NewGCMWithNonceSize(block, nonceSize)
	}
	if err != nil {
		panic(err)
	}
	return aead
}
