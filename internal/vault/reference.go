package vault

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// The Node.js dashboard's format, read so that a migrated installation's keys keep working:
// standard base64 of salt(32) || iv(16) || tag(16) || ciphertext, AES-256-GCM with a 16-byte IV
// and no additional data, under PBKDF2-HMAC-SHA256(password, salt, 100 000 iterations, 32 bytes)
// where the password is the 32 bytes ENCRYPTION_KEY's hex spells (not its 64 characters: the
// reference installation's own rows open only that way).
const (
	refSaltSize   = 32
	refIVSize     = 16
	refTagSize    = 16
	refIterations = 100_000
)

// openReference tries each key in turn. Every try costs a PBKDF2 derivation (tens of
// milliseconds); derived keys are not cached because each value has its own salt, a server opens
// a key once per analysis, and Reseal retires the format.
func (v *Vault) openReference(stored string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil || len(raw) < refSaltSize+refIVSize+refTagSize {
		return "", fmt.Errorf("%w: neither a %s value nor a reference one", ErrFormat, version)
	}
	salt := raw[:refSaltSize]
	iv := raw[refSaltSize : refSaltSize+refIVSize]
	tag := raw[refSaltSize+refIVSize : refSaltSize+refIVSize+refTagSize]
	body := raw[refSaltSize+refIVSize+refTagSize:]
	// Go's GCM wants the tag after the ciphertext.
	sealed := make([]byte, 0, len(body)+refTagSize)
	sealed = append(append(sealed, body...), tag...)
	for _, k := range v.all {
		derived, err := pbkdf2.Key(sha256.New, string(k.b[:]), salt, refIterations, 32)
		if err != nil {
			return "", ErrDecrypt
		}
		if plain, err := newGCM(derived, refIVSize).Open(nil, iv, sealed, nil); err == nil {
			return string(plain), nil
		}
	}
	return "", ErrDecrypt
}
