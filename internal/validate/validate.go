// Package validate decodes and validates the JSON payload a browser posts
// to Skopos for a page view, a custom event or a JavaScript error, and turns
// it into a typed, sanitized Payload whose every string fits the column it
// is stored in (see the limits in package schema). Decode is the entry point for browser bodies;
// CustomEvent applies the same name and data rules to events recorded by
// server code.
//
// # Lengths are counted in UTF-16 units
//
// The limits ("name ≤ 255", "url ≤ 4096", …) are those of the Node SDK and
// of the browser script, which measure strings with JavaScript's
// String.length, i.e. in UTF-16 code units. Counting the same way keeps
// parity: a value the browser considers within limits is accepted here, and
// vice versa. A character outside the Basic Multilingual Plane (most emoji)
// therefore counts 2, every other character 1; UTF16Len implements this.
// Counting units never exceeds counting runes, so a value within a limit in
// units also fits PocketBase's character limit of the same size.
//
// Limits on input ("≤ 255 in") are checked on the raw value, before
// cleaning, and reject the event. Limits on what is stored ("≤ 100 stored")
// are applied by truncation after cleaning. Unlike the Node SDK's,
// truncation never splits a surrogate pair or a UTF-8 sequence: a
// character that does not fit entirely is dropped, so the result may be one
// unit shorter than the limit, and it is always valid UTF-8 (see Truncate).
//
// # Referrers are dropped, not fatal
//
// A referrer that is an http(s) URL is kept as scheme://host[:port]/path:
// query, fragment and user info are removed because they routinely carry
// personal data (search terms, tokens, e-mail addresses) and are useless for
// referrer statistics. Any other referrer — a well-formed URL of another
// scheme such as the android-app://… values Chrome on Android sends, a
// javascript: URL, or unparseable text — is dropped (Payload.Referrer is
// "") and the event is kept. The Node SDK rejected the whole event for the
// former and stored the latter raw); losing a page view
// because of where the visitor came from helps nobody.
//
// # Errors
//
// Every rejection is a *FieldError naming the offending JSON field ("body"
// for the document as a whole) and matches ErrInvalid with errors.Is. The
// messages contain no payload text beyond a key name, so they are safe to
// return to the client.
package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Event types accepted in the payload's "type" field.
const (
	TypePageView = "pageView" // a page was viewed
	TypeCustom   = "custom"   // a named custom event, e.g. a button click
	TypeJSError  = "jsError"  // an uncaught JavaScript error on the page
)

// Limits, in UTF-16 code units unless stated otherwise. The *In limits
// reject a payload whose raw value is longer; the others are what Payload
// fields are truncated to.
const (
	MaxURLIn           = 4096  // url
	MaxPath            = 2048  // Payload.Path
	MaxNameIn          = 255   // custom event name, raw
	MaxName            = 100   // Payload.Name
	MaxReferrer        = 4096  // referrer, raw, and Payload.Referrer
	MaxLanguageIn      = 100   // language, raw
	MaxLanguage        = 35    // Payload.Language
	MaxCustomDataBytes = 8192  // customData, compact JSON in bytes
	MaxErrorMessageIn  = 1024  // errorMessage of a jsError, raw
	MaxErrorMessageAny = 2048  // errorMessage sent with any type, raw
	MaxErrorMessage    = 512   // Payload.ErrorMessage
	MaxStackTraceIn    = 16384 // stackTrace, raw
	MaxStackTrace      = 4096  // Payload.StackTrace
	MaxScreen          = 10000 // Payload.ScreenWidth/ScreenHeight
	MaxUTMKeys         = 16    // entries in Payload.UTM
	MaxUTMKey          = 64    // a Payload.UTM key
	MaxUTMValue        = 255   // a Payload.UTM value
	MaxUTMJSONBytes    = 16384 // Payload.UTM as json.Marshal writes it (HTML escaping on), in bytes
)

// maxReferrerOrigin bounds the scheme://host:port part of a referrer (a
// canonical host is at most 253 bytes), so that some path always fits.
const maxReferrerOrigin = 512

// ErrInvalid is matched (errors.Is) by every error Decode and CustomEvent
// return: the payload was malformed or broke a rule, and the event must be
// refused (HTTP 400).
var ErrInvalid = errors.New("invalid payload")

