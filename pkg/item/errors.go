package item

import (
	"errors"
	"fmt"
)

// Code is a machine-readable error code of the client API (DESIGN.md §2).
type Code string

// The error codes of the client API.
const (
	CodeInvalidID       Code = "invalid_id"
	CodeInvalidVersion  Code = "invalid_version"
	CodeInvalidHeader   Code = "invalid_header"
	CodeInvalidJSON     Code = "invalid_json"
	CodeNotFound        Code = "not_found"
	CodePayloadTooLarge Code = "payload_too_large"
	CodeUnavailable     Code = "unavailable"
	CodeInternal        Code = "internal"
)

// Status is the numeric status that travels in Nats-Service-Error-Code.
func (c Code) Status() int {
	switch c {
	case CodeInvalidID, CodeInvalidVersion, CodeInvalidHeader, CodeInvalidJSON:
		return 400
	case CodeNotFound:
		return 404
	case CodePayloadTooLarge:
		return 413
	case CodeUnavailable:
		return 503
	default:
		return 500
	}
}

// CodeForStatus maps a numeric status and code text back to a Code; unknown
// codes are returned as they are.
func CodeForStatus(code string) Code { return Code(code) }

// Error is a validation or service error with its code.
type Error struct {
	Code    Code
	Message string
	// RetryAfterSeconds is set for CodeUnavailable when a retry makes sense.
	RetryAfterSeconds int
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Code: c}) match on the code alone.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code && t.Message == ""
	}
	return false
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err, or CodeInternal when err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Sentinel values for errors.Is comparisons on code only.
var (
	ErrInvalidID       = &Error{Code: CodeInvalidID}
	ErrInvalidVersion  = &Error{Code: CodeInvalidVersion}
	ErrInvalidHeader   = &Error{Code: CodeInvalidHeader}
	ErrInvalidJSON     = &Error{Code: CodeInvalidJSON}
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrPayloadTooLarge = &Error{Code: CodePayloadTooLarge}
	ErrUnavailable     = &Error{Code: CodeUnavailable}
)
