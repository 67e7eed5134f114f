package vault

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

const (
	keyA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	keyB = "f0e1d2c3b4a5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f"
)

func mustKey(t testing.TB, s string) Key {
	t.Helper()
	k, err := ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKeyBoundaries(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{"64 hex", keyA, ""},
		{"64 upper-case hex", strings.ToUpper(keyA), ""},
		{"63 characters", keyA[:63], "this one has 63"},
		{"65 characters", keyA + "0", "this one has 65"},
		{"empty", "", "this one has 0"},
		{"non-hex character", keyA[:10] + "g" + keyA[11:], "character 11 is not one"},
		{"trailing newline", keyA[:63] + "\n", "character 64 is not one"},
		{"64 letters, not hex", strings.Repeat("Zz", 32), "character 1 is not one"},
		{"length told in characters, not bytes", strings.Repeat("é", 33), "this one has 33"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey(tc.in)
			if tc.wantErr == "" {
				if err != nil || k.IsZero() || len(k.ID()) != 8 {
					t.Fatalf("ParseKey = %v, %v; want a key with an 8-character ID", k, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
			if tc.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
				t.Fatalf("error %q repeats the key", err)
			}
		})
	}
}

func TestUpperAndLowerCaseHexAreTheSameKey(t *testing.T) {
	lower, upper := mustKey(t, keyA), mustKey(t, strings.ToUpper(keyA))
	if lower != upper {
		t.Fatal("the same bytes written in two cases gave two keys")
	}
}

func TestKeyPrintsOnlyItsID(t *testing.T) {
	k := mustKey(t, keyA)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
		out := fmt.Sprintf(verb, k)
		if !strings.Contains(out, k.ID()) || strings.Contains(strings.ToLower(out), keyA[:16]) || strings.Contains(out, "[0 1 2 3") {
			t.Errorf("Sprintf(%s) = %q: want the ID only", verb, out)
		}
	}
	if out := fmt.Sprintf("%v", struct{ K Key }{k}); strings.Contains(out, "[0 1 2 3") {
		t.Errorf("a Key inside a struct prints its bytes: %s", out)
	}
}

func TestLoadKey(t *testing.T) {
	files := map[string]string{"/run/secrets/skopos": keyB + "\n", "/bad": "not a key\n"}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    string // key hex, "" for none
		wantErr string
	}{
		{name: "nothing set: vault off", env: nil},
		{name: "SKOPOS_ENCRYPTION_KEY", env: map[string]string{EnvKey: keyA}, want: keyA},
		{name: "surrounding whitespace ignored", env: map[string]string{EnvKey: " " + keyA + "\n"}, want: keyA},
		{name: "key file, newline trimmed", env: map[string]string{EnvKeyFile: "/run/secrets/skopos"}, want: keyB},
		{name: "reference ENCRYPTION_KEY", env: map[string]string{EnvReferenceKey: keyA}, want: keyA},
		{name: "reference and ours agree", env: map[string]string{EnvReferenceKey: keyB, EnvKeyFile: "/run/secrets/skopos"}, want: keyB},
		{name: "key and key file both set", env: map[string]string{EnvKey: keyA, EnvKeyFile: "/run/secrets/skopos"}, wantErr: "both SKOPOS_ENCRYPTION_KEY and SKOPOS_ENCRYPTION_KEY_FILE"},
		{name: "reference differs from ours", env: map[string]string{EnvKey: keyA, EnvReferenceKey: keyB}, wantErr: "ENCRYPTION_KEY and SKOPOS_ENCRYPTION_KEY name different keys"},
		{name: "unreadable reference beside ours", env: map[string]string{EnvKey: keyA, EnvReferenceKey: "short"}, wantErr: "name different keys"},
		{name: "missing key file", env: map[string]string{EnvKeyFile: "/nope"}, wantErr: "SKOPOS_ENCRYPTION_KEY_FILE: open /nope"},
		{name: "key file holds no key", env: map[string]string{EnvKeyFile: "/bad"}, wantErr: "SKOPOS_ENCRYPTION_KEY_FILE /bad: a key is 64 hex characters, this one has 9"},
		{name: "malformed key", env: map[string]string{EnvKey: keyA[:63]}, wantErr: "SKOPOS_ENCRYPTION_KEY: a key is 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, ok, err := LoadKey(func(name string) string { return tc.env[name] }, readFile)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ok {
					t.Fatalf("LoadKey = %v, %v, %v; want an error saying %q", k, ok, err, tc.wantErr)
				}
				for _, secret := range []string{keyA, keyB, keyA[:63]} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error %q repeats a key", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if ok || !k.IsZero() {
					t.Fatalf("LoadKey = %v, %v with nothing set; want no key", k, ok)
				}
				return
			}
			if !ok || k != mustKey(t, tc.want) {
				t.Fatalf("LoadKey = %v, %v; want %v", k, ok, mustKey(t, tc.want))
			}
		})
	}
}

func TestLoadKeyDefaultsToTheProcessEnvironment(t *testing.T) {
	t.Setenv(EnvKey, keyA)
	t.Setenv(EnvKeyFile, "")
	t.Setenv(EnvReferenceKey, "")
	k, ok, err := LoadKey(nil, nil)
	if err != nil || !ok || k != mustKey(t, keyA) {
		t.Fatalf("LoadKey(nil, nil) = %v, %v, %v", k, ok, err)
	}
}