// FieldError is the error returned for a rejected payload. Field is the JSON
// field at fault ("body" when the document itself is not an acceptable JSON
// object) and Reason a short human-readable explanation. errors.Is(err,
// ErrInvalid) holds for every FieldError.
type FieldError struct {
	Field, Reason string
}

// Error returns "field: reason", e.g. "url: must be an absolute http(s) URL".
func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, reason string) error { return &FieldError{Field: field, Reason: reason} }

// Payload is a decoded, validated and sanitized browser event. Every string
// is valid UTF-8 and within the limit stated for it (UTF-16 units).
type Payload struct {
	// Type is TypePageView, TypeCustom, TypeJSError or TypeEngagement.
	Type string
	// Host is the canonical host of the page URL (domain.Host: lower case,
	// punycode, no trailing dot, IPs in canonical form), for domain checks.
	Host string
	// Path is the URL's path, percent-encoded as sent, without query or
	// fragment; "/" when the URL has no path. At most MaxPath units, cut
	// between %XX escapes.
	Path string
	// UTM holds the URL's query parameters whose names start with "utm_"
	// (case-sensitive; names kept as sent), first non-empty value of each,
	// decoded, stripped of control characters and truncated to MaxUTMValue.
	// At most MaxUTMKeys entries, names of at most MaxUTMKey units, and at
	// most MaxUTMJSONBytes once serialized; further parameters are ignored.
	// Nil when there are none.
	UTM map[string]string
	// Name is the cleaned custom event name (at most MaxName units, never
	// empty) for TypeCustom, and "" for the other types.
	Name string
	// Referrer is the referrer reduced to scheme://host[:port]/path (host
	// canonicalized, default port removed; no user info, query or
	// fragment), at most MaxReferrer units; an Android app's referrer
	// (android-app://com.google.android.gm, what Chrome on Android reports
	// for a link opened from an app) as android-app://<package>; "" when
	// absent, empty or any other kind of URL.
	Referrer string
	// ScreenWidth and ScreenHeight are the screen size floored and clamped
	// to [0, MaxScreen]; -1 when absent.
	ScreenWidth, ScreenHeight int
	// Language is the browser language, stripped of control characters,
	// trimmed and truncated to MaxLanguage units; "" when absent.
	Language string
	// CustomData is the customData object, numbers kept as json.Number,
	// nested values as map[string]any and []any. Nil when absent or empty.
	CustomData map[string]any
	// Duration is customData.duration when it is a JSON number (within
	// float64 range), else 0. A numeric string such as "15" does not count.
	Duration float64
	// ErrorMessage is the error message of a TypeJSError, stripped of
	// control characters other than TAB, LF and CR (not trimmed) and
	// truncated to MaxErrorMessage units; never empty for TypeJSError and
	// always "" for the other types.
	ErrorMessage string
	// StackTrace is the stack trace of a TypeJSError, cleaned like
	// ErrorMessage and truncated to MaxStackTrace units; "" when absent and
	// for the other types.
	StackTrace string
	// Revenue is the "revenue" object of a TypeCustom (see ParseRevenue);
	// the zero value when absent. Other types may not carry one.
	Revenue Revenue
	// OrderID is the "orderId" of a TypeCustom (see OrderID); "" when
	// absent. Other types may not carry one.
	OrderID string
	// PID is the page view's id the browser chose ([0-9a-z], MinPID to
	// MaxPID characters): optional on a TypePageView, required on a
	// TypeEngagement, "" for the other types.
	PID string
	// EngagedMs (0..MaxEngagedMs) and Scroll (0..MaxScroll percent) are
	// the engagement of a TypeEngagement so far; 0 for the other types.
	EngagedMs, Scroll int
}

