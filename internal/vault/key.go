package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// The environment variables LoadKey reads, exported so that a page or a command can tell the
// operator what to set.
const (
	// EnvKey holds the server key as 64 hexadecimal characters.
	EnvKey = "SKOPOS_ENCRYPTION_KEY"
	// EnvKeyFile names a file holding the server key (surrounding whitespace is ignored), for
	// secret stores that mount files rather than set variables.
	EnvKeyFile = "SKOPOS_ENCRYPTION_KEY_FILE"
	// EnvReferenceKey is the variable the Node.js dashboard used; accepted so that a migrated
	// installation keeps reading its keys without renaming anything.
	EnvReferenceKey = "ENCRYPTION_KEY"
)

// keyHexLen is the length of a key written out: 32 bytes, the size AES-256 needs.
const keyHexLen = 64

// Key is a server key: 32 random bytes that encrypt every stored service key. Printed with any
// fmt verb it shows only its ID, so a Key passed to a logger or a %v cannot leak.
type Key struct {
	b  [32]byte
	id string
}

// ParseKey reads a key written as 64 hexadecimal characters (either case), for example the output
// of `openssl rand -hex 32`. Errors say what is wrong (length, a non-hex character) without
// repeating the value.
func ParseKey(s string) (Key, error) {
	k, err := parseKey(s)
	if err != nil {
		return Key{}, fmt.Errorf("vault: %w", err)
	}
	return k, nil
}

func parseKey(s string) (Key, error) {
	if len(s) != keyHexLen {
		return Key{}, fmt.Errorf("a key is %d hex characters, this one has %d", keyHexLen, utf8.RuneCountInString(s))
	}
	var k Key
	// hex.DecodeString's error quotes the offending byte, which is part of the key: report the
	// position only.
	if _, err := hex.Decode(k.b[:], []byte(s)); err != nil {
		for i := 0; i < len(s); i++ {
			if !isHex(s[i]) {
				return Key{}, fmt.Errorf("a key is %d hex characters (0-9, a-f), character %d is not one", keyHexLen, i+1)
			}
		}
		return Key{}, errors.New("a key is 64 hex characters (0-9, a-f)")
	}
	k.id = keyID(k.b)
	return k, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// keyID names a key in every value it seals, so that rotation can tell which rows are done and
// Open can pick the right key without trying them all. It is a hash under its own label, so it
// says nothing usable about the key; 32 bits tell a handful of keys apart.
func keyID(b [32]byte) string {
	h := sha256.New()
	h.Write([]byte("skopos vault key id"))
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil)[:4])
}

// ID returns the key's public name: 8 hex characters that appear in every value sealed with it.
// It is safe to log and to show, e.g. by a rotation command. The zero Key has an empty ID.
func (k Key) ID() string { return k.id }

// IsZero reports whether k is the zero Key (no key loaded).
func (k Key) IsZero() bool { return k.id == "" }

// String shows the key's ID only.
func (k Key) String() string { return "vault.Key(" + k.id + ")" }

// GoString shows the key's ID only, so %#v cannot print the key either.
func (k Key) GoString() string { return k.String() }

// Format prints String whatever the verb: without it %d or %x would print the key's bytes.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LoadKey finds the server key in the environment: EnvKey, else the file named by EnvKeyFile,
// else the reference dashboard's EnvReferenceKey. Surrounding whitespace is ignored (a key file
// or a pasted value often ends with a newline). ok is false when none is set: the vault is then
// off, and no key is made up, since a key stored beside the data it protects protects nothing.
//
// Setting both EnvKey and EnvKeyFile is an error, as is an EnvReferenceKey that differs from the
// key given by the other two: silently preferring one would leave the rows sealed under the other
// unreadable. To change keys, rotate.
//
// env and readFile default to os.Getenv and os.ReadFile when nil; tests pass their own.
func LoadKey(env func(string) string, readFile func(string) ([]byte, error)) (key Key, ok bool, err error) {
	if env == nil {
		env = os.Getenv
	}
	if readFile == nil {
		readFile = os.ReadFile
	}
	direct, file, reference := env(EnvKey), env(EnvKeyFile), env(EnvReferenceKey)
	var text, source string
	switch {
	case direct != "" && file != "":
		return Key{}, false, fmt.Errorf("vault: both %s and %s are set; keep one", EnvKey, EnvKeyFile)
	case direct != "":
		text, source = direct, EnvKey
	case file != "":
		b, err := readFile(file)
		if err != nil {
			return Key{}, false, fmt.Errorf("vault: %s: %w", EnvKeyFile, err)
		}
		text, source = string(b), EnvKeyFile+" "+file
	case reference != "":
		text, source = reference, EnvReferenceKey
	default:
		return Key{}, false, nil
	}
	key, err = parseKey(strings.TrimSpace(text))
	if err != nil {
		return Key{}, false, fmt.Errorf("vault: %s: %w", source, err)
	}
	if reference != "" && source != EnvReferenceKey {
		ref, err := parseKey(strings.TrimSpace(reference))
		if err != nil || ref.b != key.b {
			return Key{}, false, fmt.Errorf("vault: %s and %s name different keys; keep one (to change keys, rotate)", EnvReferenceKey, source)
		}
	}
	return key, true, nil
}
