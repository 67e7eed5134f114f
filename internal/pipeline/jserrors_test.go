package pipeline

import "testing"

func TestErrorHashGroupsTheSameErrorAcrossEngines(t *testing.T) {
	t.Parallel()
	chrome := ErrorHash("Uncaught TypeError: x is undefined",
		"TypeError: x is undefined\n    at render (https://example.com/app.js?v=12:10:5)\n    at main (https://example.com/app.js?v=12:40:1)")
	firefox := ErrorHash("TypeError: x is undefined",
		"render@https://example.com/app.js?v=13:10:5\nmain@https://example.com/app.js?v=13:40:1\n")
	safari := ErrorHash("TypeError: x is undefined", "render@https://example.com/app.js:10:5\nglobal code@https://example.com/app.js:40:1")
	v8anon := ErrorHash("TypeError: x is undefined", "TypeError: x is undefined\n    at https://example.com/app.js:10:5")
	if chrome != firefox || chrome != safari || chrome != v8anon {
		t.Errorf("same error, different groups: %s %s %s %s", chrome, firefox, safari, v8anon)
	}
	if chrome == ErrorHash("TypeError: x is undefined", "render@https://example.com/app.js:11:5") {
		t.Error("errors on different lines grouped together")
	}
	if chrome == ErrorHash("TypeError: y is undefined", "render@https://example.com/app.js:10:5") {
		t.Error("different messages grouped together")
	}
	if ErrorHash("boom", "") != ErrorHash("Uncaught boom", "no frames here") {
		t.Error("frameless errors do not group by message")
	}
}

func TestStripQuery(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://a.example/x.js?v=1:3:4":    "https://a.example/x.js:3:4",
		"https://a.example/x.js#h:3:4":      "https://a.example/x.js:3:4",
		"https://a.example/x.js:3:4":        "https://a.example/x.js:3:4",
		"https://a.example/x.js?v=1":        "https://a.example/x.js",
		"https://a.example:8443/x.js?q:1:2": "https://a.example:8443/x.js:1:2",
	} {
		if got := stripQuery(in); got != want {
			t.Errorf("stripQuery(%q) = %q, want %q", in, got, want)
		}
	}
}
