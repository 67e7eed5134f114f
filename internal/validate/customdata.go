package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// dataWalker measures the compact serialization of decoded JSON (as
// encoding/json with SetEscapeHTML(false) writes it) and looks for
// prototype-pollution keys, in one pass and without reflection.
type dataWalker struct {
	size   int
	badKey string // first dangerous key met, "" when none
	ok     bool   // false when a value of an unexpected Go type was met
}

func (w *dataWalker) walk(v any) {
	switch v := v.(type) {
	case nil:
		w.size += 4
	case bool:
		if v {
			w.size += 4
		} else {
			w.size += 5
		}
	case string:
		w.size += jsonStringLen(v, false)
	case json.Number:
		if v == "" {
			w.size++ // encoding/json writes 0
		} else {
			w.size += len(v)
		}
	case map[string]any:
		w.size += 2
		if len(v) > 1 {
			w.size += len(v) - 1 // commas
		}
		for k, e := range v {
			if w.badKey == "" && dangerousKey(k) {
				w.badKey = k
			}
			w.size += jsonStringLen(k, false) + 1 // key and colon
			w.walk(e)
		}
	case []any:
		w.size += 2
		if len(v) > 1 {
			w.size += len(v) - 1
		}
		for _, e := range v {
			w.walk(e)
		}
	default:
		// Not produced by a json.Decoder with UseNumber; callers only pass
		// such values.
		w.ok = false
	}
}

// dangerousKey reports whether k would let a JavaScript consumer of the
// stored JSON pollute object prototypes (compared case-insensitively, as the
// Node SDK did).
func dangerousKey(k string) bool {
	if len(k) < 9 || len(k) > 13 { // len("__proto__")=9 … len("constructor")=11, with room for folded runes
		return false
	}
	return strings.EqualFold(k, "__proto__") || strings.EqualFold(k, "constructor") || strings.EqualFold(k, "prototype")
}

// checkData applies the customData rules to a decoded JSON object whose
// numbers are json.Number, reporting errors against field.
func checkData(field string, m map[string]any) error {
	w := dataWalker{ok: true}
	w.walk(m)
	switch {
	case !w.ok:
		return fieldErr(field, "contains a value that is not JSON")
	case w.size > MaxCustomDataBytes:
		return fieldErr(field, fmt.Sprintf("serialized size %d exceeds %d bytes", w.size, MaxCustomDataBytes))
	case w.badKey != "":
		return fieldErr(field, fmt.Sprintf("key %q is not allowed", w.badKey))
	}
	return nil
}

// duration returns data["duration"] when it is a JSON number within float64
// range, else 0.
func duration(data map[string]any) float64 {
	n, ok := data["duration"].(json.Number) // also for a nil map
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return 0
	}
	return f
}

// CustomEvent applies the custom-event rules of the browser payload to an
// event recorded by server code: name must be 1–255 UTF-16 units long; it is
// stripped of control characters, trimmed and truncated to 100 units, and
// must not end up empty. data may be nil; otherwise it must serialize to
// JSON (encoding/json, HTML escaping off) in at most 8192 bytes and contain
// no key "__proto__", "constructor" or "prototype" (any case) at any depth.
//
// cleanData is a deep copy of data made through JSON, so it holds only
// map[string]any, []any, string, bool, nil and json.Number values and
// shares nothing with data; it is nil when data is nil or empty. Errors are
// *FieldError values (field "name" or "data") matching ErrInvalid.
func CustomEvent(name string, data map[string]any) (cleanName string, cleanData map[string]any, err error) {
	cleanName, err = eventName(name)
	if err != nil {
		return "", nil, err
	}
	if len(data) == 0 {
		return cleanName, nil, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		return "", nil, fieldErr("data", "cannot be serialized as JSON: "+err.Error())
	}
	if n := buf.Len() - 1; n > MaxCustomDataBytes { // Encode appends a newline
		return "", nil, fieldErr("data", fmt.Sprintf("serialized size %d exceeds %d bytes", n, MaxCustomDataBytes))
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		// A map[string]any always encodes to an object, but a custom
		// MarshalJSON may be creative.
		return "", nil, fieldErr("data", "cannot be serialized as a JSON object")
	}
	if err := checkData("data", out); err != nil {
		return "", nil, err
	}
	if len(out) == 0 {
		out = nil
	}
	return cleanName, out, nil
}

// eventName applies the custom event name rules.
func eventName(raw string) (string, error) {
	if raw == "" {
		return "", fieldErr("name", "must not be empty")
	}
	if n := len(raw); n > MaxNameIn && UTF16Len(raw) > MaxNameIn {
		return "", fieldErr("name", fmt.Sprintf("longer than %d characters", MaxNameIn))
	}
	s := cleanLine(raw, MaxName)
	if s == "" {
		return "", fieldErr("name", "empty after removing control characters and spaces")
	}
	return s, nil
}
