package pbrest

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// DateLayout is PocketBase's datetime format, used for time.Time values
// in filters (always in UTC).
const DateLayout = "2006-01-02 15:04:05.000Z"

// invalidLiteral replaces values that cannot be written as a filter
// literal. '{' is never valid outside a quoted literal, so PocketBase
// rejects the whole filter (400) instead of matching something else.
const invalidLiteral = "{pbrest:unrepresentable-value}"

// ErrUnrepresentable is returned by [BuildFilter] for a value that cannot
// be written in a PocketBase filter: a string ending in a backslash (the
// filter syntax cannot escape a backslash before the closing quote), a
// NaN or infinite float, or an unsupported type.
var ErrUnrepresentable = errors.New("pbrest: value cannot be written in a PocketBase filter")

// Params are the values of the {:name} placeholders of a [Filter]
// expression.
type Params map[string]any

// Filter returns expr with every {:name} placeholder replaced by the
// literal of params[name], so that values are never spliced in raw:
//
//	pbrest.Filter("website = {:site} && created >= {:since}",
//		pbrest.Params{"site": id, "since": time.Now().Add(-time.Hour)})
//
// Supported values: string (quoted and escaped, see [Quote]), all integer
// and float types, bool, nil (null), time.Time (a quoted [DateLayout]
// string in UTC), and pointers to these. Placeholders without a param are
// left unchanged and values that [BuildFilter] rejects are replaced by an
// invalid token; in both cases PocketBase rejects the filter with a 400
// answer rather than matching other records. Use [BuildFilter] to get an
// error instead.
func Filter(expr string, params Params) string {
	s, _ := buildFilter(expr, params)
	return s
}

// BuildFilter is [Filter] returning an error (wrapping
// [ErrUnrepresentable], or for a placeholder without a param) instead of
// an invalid filter.
func BuildFilter(expr string, params Params) (string, error) {
	return buildFilter(expr, params)
}

func buildFilter(expr string, params Params) (string, error) {
	var b strings.Builder
	var firstErr error
	rest := expr
	for {
		i := strings.Index(rest, "{:")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		name := ""
		if j > 0 {
			name = rest[i+2 : i+j]
		}
		if j < 0 || !validParamName(name) {
			b.WriteString(rest[:i+2])
			rest = rest[i+2:]
			continue
		}
		b.WriteString(rest[:i])
		rest = rest[i+j+1:]
		v, ok := params[name]
		if !ok {
			b.WriteString("{:" + name + "}")
			if firstErr == nil {
				firstErr = fmt.Errorf("pbrest: filter placeholder {:%s} has no param", name)
			}
			continue
		}
		lit, err := literal(v)
		if err != nil {
			lit = invalidLiteral
			if firstErr == nil {
				firstErr = fmt.Errorf("param %q: %w", name, err)
			}
		}
		b.WriteString(lit)
	}
	return b.String(), firstErr
}

func validParamName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Quote returns v as a double-quoted PocketBase filter string literal.
//
// PocketBase's filter scanner ends a literal at the first quote not
// preceded by a backslash and then turns every \" into ", while leaving
// all other backslashes as they are. Escaping each " as \" therefore
// round-trips any string, except one ending in a backslash, which no
// literal can represent; for such a value Quote returns an invalid token
// so that PocketBase rejects the filter (see [BuildFilter]).
func Quote(v string) string {
	s, err := quote(v)
	if err != nil {
		return invalidLiteral
	}
	return s
}

func quote(v string) (string, error) {
	if strings.HasSuffix(v, `\`) {
		return "", fmt.Errorf("%w: string %q ends in a backslash", ErrUnrepresentable, v)
	}
	return `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`, nil
}

// literal writes v as a filter operand.
func literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		return quote(x)
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.FormatInt(int64(x), 10), nil
	case int8:
		return strconv.FormatInt(int64(x), 10), nil
	case int16:
		return strconv.FormatInt(int64(x), 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint16:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float32:
		return formatFloat(float64(x), 32)
	case float64:
		return formatFloat(x, 64)
	case time.Time:
		return quote(x.UTC().Format(DateLayout))
	case *string:
		return derefLiteral(x)
	case *bool:
		return derefLiteral(x)
	case *int:
		return derefLiteral(x)
	case *int64:
		return derefLiteral(x)
	case *float64:
		return derefLiteral(x)
	case *time.Time:
		return derefLiteral(x)
	}
	return "", fmt.Errorf("%w: unsupported type %T", ErrUnrepresentable, v)
}

func derefLiteral[T any](p *T) (string, error) {
	if p == nil {
		return "null", nil
	}
	return literal(*p)
}

// formatFloat writes f without an exponent, which the filter scanner does
// not accept.
func formatFloat(f float64, bits int) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%w: float %v", ErrUnrepresentable, f)
	}
	return strconv.FormatFloat(f, 'f', -1, bits), nil
}