// Decode parses body, the JSON document a browser posted, and validates it
// against the payload rules. The body must be a single JSON
// object; unknown fields are ignored and a JSON null counts as an absent
// field. A field of the wrong JSON type rejects the payload (for instance
// "screenWidth":"1920": a number is required), except "name", which is only
// looked at for custom events. On error the returned Payload is the zero
// value and the error is a *FieldError matching ErrInvalid.
func Decode(body []byte) (Payload, error) {
	m, err := decodeObject(body)
	if err != nil {
		return Payload{}, err
	}
	p := Payload{ScreenWidth: -1, ScreenHeight: -1}

	typ, _, err := stringField(m, "type")
	if err != nil {
		return Payload{}, err
	}
	switch typ {
	case TypePageView, TypeCustom, TypeJSError, TypeEngagement:
		p.Type = typ
	default:
		return Payload{}, fieldErr("type", `must be "pageView", "custom", "jsError" or "engagement"`)
	}

	if err := p.setURL(m); err != nil {
		return Payload{}, err
	}
	if err := p.engagement(m); err != nil {
		return Payload{}, err
	}

	if p.Type == TypeCustom {
		name, present, err := stringField(m, "name")
		if err != nil {
			return Payload{}, err
		}
		if !present {
			return Payload{}, fieldErr("name", "required for custom events")
		}
		if p.Name, err = eventName(name); err != nil {
			return Payload{}, err
		}
	}
	if err := p.setOrder(m); err != nil {
		return Payload{}, err
	}

	msg, present, err := stringField(m, "errorMessage")
	if err != nil {
		return Payload{}, err
	}
	if p.Type == TypeJSError {
		switch {
		case !present || msg == "":
			return Payload{}, fieldErr("errorMessage", "required for jsError events")
		case tooLong(msg, MaxErrorMessageIn):
			return Payload{}, fieldErr("errorMessage", fmt.Sprintf("longer than %d characters", MaxErrorMessageIn))
		}
		p.ErrorMessage = Truncate(StripControl(msg, true), MaxErrorMessage)
		if p.ErrorMessage == "" {
			return Payload{}, fieldErr("errorMessage", "empty after removing control characters")
		}
	} else if tooLong(msg, MaxErrorMessageAny) {
		return Payload{}, fieldErr("errorMessage", fmt.Sprintf("longer than %d characters", MaxErrorMessageAny))
	}

	ref, _, err := stringField(m, "referrer")
	if err != nil {
		return Payload{}, err
	}
	if tooLong(ref, MaxReferrer) {
		return Payload{}, fieldErr("referrer", fmt.Sprintf("longer than %d characters", MaxReferrer))
	}
	p.Referrer = cleanReferrer(ref)

	if p.ScreenWidth, err = screen(m, "screenWidth"); err != nil {
		return Payload{}, err
	}
	if p.ScreenHeight, err = screen(m, "screenHeight"); err != nil {
		return Payload{}, err
	}

	lang, _, err := stringField(m, "language")
	if err != nil {
		return Payload{}, err
	}
	if tooLong(lang, MaxLanguageIn) {
		return Payload{}, fieldErr("language", fmt.Sprintf("longer than %d characters", MaxLanguageIn))
	}
	p.Language = cleanLine(lang, MaxLanguage)

	if p.CustomData, err = customData(m); err != nil {
		return Payload{}, err
	}
	p.Duration = duration(p.CustomData)

	trace, _, err := stringField(m, "stackTrace")
	if err != nil {
		return Payload{}, err
	}
	if tooLong(trace, MaxStackTraceIn) {
		return Payload{}, fieldErr("stackTrace", fmt.Sprintf("longer than %d characters", MaxStackTraceIn))
	}
	if p.Type == TypeJSError {
		p.StackTrace = Truncate(StripControl(trace, true), MaxStackTrace)
	}
	return p, nil
}

// object is a decoded JSON object whose values are still raw JSON, so that
// each field can be checked for its exact JSON type: its members in
// document order (a repeated key: the last one counts, as with
// encoding/json).
type object []member

type member struct {
	key []byte // unescaped
	raw []byte // the value's JSON text
}

// decodeObject decodes body, which must be exactly one JSON object
// (optionally surrounded by white space). After json.Valid has checked
// the whole document it is split by hand: decoding it into a
// map[string]json.RawMessage cost half of Decode's time and a dozen
// allocations (FuzzSplitObject checks it against that decoding).
func decodeObject(body []byte) (object, error) {
	rest := bytes.TrimLeft(body, " \t\r\n")
	if len(rest) == 0 {
		return nil, fieldErr("body", "malformed JSON")
	}
	if !json.Valid(rest) {
		return nil, fieldErr("body", "malformed JSON")
	}
	if rest[0] != '{' {
		return nil, fieldErr("body", "must be a JSON object")
	}
	return splitObject(rest), nil
}

