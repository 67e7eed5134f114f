package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/skopos-go/skopos/schema"
)

// The three bodies the Skopos browser script sends (a page view, a custom
// event, a JS error), exactly as it sends them.
var referenceBodies = []string{
	`{"type":"pageView","name":"/pricing","url":"https://example.com/pricing?plan=pro","referrer":"https://news.ycombinator.com/","screenWidth":1536,"screenHeight":864,"language":"en-GB","customData":{}}`,
	`{"type":"custom","name":"cta_click","url":"https://example.com/","referrer":"","screenWidth":390,"screenHeight":844,"language":"pt-BR","customData":{"productId":"abc-123"}}`,
	`{"type":"jsError","name":"jsError","url":"https://example.com/app","referrer":"","screenWidth":1440,"screenHeight":900,"language":"en","errorMessage":"TypeError: x is undefined","stackTrace":"TypeError: x is undefined\n    at f (https://example.com/app.js:1:2)"}`,
}

func TestReferenceBodies(t *testing.T) {
	t.Parallel()
	want := []Payload{
		{Type: TypePageView, Host: "example.com", Path: "/pricing", Referrer: "https://news.ycombinator.com/",
			ScreenWidth: 1536, ScreenHeight: 864, Language: "en-GB"},
		{Type: TypeCustom, Host: "example.com", Path: "/", Name: "cta_click",
			ScreenWidth: 390, ScreenHeight: 844, Language: "pt-BR", CustomData: map[string]any{"productId": "abc-123"}},
		{Type: TypeJSError, Host: "example.com", Path: "/app", ScreenWidth: 1440, ScreenHeight: 900, Language: "en",
			ErrorMessage: "TypeError: x is undefined", StackTrace: "TypeError: x is undefined\n    at f (https://example.com/app.js:1:2)"},
	}
	for i, b := range referenceBodies {
		got, err := Decode([]byte(b))
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("body %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

// absent removes a key from the base body in build.
type absent struct{}

// build returns the JSON of a minimal valid page view with the given fields
// replaced (or removed, with absent{}).
func build(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	m := map[string]any{"type": "pageView", "url": "https://example.com/"}
	for k, v := range fields {
		if _, ok := v.(absent); ok {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type fields = map[string]any

func rep(s string, n int) string { return strings.Repeat(s, n) }

// A valid custom / jsError event.
func custom(f fields) fields { return with(fields{"type": TypeCustom, "name": "signup"}, f) }
func jsErr(f fields) fields  { return with(fields{"type": TypeJSError, "errorMessage": "boom"}, f) }
func with(a, b fields) fields {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// rawNumber lets a test put an arbitrary JSON number literal in a body.
type rawNumber string

func (n rawNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func TestDecode(t *testing.T) {
	t.Parallel()
	const origin = "https://example.com/" // 20 units
	// customData {"k":"…"} serializes to 8 bytes plus the value.
	data := func(valueLen int) map[string]any { return map[string]any{"k": rep("x", valueLen)} }

	tests := []struct {
		name    string
		body    []byte
		wantErr string // field of the expected FieldError; "" for success
		check   func(t *testing.T, p Payload)
	}{
		// url
		{name: "url 4096 units", body: build(t, fields{"url": origin + rep("a", 4076)}),
			check: func(t *testing.T, p Payload) { eq(t, p.Path, "/"+rep("a", MaxPath-1)) }},
		{name: "url 4097 units", body: build(t, fields{"url": origin + rep("a", 4077)}), wantErr: "url"},
		{name: "url 4096 units with emoji (8172 bytes)", body: build(t, fields{"url": origin + rep("😀", 2038)}),
			check: func(t *testing.T, p Payload) {
				// each emoji is %F0%9F%98%80 once escaped; the cut keeps whole characters
				eq(t, p.Path, "/"+rep("%F0%9F%98%80", 170))
			}},
		{name: "url 4097 units with emoji", body: build(t, fields{"url": origin + rep("😀", 2038) + "a"}), wantErr: "url"},
		{name: "url 4097 units ending in half an emoji budget", body: build(t, fields{"url": origin + rep("a", 4075) + "😀"}), wantErr: "url"},
		{name: "url missing", body: build(t, fields{"url": absent{}}), wantErr: "url"},
		{name: "url null", body: build(t, fields{"url": nil}), wantErr: "url"},
		{name: "url empty", body: build(t, fields{"url": ""}), wantErr: "url"},
		{name: "url number", body: []byte(`{"type":"pageView","url":5}`), wantErr: "url"},
		{name: "url relative", body: build(t, fields{"url": "/pricing"}), wantErr: "url"},
		{name: "url ftp", body: build(t, fields{"url": "ftp://example.com/"}), wantErr: "url"},
		{name: "url javascript", body: build(t, fields{"url": "javascript:alert(1)"}), wantErr: "url"},
		{name: "url opaque", body: build(t, fields{"url": "http:example.com"}), wantErr: "url"},
		{name: "url no host", body: build(t, fields{"url": "https:///path"}), wantErr: "url"},
		{name: "url space in host", body: build(t, fields{"url": "https://exa mple.com/"}), wantErr: "url"},
		{name: "url escaped space in host", body: build(t, fields{"url": "https://exa%20mple.com/"}), wantErr: "url"},
		{name: "url bad port", body: build(t, fields{"url": "https://example.com:99999/"}), wantErr: "url"},
		{name: "url leading space", body: build(t, fields{"url": " https://example.com/"}), wantErr: "url"},
		{name: "url control char", body: build(t, fields{"url": "https://example.com/\x00"}), wantErr: "url"},
		{name: "url host canonicalized, query and fragment stripped, utm extracted",
			body: build(t, fields{"url": "HTTPS://WWW.Bücher.DE.:8443/a/b%2Fc?utm_source=news&x=1&utm_medium=e%2Dmail&utm_source=second#frag?utm_x=1"}),
			check: func(t *testing.T, p Payload) {
				eq(t, p.Host, "www.xn--bcher-kva.de")
				eq(t, p.Path, "/a/b%2Fc")
				eqMap(t, p.UTM, map[string]string{"utm_source": "news", "utm_medium": "e-mail"})
			}},
		{name: "url without path", body: build(t, fields{"url": "http://example.com?utm_campaign=spring+sale"}),
			check: func(t *testing.T, p Payload) {
				eq(t, p.Path, "/")
				eqMap(t, p.UTM, map[string]string{"utm_campaign": "spring sale"})
			}},
		{name: "url with userinfo and IPv6 host", body: build(t, fields{"url": "http://u:p@[::1]:8080/x"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Host, "::1"); eq(t, p.Path, "/x") }},
		{name: "no utm", body: build(t, fields{"url": "https://example.com/?a=1"}),
			check: func(t *testing.T, p Payload) {
				if p.UTM != nil {
					t.Errorf("UTM = %v, want nil", p.UTM)
				}
			}},
		{name: "path truncated at 2048", body: build(t, fields{"url": origin + rep("a", 3000)}),
			check: func(t *testing.T, p Payload) { eq(t, p.Path, "/"+rep("a", 2047)) }},
		{name: "path cut before an escape (after %)", body: build(t, fields{"url": origin + rep("a", 2046) + "%C3%A9"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Path, "/"+rep("a", 2046)) }},
		{name: "path cut before an escape (inside)", body: build(t, fields{"url": origin + rep("a", 2045) + "%C3%A9"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Path, "/"+rep("a", 2045)) }},
		{name: "utm value 255 kept", body: build(t, fields{"url": origin + "?utm_term=" + rep("v", 255)}),
			check: func(t *testing.T, p Payload) { eq(t, p.UTM["utm_term"], rep("v", 255)) }},
		{name: "utm value 256 truncated", body: build(t, fields{"url": origin + "?utm_term=" + rep("v", 256)}),
			check: func(t *testing.T, p Payload) { eq(t, p.UTM["utm_term"], rep("v", 255)) }},
		{name: "utm value truncated inside a surrogate pair", body: build(t, fields{"url": origin + "?utm_term=" + rep("v", 254) + "%F0%9F%98%80"}),
			check: func(t *testing.T, p Payload) { eq(t, p.UTM["utm_term"], rep("v", 254)) }},
		{name: "utm value cleaned", body: build(t, fields{"url": origin + "?utm_source=a%00b%C2%85c%FF&utm_medium=%01"}),
			check: func(t *testing.T, p Payload) {
				eqMap(t, p.UTM, map[string]string{"utm_source": "abc\uFFFD"})
			}},
		{name: "utm key 64 kept, 65 ignored, bad escape ignored", body: build(t, fields{"url": origin + "?utm_" + rep("k", 60) + "=a&utm_" + rep("k", 61) + "=b&utm_bad=%zz&UTM_SOURCE=c"}),
			check: func(t *testing.T, p Payload) { eqMap(t, p.UTM, map[string]string{"utm_" + rep("k", 60): "a"}) }},
		{name: "at most 16 utm keys", body: build(t, fields{"url": origin + "?" + manyUTM(20, "v")}),
			check: func(t *testing.T, p Payload) {
				if len(p.UTM) != MaxUTMKeys || p.UTM["utm_0"] == "" || p.UTM["utm_15"] == "" {
					t.Errorf("UTM = %v, want utm_0 … utm_15", p.UTM)
				}
			}},
		{name: "utm serialized size bounded", body: build(t, fields{"url": origin + "?" + manyUTM(15, rep("<", 255))}), // 6 bytes each in PocketBase's JSON
			check: func(t *testing.T, p Payload) {
				b, _ := json.Marshal(p.UTM) // HTML escaping on, as PocketBase stores it
				if len(b) > MaxUTMJSONBytes || len(p.UTM) < 8 {
					t.Errorf("UTM: %d keys, %d bytes", len(p.UTM), len(b))
				}
			}},

		// type
		{name: "type missing", body: build(t, fields{"type": absent{}}), wantErr: "type"},
		{name: "type wrong case", body: build(t, fields{"type": "PageView"}), wantErr: "type"},
		{name: "type click", body: build(t, fields{"type": "click"}), wantErr: "type"},
		{name: "type number", body: build(t, fields{"type": 1}), wantErr: "type"},

		// name
		{name: "name 255 in, cleaned to 100", body: build(t, custom(fields{"name": rep("n", 255)})),
			check: func(t *testing.T, p Payload) { eq(t, p.Name, rep("n", 100)) }},
		{name: "name 256 in", body: build(t, custom(fields{"name": rep("n", 256)})), wantErr: "name"},
		{name: "name 255 units with emoji", body: build(t, custom(fields{"name": rep("😀", 127) + "a"})),
			check: func(t *testing.T, p Payload) { eq(t, p.Name, rep("😀", 50)) }},
		{name: "name 256 units with emoji", body: build(t, custom(fields{"name": rep("😀", 128)})), wantErr: "name"},
		{name: "name cut inside a surrogate pair", body: build(t, custom(fields{"name": rep("n", 99) + "😀"})),
			check: func(t *testing.T, p Payload) { eq(t, p.Name, rep("n", 99)) }},
		{name: "name cleaned", body: build(t, custom(fields{"name": " \u00a0sign\x00up\u0085\t\ufeff"})),
			check: func(t *testing.T, p Payload) { eq(t, p.Name, "signup") }},
		{name: "name no trailing space after cut", body: build(t, custom(fields{"name": rep("n", 99) + " x"})),
			check: func(t *testing.T, p Payload) { eq(t, p.Name, rep("n", 99)) }},
		{name: "name of 255 control chars", body: build(t, custom(fields{"name": rep("\x01", 255)})), wantErr: "name"},
		{name: "name only spaces", body: build(t, custom(fields{"name": "   "})), wantErr: "name"},
		{name: "name empty", body: build(t, custom(fields{"name": ""})), wantErr: "name"},
		{name: "name missing for custom", body: build(t, custom(fields{"name": absent{}})), wantErr: "name"},
		{name: "name null for custom", body: build(t, custom(fields{"name": nil})), wantErr: "name"},
		{name: "name number for custom", body: build(t, custom(fields{"name": 7})), wantErr: "name"},
		{name: "name ignored for pageView", body: build(t, fields{"name": 7}),
			check: func(t *testing.T, p Payload) { eq(t, p.Name, "") }},
		{name: "name ignored for jsError", body: build(t, jsErr(fields{"name": rep("n", 300)})),
			check: func(t *testing.T, p Payload) { eq(t, p.Name, "") }},

		// referrer
		{name: "referrer 4096", body: build(t, fields{"referrer": "https://ref.example/" + rep("r", 4076)}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "https://ref.example/"+rep("r", 4076)) }},
		{name: "referrer 4097", body: build(t, fields{"referrer": "https://ref.example/" + rep("r", 4077)}), wantErr: "referrer"},
		{name: "referrer 4096 units with emoji", body: build(t, fields{"referrer": "https://ref.example/" + rep("😀", 2038)}),
			check: func(t *testing.T, p Payload) {
				eq(t, p.Referrer, "https://ref.example/"+rep("%F0%9F%98%80", 339))
			}},
		{name: "referrer 4097 units with emoji", body: build(t, fields{"referrer": "https://ref.example/" + rep("😀", 2038) + "r"}), wantErr: "referrer"},
		{name: "referrer query, fragment, userinfo and default port stripped",
			body:  build(t, fields{"referrer": "https://user:pw@www.Google.com:443/search?q=secret#top"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "https://www.google.com/search") }},
		{name: "referrer other port kept, empty path", body: build(t, fields{"referrer": "http://[::FFFF:127.0.0.1]:8080?x"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "http://127.0.0.1:8080/") }},
		{name: "referrer path with @ and encoded characters", body: build(t, fields{"referrer": "https://x.com/@user/caf%C3%A9 b"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "https://x.com/@user/caf%C3%A9%20b") }},
		{name: "referrer empty", body: build(t, fields{"referrer": ""}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "") }},
		{name: "referrer number", body: build(t, fields{"referrer": 5}), wantErr: "referrer"},
		{name: "referrer android-app kept as its package", body: build(t, fields{"referrer": "Android-App://com.Google.android.gm/x?y"}),
			check: func(t *testing.T, p Payload) {
				eq(t, p.Referrer, "android-app://com.google.android.gm")
				eq(t, p.Path, "/")
			}},
		{name: "referrer android-app package of 255", body: build(t, fields{"referrer": "android-app://" + rep("a", 255)}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "android-app://"+rep("a", 255)) }},
		{name: "referrer android-app package of 256 dropped", body: build(t, fields{"referrer": "android-app://" + rep("a", 256)}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "") }},
		{name: "referrer android-app bad package dropped", body: build(t, fields{"referrer": "android-app://com.x%2F<b>/"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "") }},
		{name: "referrer android-app empty dropped", body: build(t, fields{"referrer": "android-app:///x"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "") }},
		{name: "referrer javascript dropped", body: build(t, fields{"referrer": "javascript:alert(1)"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "") }},
		{name: "referrer garbage dropped", body: build(t, fields{"referrer": "%%% not a url \x00"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "") }},
		{name: "referrer protocol-relative dropped", body: build(t, fields{"referrer": "//example.org/x"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "") }},
		{name: "referrer bad host dropped", body: build(t, fields{"referrer": "https://exa_mple..com/"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Referrer, "") }},

		// screen
		{name: "screen -1", body: build(t, fields{"screenWidth": -1, "screenHeight": -0.5}),
			check: func(t *testing.T, p Payload) { eqInt(t, p.ScreenWidth, 0); eqInt(t, p.ScreenHeight, 0) }},
		{name: "screen 0", body: build(t, fields{"screenWidth": 0, "screenHeight": 0}),
			check: func(t *testing.T, p Payload) { eqInt(t, p.ScreenWidth, 0); eqInt(t, p.ScreenHeight, 0) }},
		{name: "screen 10000 and 10001", body: build(t, fields{"screenWidth": 10000, "screenHeight": 10001}),
			check: func(t *testing.T, p Payload) { eqInt(t, p.ScreenWidth, 10000); eqInt(t, p.ScreenHeight, 10000) }},
		{name: "screen 1e308 and -1e308", body: build(t, fields{"screenWidth": rawNumber("1e308"), "screenHeight": rawNumber("-1e308")}),
			check: func(t *testing.T, p Payload) { eqInt(t, p.ScreenWidth, 10000); eqInt(t, p.ScreenHeight, 0) }},
		{name: "screen beyond float64", body: build(t, fields{"screenWidth": rawNumber("1e400"), "screenHeight": rawNumber("-1e400")}),
			check: func(t *testing.T, p Payload) { eqInt(t, p.ScreenWidth, 10000); eqInt(t, p.ScreenHeight, 0) }},
		{name: "screen floored", body: build(t, fields{"screenWidth": 1.9, "screenHeight": rawNumber("1920.999e0")}),
			check: func(t *testing.T, p Payload) { eqInt(t, p.ScreenWidth, 1); eqInt(t, p.ScreenHeight, 1920) }},
		{name: "screen absent and null", body: build(t, fields{"screenHeight": nil}),
			check: func(t *testing.T, p Payload) { eqInt(t, p.ScreenWidth, -1); eqInt(t, p.ScreenHeight, -1) }},
		{name: "screenWidth string", body: []byte(`{"type":"pageView","url":"https://example.com/","screenWidth":"1920"}`), wantErr: "screenWidth"},
		{name: "screenHeight bool", body: build(t, fields{"screenHeight": true}), wantErr: "screenHeight"},

		// language
		{name: "language 100 in, 35 stored", body: build(t, fields{"language": rep("l", 100)}),
			check: func(t *testing.T, p Payload) { eq(t, p.Language, rep("l", 35)) }},
		{name: "language 101 in", body: build(t, fields{"language": rep("l", 101)}), wantErr: "language"},
		{name: "language cleaned", body: build(t, fields{"language": "  en-\x07US\u009b "}),
			check: func(t *testing.T, p Payload) { eq(t, p.Language, "en-US") }},
		{name: "language cut inside a surrogate pair", body: build(t, fields{"language": rep("l", 34) + "😀"}),
			check: func(t *testing.T, p Payload) { eq(t, p.Language, rep("l", 34)) }},
		{name: "language array", body: build(t, fields{"language": []string{"en"}}), wantErr: "language"},

		// customData
		{name: "customData 8192 bytes", body: build(t, fields{"customData": data(8184)}),
			check: func(t *testing.T, p Payload) { eqInt(t, len(p.CustomData["k"].(string)), 8184) }},
		{name: "customData 8193 bytes", body: build(t, fields{"customData": data(8185)}), wantErr: "customData"},
		{name: "customData 8192 bytes with escapes", body: build(t, fields{"customData": map[string]any{"k": rep("<\n", 2728)}}),
			check: func(t *testing.T, p Payload) { eqInt(t, len(p.CustomData), 1) }}, // 8 + 3*2728 = 8192; "<" is not escaped
		{name: "customData 8193 bytes with escapes", body: build(t, fields{"customData": map[string]any{"k": rep("<\n", 2728) + "x"}}), wantErr: "customData"},
		{name: "customData measured re-serialized, not as sent", body: []byte(`{"type":"pageView","url":"https://example.com/","customData":{"k":"` + rep(`\u0041`, 8184) + `"}}`),
			check: func(t *testing.T, p Payload) { eq(t, p.CustomData["k"].(string), rep("A", 8184)) }},
		{name: "customData numbers kept as json.Number, nested values", body: []byte(`{"type":"custom","name":"x","url":"https://example.com/","customData":{"duration":12.5,"big":12345678901234567890,"a":[1,{"b":null}]}}`),
			check: func(t *testing.T, p Payload) {
				want := map[string]any{"duration": json.Number("12.5"), "big": json.Number("12345678901234567890"),
					"a": []any{json.Number("1"), map[string]any{"b": nil}}}
				if !reflect.DeepEqual(p.CustomData, want) {
					t.Errorf("CustomData = %#v", p.CustomData)
				}
				if p.Duration != 12.5 {
					t.Errorf("Duration = %v", p.Duration)
				}
			}},
		{name: "customData duration string does not count", body: build(t, fields{"customData": map[string]any{"duration": "15"}}),
			check: func(t *testing.T, p Payload) {
				if p.Duration != 0 || p.CustomData["duration"] != "15" {
					t.Errorf("Duration = %v, CustomData = %v", p.Duration, p.CustomData)
				}
			}},
		{name: "customData duration beyond float64", body: build(t, fields{"customData": map[string]any{"duration": rawNumber("1e999")}}),
			check: func(t *testing.T, p Payload) { eqFloat(t, p.Duration, 0) }},
		{name: "customData empty", body: build(t, fields{"customData": map[string]any{}}),
			check: func(t *testing.T, p Payload) {
				if p.CustomData != nil {
					t.Errorf("CustomData = %v, want nil", p.CustomData)
				}
			}},
		{name: "customData null", body: build(t, fields{"customData": nil}),
			check: func(t *testing.T, p Payload) {
				if p.CustomData != nil {
					t.Errorf("CustomData = %v, want nil", p.CustomData)
				}
			}},
		{name: "customData array", body: []byte(`{"type":"pageView","url":"https://example.com/","customData":[]}`), wantErr: "customData"},
		{name: "customData string", body: build(t, fields{"customData": "{}"}), wantErr: "customData"},
		{name: "customData number", body: build(t, fields{"customData": 1}), wantErr: "customData"},
		{name: "customData __proto__", body: []byte(`{"type":"pageView","url":"https://example.com/","customData":{"__proto__":{"admin":true}}}`), wantErr: "customData"},
		{name: "customData nested constructor", body: build(t, fields{"customData": map[string]any{"a": map[string]any{"b": map[string]any{"Constructor": 1}}}}), wantErr: "customData"},
		{name: "customData key in array element", body: build(t, fields{"customData": map[string]any{"a": []any{1, []any{map[string]any{"PROTOTYPE": 1}}}}}), wantErr: "customData"},
		{name: "customData dangerous word as value or part of key is fine", body: build(t, fields{"customData": map[string]any{"proto": "__proto__", "constructors": []any{"prototype"}}}),
			check: func(t *testing.T, p Payload) { eqInt(t, len(p.CustomData), 2) }},

		// errorMessage
		{name: "jsError errorMessage 1024 in, 512 stored", body: build(t, jsErr(fields{"errorMessage": rep("e", 1024)})),
			check: func(t *testing.T, p Payload) { eq(t, p.ErrorMessage, rep("e", 512)) }},
		{name: "jsError errorMessage 1025 in", body: build(t, jsErr(fields{"errorMessage": rep("e", 1025)})), wantErr: "errorMessage"},
		{name: "jsError errorMessage cut inside a surrogate pair", body: build(t, jsErr(fields{"errorMessage": rep("e", 511) + "😀"})),
			check: func(t *testing.T, p Payload) { eq(t, p.ErrorMessage, rep("e", 511)) }},
		{name: "jsError errorMessage keeps tab/newline, not trimmed", body: build(t, jsErr(fields{"errorMessage": " a\tb\r\nc\x00\u0080 "})),
			check: func(t *testing.T, p Payload) { eq(t, p.ErrorMessage, " a\tb\r\nc ") }},
		{name: "jsError errorMessage missing", body: build(t, jsErr(fields{"errorMessage": absent{}})), wantErr: "errorMessage"},
		{name: "jsError errorMessage null", body: build(t, jsErr(fields{"errorMessage": nil})), wantErr: "errorMessage"},
		{name: "jsError errorMessage empty", body: build(t, jsErr(fields{"errorMessage": ""})), wantErr: "errorMessage"},
		{name: "jsError errorMessage only control chars", body: build(t, jsErr(fields{"errorMessage": "\x00\x7f"})), wantErr: "errorMessage"},
		{name: "jsError errorMessage number", body: build(t, jsErr(fields{"errorMessage": 1})), wantErr: "errorMessage"},
		{name: "pageView errorMessage 2048 ignored", body: build(t, fields{"errorMessage": rep("e", 2048)}),
			check: func(t *testing.T, p Payload) { eq(t, p.ErrorMessage, "") }},
		{name: "pageView errorMessage 2049", body: build(t, fields{"errorMessage": rep("e", 2049)}), wantErr: "errorMessage"},
		{name: "custom errorMessage 2049", body: build(t, custom(fields{"errorMessage": rep("e", 2049)})), wantErr: "errorMessage"},
		{name: "pageView errorMessage number", body: build(t, fields{"errorMessage": 1}), wantErr: "errorMessage"},

		// stackTrace
		{name: "stackTrace 16384 in, 4096 stored", body: build(t, jsErr(fields{"stackTrace": rep("s", 16384)})),
			check: func(t *testing.T, p Payload) { eq(t, p.StackTrace, rep("s", 4096)) }},
		{name: "stackTrace 16385 in", body: build(t, jsErr(fields{"stackTrace": rep("s", 16385)})), wantErr: "stackTrace"},
		{name: "stackTrace 16385 in on pageView", body: build(t, fields{"stackTrace": rep("s", 16385)}), wantErr: "stackTrace"},
		{name: "stackTrace cut inside a surrogate pair", body: build(t, jsErr(fields{"stackTrace": rep("s", 4095) + "😀"})),
			check: func(t *testing.T, p Payload) { eq(t, p.StackTrace, rep("s", 4095)) }},
		{name: "stackTrace cleaned", body: build(t, jsErr(fields{"stackTrace": "at f\x1b[0m\n\tat g\u009c"})),
			check: func(t *testing.T, p Payload) { eq(t, p.StackTrace, "at f[0m\n\tat g") }},
		{name: "stackTrace object", body: build(t, jsErr(fields{"stackTrace": map[string]any{}})), wantErr: "stackTrace"},

		// body
		{name: "body null", body: []byte(`null`), wantErr: "body"},
		{name: "body array", body: []byte(`[{"type":"pageView","url":"https://example.com/"}]`), wantErr: "body"},
		{name: "body number", body: []byte(` 5 `), wantErr: "body"},
		{name: "body string", body: []byte(`"{}"`), wantErr: "body"},
		{name: "body empty", body: []byte(``), wantErr: "body"},
		{name: "body blank", body: []byte(" \n\t"), wantErr: "body"},
		{name: "body truncated", body: []byte(`{"type":"pageView","url":"https://exa`), wantErr: "body"},
		{name: "body trailing garbage", body: []byte(`{"type":"pageView","url":"https://example.com/"} x`), wantErr: "body"},
		{name: "body two objects", body: []byte(`{"type":"pageView","url":"https://example.com/"}{}`), wantErr: "body"},
		{name: "body surrounding white space", body: []byte("\r\n {\"type\":\"pageView\",\"url\":\"https://example.com/\"} \n"),
			check: func(t *testing.T, p Payload) { eq(t, p.Type, TypePageView) }},
		{name: "body single quotes", body: []byte(`{'type':'pageView'}`), wantErr: "body"},
		{name: "body too deep", body: []byte(`{"type":"pageView","url":"https://example.com/","x":` + rep("[", 20000) + rep("]", 20000) + `}`), wantErr: "body"},
		{name: "unknown fields ignored, keys are case-sensitive", body: []byte(`{"type":"pageView","url":"https://example.com/","Type":"nope","extra":{"__proto__":1},"screenwidth":"x"}`),
			check: func(t *testing.T, p Payload) { eq(t, p.Type, TypePageView); eqInt(t, p.ScreenWidth, -1) }},
		{name: "duplicate key: last wins", body: []byte(`{"type":"nope","type":"pageView","url":"https://example.com/"}`),
			check: func(t *testing.T, p Payload) { eq(t, p.Type, TypePageView) }},
		{name: "invalid UTF-8 replaced", body: []byte("{\"type\":\"custom\",\"name\":\"a\xffb\",\"url\":\"https://example.com/\"}"),
			check: func(t *testing.T, p Payload) { eq(t, p.Name, "a\uFFFDb") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Decode(tt.body)
			if tt.wantErr != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantErr || !errors.Is(err, ErrInvalid) {
					t.Fatalf("Decode error = %v, want a FieldError for %q", err, tt.wantErr)
				}
				if !reflect.DeepEqual(p, Payload{}) {
					t.Errorf("Payload = %+v on error, want zero", p)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			checkInvariants(t, p)
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

func manyUTM(n int, value string) string {
	var parts []string
	for i := range n {
		parts = append(parts, fmt.Sprintf("utm_%d=%s", i, value))
	}
	return strings.Join(parts, "&")
}

func TestFieldError(t *testing.T) {
	t.Parallel()
	_, err := Decode([]byte(`{"type":"pageView","url":"ftp://example.com/"}`))
	if got, want := err.Error(), "url: must be an absolute http(s) URL"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Error("errors.Is(err, ErrInvalid) = false")
	}
	_, err = Decode([]byte(`{"type":"pageView","url":"https://example.com/","screenWidth":"1920"}`))
	if got, want := err.Error(), "screenWidth: must be a number, got a string"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = Decode([]byte(`{`))
	if got, want := err.Error(), "body: malformed JSON"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestCustomEvent(t *testing.T) {
	t.Parallel()
	type point struct {
		X int `json:"x"`
	}
	tests := []struct {
		name     string
		evName   string
		data     map[string]any
		wantErr  string
		wantName string
		wantData map[string]any
	}{
		{name: "plain", evName: "  signup\x00 ", data: map[string]any{"plan": "pro", "n": 3, "p": point{2}, "l": []string{"a"}},
			wantName: "signup", wantData: map[string]any{"plan": "pro", "n": json.Number("3"), "p": map[string]any{"x": json.Number("2")}, "l": []any{"a"}}},
		{name: "nil data", evName: "x", wantName: "x"},
		{name: "empty data", evName: "x", data: map[string]any{}, wantName: "x"},
		{name: "name 255 cut to 100", evName: rep("n", 255), wantName: rep("n", 100)},
		{name: "name 256", evName: rep("n", 256), wantErr: "name"},
		{name: "name 256 units of emoji", evName: rep("😀", 128), wantErr: "name"},
		{name: "name empty", evName: "", wantErr: "name"},
		{name: "name control only", evName: "\x01\u0090", wantErr: "name"},
		{name: "data 8192", evName: "x", data: map[string]any{"k": rep("x", 8184)}, wantName: "x", wantData: map[string]any{"k": rep("x", 8184)}},
		{name: "data 8193", evName: "x", data: map[string]any{"k": rep("x", 8185)}, wantErr: "data"},
		{name: "data with HTML measured unescaped", evName: "x", data: map[string]any{"k": rep("<", 8184)}, wantName: "x", wantData: map[string]any{"k": rep("<", 8184)}},
		{name: "data dangerous key deep", evName: "x", data: map[string]any{"a": []any{map[string]any{"__PROTO__": 1}}}, wantErr: "data"},
		{name: "data dangerous key via struct tag", evName: "x", data: map[string]any{"a": struct {
			C int `json:"constructor"`
		}{}}, wantErr: "data"},
		{name: "data NaN", evName: "x", data: map[string]any{"a": math.NaN()}, wantErr: "data"},
		{name: "data channel", evName: "x", data: map[string]any{"a": make(chan int)}, wantErr: "data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, data, err := CustomEvent(tt.evName, tt.data)
			if tt.wantErr != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantErr || !errors.Is(err, ErrInvalid) {
					t.Fatalf("CustomEvent error = %v, want a FieldError for %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			eq(t, name, tt.wantName)
			if !reflect.DeepEqual(data, tt.wantData) {
				t.Errorf("data = %#v, want %#v", data, tt.wantData)
			}
		})
	}
}

func TestCustomEventDeepCopy(t *testing.T) {
	t.Parallel()
	inner := map[string]any{"b": "1"}
	in := map[string]any{"a": inner, "l": []any{"x"}}
	_, out, err := CustomEvent("x", in)
	if err != nil {
		t.Fatal(err)
	}
	inner["b"] = "changed"
	in["l"].([]any)[0] = "changed"
	in["new"] = true
	want := map[string]any{"a": map[string]any{"b": "1"}, "l": []any{"x"}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("copy changed with the input: %#v", out)
	}
}

// The stored limits must fit the columns of the schema.
func TestLimitsFitSchema(t *testing.T) {
	t.Parallel()
	checks := []struct {
		name          string
		ours, columns int
	}{
		{"path", MaxPath, schema.MaxPath},
		{"referrer", MaxReferrer, schema.MaxReferrer},
		{"eventName", MaxName, schema.MaxEventName},
		{"errorMessage", MaxErrorMessage, schema.MaxErrorMessage},
		{"stackTrace", MaxStackTrace, schema.MaxStackTrace},
		{"language", MaxLanguage, schema.MaxLanguage},
		{"eventData (HTML escaping grows ≤ 6x)", 6 * MaxCustomDataBytes, schema.MaxEventDataStored},
		{"utm", MaxUTMJSONBytes, schema.MaxUTMStored},
	}
	for _, c := range checks {
		if c.ours > c.columns {
			t.Errorf("%s: validate stores up to %d, the column holds %d", c.name, c.ours, c.columns)
		}
	}
}

// checkInvariants asserts what every successfully decoded Payload promises.
func checkInvariants(t testing.TB, p Payload) {
	t.Helper()
	switch p.Type {
	case TypePageView, TypeCustom, TypeJSError, TypeEngagement:
	default:
		t.Errorf("Type = %q", p.Type)
	}
	if p.PID != "" && !PID(p.PID) || p.PID == "" && p.Type == TypeEngagement ||
		p.EngagedMs < 0 || p.EngagedMs > MaxEngagedMs || p.Scroll < 0 || p.Scroll > MaxScroll ||
		p.Type != TypeEngagement && (p.EngagedMs != 0 || p.Scroll != 0) {
		t.Errorf("%s: pid %q, engagedMs %d, scroll %d", p.Type, p.PID, p.EngagedMs, p.Scroll)
	}
	strs := []struct {
		name string
		s    string
		max  int
	}{
		{"Host", p.Host, 253},
		{"Path", p.Path, MaxPath},
		{"Name", p.Name, MaxName},
		{"Referrer", p.Referrer, MaxReferrer},
		{"Language", p.Language, MaxLanguage},
		{"ErrorMessage", p.ErrorMessage, MaxErrorMessage},
		{"StackTrace", p.StackTrace, MaxStackTrace},
	}
	for k, v := range p.UTM {
		strs = append(strs, struct {
			name string
			s    string
			max  int
		}{"UTM key", k, MaxUTMKey}, struct {
			name string
			s    string
			max  int
		}{"UTM value", v, MaxUTMValue})
	}
	for _, s := range strs {
		if UTF16Len(s.s) > s.max {
			t.Errorf("%s: %d units > %d", s.name, UTF16Len(s.s), s.max)
		}
		if !utf8.ValidString(s.s) {
			t.Errorf("%s = %q: invalid UTF-8", s.name, s.s)
		}
	}
	if p.Host == "" || !strings.HasPrefix(p.Path, "/") {
		t.Errorf("Host %q, Path %q", p.Host, p.Path)
	}
	if (p.Type == TypeCustom) != (p.Name != "") || (p.Type == TypeJSError) != (p.ErrorMessage != "") {
		t.Errorf("Type %q with Name %q, ErrorMessage %q", p.Type, p.Name, p.ErrorMessage)
	}
	if p.Referrer != "" && !strings.HasPrefix(p.Referrer, "http://") && !strings.HasPrefix(p.Referrer, "https://") &&
		!(strings.HasPrefix(p.Referrer, "android-app://") && !strings.ContainsAny(p.Referrer[14:], "/:%<>\"\x00")) {
		t.Errorf("Referrer = %q", p.Referrer)
	}
	if _, rest, _ := strings.Cut(p.Referrer, "://"); strings.ContainsAny(p.Referrer, "?#") || strings.Contains(strings.SplitN(rest, "/", 2)[0], "@") {
		t.Errorf("query, fragment or user info left in Referrer %q", p.Referrer)
	}
	if strings.ContainsAny(p.Path, "?#") {
		t.Errorf("query or fragment left in Path %q", p.Path)
	}
	for _, n := range []int{p.ScreenWidth, p.ScreenHeight} {
		if n < -1 || n > MaxScreen {
			t.Errorf("screen %d out of range", n)
		}
	}
	if len(p.UTM) > MaxUTMKeys || (p.UTM != nil && len(p.UTM) == 0) {
		t.Errorf("UTM has %d keys", len(p.UTM))
	}
	if b, _ := json.Marshal(p.UTM); len(b) > MaxUTMJSONBytes {
		t.Errorf("UTM serializes to %d bytes", len(b))
	}
	if p.CustomData != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p.CustomData); err != nil {
			t.Errorf("CustomData does not re-encode: %v", err)
		} else if n := buf.Len() - 1; n > MaxCustomDataBytes || n != sizeOf(p.CustomData) {
			t.Errorf("CustomData: encoded %d bytes, walker says %d", n, sizeOf(p.CustomData))
		}
		if len(p.CustomData) == 0 {
			t.Error("CustomData empty but not nil")
		}
	}
	if math.IsNaN(p.Duration) || math.IsInf(p.Duration, 0) {
		t.Errorf("Duration = %v", p.Duration)
	}
	if r := p.Revenue; r != (Revenue{}) {
		if _, ok := CurrencyExponent(r.Currency); !ok || strings.ToUpper(r.Currency) != r.Currency || r.Amount < 1 || r.Amount > MaxRevenueMinor {
			t.Errorf("Revenue = %+v", r)
		}
	}
	if (p.Revenue != Revenue{} || p.OrderID != "") && p.Type != TypeCustom {
		t.Errorf("a %s with revenue %+v, order %q", p.Type, p.Revenue, p.OrderID)
	}
	if p.OrderID != "" {
		if _, err := OrderID(p.OrderID); err != nil {
			t.Errorf("OrderID %q: %v", p.OrderID, err)
		}
	}
}

func sizeOf(m map[string]any) int {
	w := dataWalker{ok: true}
	w.walk(m)
	return w.size
}

func eq(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		if len(got) > 80 || len(want) > 80 {
			t.Errorf("got %d bytes %.40q…, want %d bytes %.40q…", len(got), got, len(want), want)
			return
		}
		t.Errorf("got %q, want %q", got, want)
	}
}

func eqInt(t *testing.T, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("got %d, want %d", got, want)
	}
}

func eqFloat(t *testing.T, got, want float64) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func eqMap(t *testing.T, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
