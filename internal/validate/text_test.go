package validate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},        // 2 UTF-8 bytes, 1 unit
		{"€", 1},        // 3 bytes, 1 unit
		{"😀", 2},        // 4 bytes, surrogate pair
		{"a😀b", 4},      //
		{"\xff\xfe", 2}, // each invalid byte counts as one U+FFFD
	}
	for _, tt := range tests {
		if got := UTF16Len(tt.in); got != tt.want {
			t.Errorf("UTF16Len(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"ab😀", 4, "ab😀"},
		{"ab😀", 3, "ab"}, // cut inside the surrogate pair: one unit shorter
		{"ab😀c", 3, "ab"},
		{"😀😀", 3, "😀"},
		{"ééé", 2, "éé"}, // counts units, not bytes
		{"a\xffb", 2, "a\uFFFD"},
		{"a\xff", 5, "a\uFFFD"},
		{strings.Repeat("😀", 60), 101, strings.Repeat("😀", 50)},
	}
	for _, tt := range tests {
		got := Truncate(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q: invalid UTF-8", tt.in, tt.max, got)
		}
		if tt.max >= 0 && UTF16Len(got) > tt.max {
			t.Errorf("Truncate(%q, %d) = %q: too long", tt.in, tt.max, got)
		}
	}
}

func TestStripControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		keep       bool
		want       string
		wantSameIn bool // returned without allocation
	}{
		{"plain text é😀", false, "plain text é😀", true},
		{"a\x00b\x1fc\x7fd", false, "abcd", false},
		{"a\u0080b\u009fc\u00a0d", false, "abc\u00a0d", false}, // C1 removed, NBSP kept
		{"a\tb\nc\rd", false, "abcd", false},
		{"a\tb\nc\rd\x0b", true, "a\tb\nc\rd", false},
		{"a\tb\nc\rd", true, "a\tb\nc\rd", true},
		{"a\xffb", false, "a\uFFFDb", false},
	}
	for _, tt := range tests {
		got := StripControl(tt.in, tt.keep)
		if got != tt.want {
			t.Errorf("StripControl(%q, %v) = %q, want %q", tt.in, tt.keep, got, tt.want)
		}
		if tt.wantSameIn && unsafe.StringData(got) != unsafe.StringData(tt.in) {
			t.Errorf("StripControl(%q) copied clean input", tt.in)
		}
	}
}

func TestTruncateEscaped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"/abc", 10, "/abc"},
		{"/abc%41", 5, "/abc"}, // cut right after '%'
		{"/abc%41", 6, "/abc"}, // cut between the two hex digits
		{"/abc%41", 7, "/abc%41"},
		{"/a%41%42", 6, "/a%41"},
		{"/a%C3%A9", 8, "/a%C3%A9"},
		{"/a%C3%A9", 7, "/a"},         // would leave %C3 alone
		{"/a%F0%9F%98%80b", 13, "/a"}, // 3 of 4 bytes
		{"/a%F0%9F%98%80b", 14, "/a%F0%9F%98%80"},
		{"/a%E2%82%AC%E2%82", 16, "/a%E2%82%AC"},
		{"/%80%80%80%80%80", 16, "/%80%80%80%80%80"}, // stray continuation bytes as sent: left alone
	}
	for _, tt := range tests {
		if got := truncateEscaped(tt.in, tt.max); got != tt.want {
			t.Errorf("truncateEscaped(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestJSONStringLenMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "abc", `"quoted"\`, "\b\f\n\r\t\x00\x01\x1f\x7f", "<a href=x>&amp;</a>",
		"é€😀", "\u2028\u2029", "\xff\xfeok", "\u0085\u00a0",
	} {
		for _, html := range []bool{false, true} {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			if got, want := jsonStringLen(s, html), buf.Len()-1; got != want {
				t.Errorf("jsonStringLen(%q, %v) = %d, encoding/json writes %d (%s)", s, html, got, want, buf.Bytes())
			}
		}
	}
}
