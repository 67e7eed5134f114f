package pbrest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
)

// Sentinel errors. An [*Error] matches the sentinel of its HTTP status with
// [errors.Is], so callers need not inspect [Error.Status] themselves:
//
//	if errors.Is(err, pbrest.ErrNotFound) { ... }
var (
	// ErrBadRequest matches a 400 answer, e.g. a failed field validation.
	ErrBadRequest = errors.New("pbrest: bad request")
	// ErrUnauthorized matches a 401 answer: missing or invalid credentials.
	ErrUnauthorized = errors.New("pbrest: unauthorized")
	// ErrForbidden matches a 403 answer.
	ErrForbidden = errors.New("pbrest: forbidden")
	// ErrNotFound matches a 404 answer. [Client.FirstRecord] also returns
	// it when no record matches.
	ErrNotFound = errors.New("pbrest: not found")
	// ErrBatchDisabled is returned by [Client.Batch] and
	// [Client.BatchMaxRequests] when the server's batch API is disabled
	// (Settings > Application > Batch API in the PocketBase dashboard).
	ErrBatchDisabled = errors.New("pbrest: batch API disabled on the server")
	// ErrNoCredentials is returned by [Client.Authenticate] when
	// [Config.Email] or [Config.Password] is empty.
	ErrNoCredentials = errors.New("pbrest: no superuser credentials configured")
)

// Error is an error answer of PocketBase, decoded from its
// {"status", "message", "data"} JSON body.
type Error struct {
	// Status is the HTTP status code of the answer.
	Status int
	// Method and Path identify the request. Path excludes the query string.
	Method, Path string
	// Message is PocketBase's human-readable message, or the HTTP status
	// text when the body held none.
	Message string
	// Data holds the field errors of a validation failure, keyed by field
	// name. Nested error data (such as a batch's) is only in RawData.
	Data map[string]FieldError
	// RawData is the undecoded "data" object of the answer (nil when absent).
	RawData json.RawMessage
}

// FieldError is the validation error of one field, e.g.
// {Code: "validation_required", Message: "Cannot be blank."}.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error returns a one-line description such as
// "pbrest: GET /api/collections/x/records/abc: 404 The requested resource wasn't found.".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pbrest: %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
	if len(e.Data) > 0 {
		b.WriteString(" (")
		first := true
		for _, k := range slices.Sorted(maps.Keys(e.Data)) {
			if !first {
				b.WriteString("; ")
			}
			first = false
			fmt.Fprintf(&b, "%s: %s", k, e.Data[k].Message)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is the sentinel error of e's status
// ([ErrBadRequest], [ErrUnauthorized], [ErrForbidden] or [ErrNotFound]).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	}
	return false
}

// IsTransient reports whether err may succeed if retried later: network
// errors, timeouts, and 408, 429 and 5xx answers. Validation failures and
// other 4xx answers, cancelled contexts and decoding errors are permanent.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		s := apiErr.Status
		return s >= 500 || s == http.StatusTooManyRequests || s == http.StatusRequestTimeout
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// transportError marks a failure to exchange a request with the server
// (connection refused or reset, timeouts, a truncated body).
type transportError struct {
	method, path string
	err          error
}

func (e *transportError) Error() string {
	return fmt.Sprintf("pbrest: %s %s: %v", e.method, e.path, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// apiErrorBody is PocketBase's error JSON.
type apiErrorBody struct {
	Status  int             `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// newError decodes an error answer body. Bodies that are not PocketBase
// JSON (e.g. from a proxy) give an Error with the HTTP status text.
func newError(method, path string, status int, body []byte) *Error {
	e := &Error{Status: status, Method: method, Path: path}
	var b apiErrorBody
	if json.Unmarshal(body, &b) == nil {
		e.Message = b.Message
		e.setData(b.Data)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// setData stores raw and decodes its flat field errors; nested objects
// (which have no string "code") are skipped.
func (e *Error) setData(raw json.RawMessage) {
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	e.RawData = raw
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	for k, v := range m {
		var fe FieldError
		if json.Unmarshal(v, &fe) != nil || fe.Code == "" {
			continue
		}
		if e.Data == nil {
			e.Data = make(map[string]FieldError)
		}
		e.Data[k] = fe
	}
}
