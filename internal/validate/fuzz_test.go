package validate

import (
	"encoding/json"
	"errors"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, b := range referenceBodies {
		f.Add([]byte(b))
	}
	for _, b := range []string{
		`{}`, `null`, `[]`, `"x"`, `{"type":"pageView"}`,
		`{"type":"pageView","url":"https://example.com/a%2Fb?utm_source=x&utm_medium=%F0%9F%98%80#f","referrer":"android-app://com.google.android.gm/"}`,
		`{"type":"pageView","url":"http://[::ffff:10.0.0.1]:8080/","referrer":"https://u:p@Www.Example.ORG:443/p?q#f","screenWidth":1e308,"screenHeight":-1.5}`,
		`{"type":"custom","name":" \u0000😀 ","url":"https://bücher.de/%C3%A9","customData":{"duration":12,"a":[{"x":null}]}}`,
		`{"type":"custom","name":"x","url":"https://example.com/","customData":{"a":{"Constructor":1}}}`,
		`{"type":"jsError","url":"https://example.com/","errorMessage":"\t\u0085","stackTrace":"a\r\nb\u2028"}`,
		`{"type":"pageView","url":"https://example.com/","screenWidth":"1920"}`,
		`{"type":"custom","name":"buy","url":"https://example.com/","revenue":{"amount":29.99,"currency":"usd"},"orderId":"A-1"}`,
		`{"type":"custom","name":"buy","url":"https://example.com/","revenue":{"amount":"0.125","currency":"KWD"},"orderId":"😀"}`,
		`{"type":"custom","name":"buy","url":"https://example.com/","revenue":{"amount":1e3,"currency":"JPY","amount":"1.5"}}`,
		`{"type":"pageView","url":"https://example.com/","revenue":{"amount":-0,"currency":null},"orderId":"\u0000"}`,
		"{\"type\":\"custom\",\"name\":\"a\xff\xfe\",\"url\":\"https://example.com/\",\"language\":\"en\xc2\"}",
		engagementBody,
		`{"type":"engagement","url":"https://example.com/","pid":"abcdefgh","engagedMs":86400000.0,"scroll":1e2}`,
		`{"type":"engagement","url":"https://example.com/","pid":"ABCDEFGH","engagedMs":-0,"scroll":100.5}`,
		`{"type":"pageView","url":"https://example.com/","pid":"0123456789abcdefghijklmnopqrstuv"}`,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field == "" || fe.Reason == "" {
				t.Fatalf("error %v is not a complete FieldError", err)
			}
			return
		}
		checkInvariants(t, p)
	})
}

// FuzzDecodeFields puts fuzzed strings into the fields of an otherwise
// valid body, which reaches the URL, referrer and text rules far more often
// than fuzzing raw bytes does.
func FuzzDecodeFields(f *testing.F) {
	f.Add("custom", "https://example.com/a?utm_source=x", "https://ref.example/p?q", "click", "en-US", "msg", "{}")
	f.Add("jsError", "http://[::1]:8080/%F0%9F%98%80", "android-app://x/", " \x00 ", "\u0085", "\t", `{"a":[{"__proto__":1}]}`)
	f.Add("pageView", "https://bücher.de./?utm_%5F=%FF", "javascript:alert(1)", "😀", "x", "", `{"duration":1e999}`)
	f.Add("custom", "https://example.com/", "", "buy", "A-1", "29.99", `{"amount":"29.99","currency":"eur"}`)
	f.Add("custom", "https://example.com/", "", "buy", "", "", `{"amount":1.005,"currency":"JPY"}`)
	f.Add("engagement", "https://example.com/", "", "abcdefgh", "en", "", `{}`)
	f.Fuzz(func(t *testing.T, typ, url, referrer, name, language, message, data string) {
		m := map[string]any{"type": typ, "url": url, "referrer": referrer, "name": name,
			"language": language, "errorMessage": message, "stackTrace": message, "customData": json.RawMessage(data),
			"revenue": json.RawMessage(data), "orderId": language}
		if typ == TypeEngagement {
			// name doubles as the pid (a bad one would reject every other
			// type's body); the figures' bounds are TestDecodeEngagement's
			m["pid"], m["engagedMs"], m["scroll"] = name, len(message), len(language)%101
		}
		if !json.Valid([]byte(data)) {
			delete(m, "customData")
			delete(m, "revenue")
		}
		body, err := json.Marshal(m)
		if err != nil {
			t.Skip()
		}
		p, err := Decode(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		checkInvariants(t, p)
	})
}