// splitObject splits data, a valid JSON document starting with '{', into
// its members.
func splitObject(data []byte) object {
	m := make(object, 0, 12)
	i := skipSpace(data, 1)
	if data[i] == '}' {
		return m
	}
	for {
		end := skipString(data, i)
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			var k string
			_ = json.Unmarshal(data[i:end], &k) // valid: checked by json.Valid
			key = []byte(k)
		}
		i = skipSpace(data, skipSpace(data, end)+1) // past ':'
		end = skipValue(data, i)
		m = append(m, member{key: key, raw: data[i:end]})
		i = skipSpace(data, end)
		if data[i] == '}' {
			return m
		}
		i = skipSpace(data, i+1) // past ','
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at i.
func skipString(data []byte, i int) int {
	for j := i + 1; ; j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// skipValue returns the index just past the value that starts at i.
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch data[j] {
			case '"':
				j = skipString(data, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i // number, true, false, null
	for j < len(data) && data[j] != ',' && data[j] != '}' && data[j] != ']' && data[j] != ' ' &&
		data[j] != '\t' && data[j] != '\r' && data[j] != '\n' {
		j++
	}
	return j
}

// field returns the raw value of key, or nil when it is absent or null.
func (m object) field(key string) json.RawMessage {
	for i := len(m) - 1; i >= 0; i-- {
		if string(m[i].key) == key {
			raw := m[i].raw
			if raw[0] == 'n' { // null is the only JSON value starting with n
				return nil
			}
			return raw
		}
	}
	return nil
}

// stringField returns the value of key when it is a JSON string. Absent and
// null yield ("", false, nil); any other JSON type is an error naming key.
func stringField(m object, key string) (s string, present bool, err error) {
	raw := m.field(key)
	if raw == nil {
		return "", false, nil
	}
	if raw[0] != '"' {
		return "", false, fieldErr(key, "must be a string, got "+rawKind(raw))
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true, nil // nothing to unescape or replace
	}
	if err := json.Unmarshal(raw, &s); err != nil { // unreachable: raw is a valid JSON string
		return "", false, fieldErr(key, "malformed string")
	}
	return s, true, nil
}

// customData decodes the customData field: a JSON object (numbers as
// json.Number) or absent; nil when absent or empty.
func customData(m object) (map[string]any, error) {
	raw := m.field("customData")
	if raw == nil {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, fieldErr("customData", "must be a JSON object, got "+rawKind(raw))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil { // unreachable: raw is a valid JSON object
		return nil, fieldErr("customData", "malformed JSON")
	}
	if err := checkData("customData", data); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, nil
	}
	return data, nil
}

// tooLong reports whether s is longer than max UTF-16 units.
func tooLong(s string, max int) bool {
	return len(s) > max && UTF16Len(s) > max // units ≤ bytes
}

// rawKind names the JSON type of a raw JSON value, for error messages.
func rawKind(raw json.RawMessage) string {
	switch raw[0] {
	case 'n':
		return "null"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "a number"
}

// setOrder reads revenue and orderId, which only custom events may carry
// (a page view is not a purchase).
func (p *Payload) setOrder(m object) (err error) {
	if p.Revenue, err = revenueField(m); err != nil {
		return err
	}
	id, present, err := stringField(m, "orderId")
	if err != nil {
		return err
	}
	if present {
		if p.OrderID, err = OrderID(id); err != nil {
			return err
		}
	}
	if p.Type != TypeCustom {
		switch {
		case p.Revenue != Revenue{}:
			return fieldErr("revenue", "only custom events may carry revenue")
		case present:
			return fieldErr("orderId", "only custom events may carry an order id")
		}
	}
	return nil
}

// screen reads a screen dimension: a JSON number, floored and clamped to
// [0, MaxScreen]; -1 when absent.
func screen(m object, key string) (int, error) {
	raw := m.field(key)
	if raw == nil {
		return -1, nil
	}
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, fieldErr(key, "must be a number, got "+rawKind(raw))
	}
	// The decoder only produces valid JSON numbers; out of range values
	// come back as ±Inf (or 0) with an ErrRange that clamping absorbs.
	f, _ := strconv.ParseFloat(string(raw), 64)
	f = math.Floor(f)
	switch {
	case f <= 0 || math.IsNaN(f):
		return 0, nil
	case f >= MaxScreen:
		return MaxScreen, nil
	}
	return int(f), nil
}
