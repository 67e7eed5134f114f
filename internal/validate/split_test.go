package validate

import (
	"bytes"
	"encoding/json"
	"testing"
)

// referenceField is what decodeObject gave before it split objects by
// hand: encoding/json into a map of raw values.
func referenceFields(t *testing.T, body []byte) (map[string]json.RawMessage, bool) {
	t.Helper()
	rest := bytes.TrimLeft(body, " \t\r\n")
	if len(rest) == 0 || rest[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rest, &m); err != nil {
		return nil, false
	}
	return m, true
}

func checkSplit(t *testing.T, body []byte) {
	want, ok := referenceFields(t, body)
	got, err := decodeObject(body)
	if ok != (err == nil) {
		t.Fatalf("%q: encoding/json ok=%v, decodeObject error %v", body, ok, err)
	}
	if !ok {
		return
	}
	keys := map[string]bool{}
	for _, m := range got {
		keys[string(m.key)] = true
	}
	if len(keys) != len(want) {
		t.Fatalf("%q: %d distinct keys, encoding/json %d", body, len(keys), len(want))
	}
	for k, raw := range want {
		w := bytes.TrimSpace(raw)
		if len(w) == 0 || w[0] == 'n' {
			w = nil
		}
		if g := got.field(k); !bytes.Equal(g, w) {
			t.Fatalf("%q: field %q = %q, encoding/json %q", body, k, g, w)
		}
	}
}

func TestSplitObjectMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, b := range []string{
		`{}`, ` { } `, "\t{\"a\":1}\n", `{"a":1,"a":2}`, `{"a":null}`, `{"a" : [1, {"b":"}"}] , "c":"\"x\\"}`,
		`{"t\u0079pe":"pageView"}`, "{\"k\xff\":1,\"k\\ufffd\":2}", `{"a":{"b":{"c":[[],[{}]]}},"d":-1.5e3,"e":true,"f":false}`,
		`{"s":"a\\\"b","n":0}`, `[]`, `"x"`, `{`, `{"a":}`, `{"a":1}x`, `{"a":1,}`, ``, `   `, `nul`,
	} {
		checkSplit(t, []byte(b))
	}
	for _, b := range referenceBodies {
		checkSplit(t, []byte(b))
	}
}

func FuzzSplitObject(f *testing.F) {
	for _, b := range referenceBodies {
		f.Add([]byte(b))
	}
	f.Add([]byte(`{"a" : [1, {"b":"}"}] , "c":"\"x\\", "t\u0079pe":null}`))
	f.Fuzz(func(t *testing.T, body []byte) { checkSplit(t, body) })
}
