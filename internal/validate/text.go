package validate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// UTF16Len returns the length of s as a browser's String.length reports it:
// the number of UTF-16 code units, so a character outside the Basic
// Multilingual Plane (an emoji such as 😀) counts 2 and every other
// character counts 1. Each byte of an invalid UTF-8 sequence counts 1, as it
// would once replaced by U+FFFD.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// Truncate returns the longest prefix of s that is at most maxUTF16 UTF-16
// code units long (see UTF16Len). It cuts only between characters, so a
// character that does not fit entirely (for instance the second half of a
// surrogate pair) is dropped and the result may be one unit shorter than
// maxUTF16. The result is always valid UTF-8: invalid sequences in s are
// replaced by U+FFFD first. A maxUTF16 ≤ 0 yields "".
func Truncate(s string, maxUTF16 int) string {
	if maxUTF16 <= 0 {
		return ""
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	// A string never has more UTF-16 units than UTF-8 bytes.
	if len(s) <= maxUTF16 {
		return s
	}
	n := 0
	for i, r := range s {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if n+w > maxUTF16 {
			return s[:i]
		}
		n += w
	}
	return s
}

// StripControl removes the control characters from s: C0 (U+0000–U+001F),
// DEL (U+007F) and C1 (U+0080–U+009F). With keepTabNewline, TAB, LF and CR
// are kept (for multi-line text such as stack traces). Invalid UTF-8 bytes
// are replaced by U+FFFD. When there is nothing to change, s itself is
// returned without allocating.
func StripControl(s string, keepTabNewline bool) string {
	i := firstToClean(s, keepTabNewline)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] { // invalid bytes come out as utf8.RuneError
		if !isControl(r, keepTabNewline) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// firstToClean returns the index of the first control character or invalid
// UTF-8 byte in s, or -1.
func firstToClean(s string, keep bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isControl(rune(c), keep) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || isControl(r, keep) {
			return i
		}
		i += size
	}
	return -1
}

func isControl(r rune, keep bool) bool {
	switch {
	case r < 0x20:
		return !keep || (r != '\t' && r != '\n' && r != '\r')
	case r == 0x7F:
		return true
	case r >= 0x80 && r <= 0x9F:
		return true
	}
	return false
}

// trimSpace trims like JavaScript's String.prototype.trim: Unicode white
// space and line terminators, including U+FEFF.
func trimSpace(s string) string {
	return strings.TrimFunc(s, isJSSpace)
}

func isJSSpace(r rune) bool { return unicode.IsSpace(r) || r == '\uFEFF' }

// cleanLine strips control characters, trims, truncates to maxUTF16 and
// trims the end again (so a cut never leaves trailing white space).
func cleanLine(s string, maxUTF16 int) string {
	s = Truncate(trimSpace(StripControl(s, false)), maxUTF16)
	return strings.TrimRightFunc(s, isJSSpace)
}

// truncateEscaped truncates a percent-encoded ASCII string (as produced by
// url.URL.EscapedPath) to at most max bytes without splitting a %XX escape
// or a UTF-8 sequence spelled as escapes (%F0%9F%98 would make JavaScript's
// decodeURIComponent throw).
func truncateEscaped(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	cut := max
	switch {
	case s[cut-1] == '%':
		cut--
	case cut >= 2 && s[cut-2] == '%':
		cut -= 2
	}
	// Every '%' in s starts an escape, so s[j-3] == '%' means s[j-3:j] is one.
	for j, n := cut, 0; n < 4 && j >= 3 && s[j-3] == '%'; j, n = j-3, n+1 {
		b := unhex(s[j-2])<<4 | unhex(s[j-1])
		if b&0xC0 == 0x80 { // continuation byte: look further back
			continue
		}
		if b >= 0xC0 { // lead byte of a sequence of need bytes
			need := 2
			if b >= 0xF0 {
				need = 4
			} else if b >= 0xE0 {
				need = 3
			}
			if n+1 < need {
				cut = j - 3
			}
		}
		break
	}
	return Truncate(s[:cut], cut) // no-op for ASCII; keeps UTF-8 valid otherwise
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// jsonStringLen returns the number of bytes encoding/json writes for s,
// quotes included. With escapeHTML, <, > and & take 6 bytes each, as in
// json.Marshal (and hence in PocketBase's stored JSON).
func jsonStringLen(s string, escapeHTML bool) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20:
				n += 6
			case escapeHTML && (c == '<' || c == '>' || c == '&'):
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6 // \ufffd
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}
