package clickhouse

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Error is an exception the server reported, e.g. Code 60 for a table
// that does not exist, 62 for a syntax error, 81 for an unknown database.
// Get it with errors.As.
type Error struct {
	Code    int    // ClickHouse's error code (ErrorCodes.cpp)
	Message string // the exception's text, without "Code: n" and the DB::Exception decoration
}

func (e *Error) Error() string {
	return fmt.Sprintf("clickhouse: code %d: %s", e.Code, e.Message)
}

// maxErrorBody bounds what is read of a failed response.
const maxErrorBody = 64 << 10

// responseError reads the error of a non-200 response.
func responseError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if e := parseError(string(b)); e != nil {
		return e
	}
	return fmt.Errorf("clickhouse: HTTP %s: %s", resp.Status, strings.TrimSpace(string(b)))
}

// parseError reads an exception's text, nil when text is none. 18.16
// writes "Code: 60, e.displayText() = DB::Exception: Table x doesn't
// exist., e.what() = DB::Exception", current releases "Code: 60.
// DB::Exception: Table x does not exist. (UNKNOWN_TABLE) (version …)".
func parseError(text string) *Error {
	rest, ok := strings.CutPrefix(strings.TrimSpace(text), "Code: ")
	if !ok {
		return nil
	}
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	code, err := strconv.Atoi(rest[:n])
	if err != nil {
		return nil
	}
	msg := strings.TrimLeft(rest[n:], ".,")
	msg = strings.TrimSpace(msg)
	msg = strings.TrimPrefix(msg, "e.displayText() = ")
	msg = strings.TrimPrefix(msg, "DB::Exception: ")
	msg = strings.TrimSuffix(msg, ", e.what() = DB::Exception")
	return &Error{Code: code, Message: strings.TrimSpace(msg)}
}
