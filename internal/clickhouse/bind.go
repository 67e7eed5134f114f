package clickhouse

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Ident is a table, column, database or cluster name bound into a query
// by Bind: it is written back-quoted, never as a string literal.
type Ident string

// Bind returns query with each ? placeholder replaced by the literal of
// the next argument. It is the one place where values become SQL: every
// query of this package goes through it, so no value is ever pasted into
// SQL unescaped. A ? inside a quoted string, a quoted name or a comment of
// query is left alone. The arguments must match the placeholders in
// number.
//
// The literals, which ClickHouse 18.16 and current releases read alike:
//   - nil: NULL
//   - string (and named string types): a single-quoted literal in which
//     backslash and quote are escaped with a backslash and every control
//     byte (below 0x20, and 0x7f) is written \xHH, NUL included. Each byte
//     of invalid UTF-8 becomes U+FFFD, as encoding/json makes it: rows are
//     inserted and read as JSON, so a bound value compares equal to the
//     stored one.
//   - Ident: a back-quoted name, escaped the same way.
//   - integers (signed and unsigned, any size): decimal; a negative one in
//     parentheses, so that 1-? never turns into a -- comment.
//   - floats: shortest decimal form; NaN and infinities are refused.
//   - bool: 1 or 0 (18.16 has no Bool type; columns are UInt8).
//   - time.Time: its Unix time in milliseconds, the type of every time
//     column of Schema (see there why).
//   - []string: an array literal ['a','b'].
func Bind(query string, args ...any) (string, error) {
	out := make([]byte, 0, len(query)+16*len(args))
	next := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			end := quotedEnd(query, i)
			out = append(out, query[i:end]...)
			i = end - 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := len(query)
			for j := i; j < len(query); j++ {
				if query[j] == '\n' {
					end = j
					break
				}
			}
			out = append(out, query[i:end]...)
			i = end - 1
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := len(query)
			for j := i + 2; j+1 < len(query); j++ {
				if query[j] == '*' && query[j+1] == '/' {
					end = j + 2
					break
				}
			}
			out = append(out, query[i:end]...)
			i = end - 1
		case c == '?':
			if next >= len(args) {
				return "", fmt.Errorf("clickhouse: more ? placeholders than the %d arguments", len(args))
			}
			var err error
			if out, err = appendValue(out, args[next], sqlLiteral); err != nil {
				return "", fmt.Errorf("clickhouse: argument %d: %w", next+1, err)
			}
			next++
		default:
			out = append(out, c)
		}
	}
	if next != len(args) {
		return "", fmt.Errorf("clickhouse: %d arguments for %d ? placeholders", len(args), next)
	}
	return string(out), nil
}

// quotedEnd returns the index just past the quoted string or name that
// opens at query[i], or len(query) when it is not closed.
func quotedEnd(query string, i int) int {
	q := query[i]
	for j := i + 1; j < len(query); j++ {
		switch query[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(query) && query[j+1] == q { // a doubled quote
				j++
				continue
			}
			return j + 1
		}
	}
	return len(query)
}

// errNotFinite refuses NaN and the infinities: JSON has no literal for
// them, so they could not be read back.
var errNotFinite = errors.New("NaN or infinite float")

// format is how appendValue writes a value: as an SQL literal (Bind) or
// as a JSON value (Insert's rows). One function serves both, so that a
// bound value and an inserted one are the same value.
type format bool

const (
	sqlLiteral format = false
	jsonValue  format = true
)

// appendValue appends v written as f.
func appendValue(out []byte, v any, f format) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		if f == jsonValue {
			return append(out, "null"...), nil
		}
		return append(out, "NULL"...), nil
	case string:
		return appendString(out, v, f), nil
	case Ident:
		if f == jsonValue {
			return nil, errors.New("a name (Ident) is no value")
		}
		return appendEscaped(out, string(v), '`', f), nil
	case time.Time:
		return appendInt(out, v.UnixMilli(), f), nil
	case []string:
		out = append(out, '[')
		for i, s := range v {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendString(out, s, f)
		}
		return append(out, ']'), nil
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.String:
		return appendString(out, r.String(), f), nil
	case reflect.Bool:
		if r.Bool() {
			return append(out, '1'), nil
		}
		return append(out, '0'), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(out, r.Int(), f), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(out, r.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		x := r.Float()
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, errNotFinite
		}
		paren := f == sqlLiteral && math.Signbit(x)
		if paren {
			out = append(out, '(')
		}
		out = strconv.AppendFloat(out, x, 'g', -1, r.Type().Bits())
		if paren {
			out = append(out, ')')
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot bind a %T", v)
}

func appendString(out []byte, s string, f format) []byte {
	if f == jsonValue {
		return appendEscaped(out, s, '"', f)
	}
	return appendEscaped(out, s, '\'', f)
}

func appendInt(out []byte, n int64, f format) []byte {
	if n < 0 && f == sqlLiteral {
		out = append(out, '(')
		return append(strconv.AppendInt(out, n, 10), ')')
	}
	return strconv.AppendInt(out, n, 10)
}

// appendEscaped appends s between quotes q, escaped for f: quote and
// backslash by a backslash, control bytes as \xHH in SQL (NUL and DEL
// included) and \u00XX in JSON. Each byte of invalid UTF-8 becomes U+FFFD,
// as in encoding/json.
func appendEscaped(out []byte, s string, q byte, f format) []byte {
	const hex = "0123456789ABCDEF"
	out = append(out, q)
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			out = utf8.AppendRune(out, r) // RuneError (U+FFFD) for each invalid byte
			i += size
			continue
		}
		switch {
		case c == '\\' || c == q:
			out = append(out, '\\', c)
		case c < 0x20 && f == jsonValue:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case (c < 0x20 || c == 0x7f) && f == sqlLiteral:
			out = append(out, '\\', 'x', hex[c>>4], hex[c&0xf])
		default:
			out = append(out, c)
		}
		i++
	}
	return append(out, q)
}

// List returns vals as the literal of an IN list, "('a', 'b')": IN
// hashes it once, where has(array, col) compares each row with every
// element (2 000 ids against 1 000 000 events: 12 s on 18.16). An empty
// list is "(NULL)", which no value is IN.
func List(vals []string) string {
	if len(vals) == 0 {
		return "(NULL)"
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(appendString(nil, v, sqlLiteral))
	}
	b.WriteByte(')')
	return b.String()
}
