package registry

import (
	"errors"
	"fmt"
)

// apiError is an error with Confluent's error code; the HTTP status is
// the code's first three digits (409 is both).
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

// status returns the HTTP status of the error's code.
func (e *apiError) status() int {
	if e.code < 1000 {
		return e.code
	}
	return e.code / 100
}

func newAPIError(code int, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// Confluent's error codes.
const (
	codeSubjectNotFound           = 40401
	codeVersionNotFound           = 40402
	codeSchemaNotFound            = 40403
	codeSubjectSoftDeleted        = 40404
	codeSubjectNotSoftDeleted     = 40405
	codeVersionSoftDeleted        = 40406
	codeVersionNotSoftDeleted     = 40407
	codeSubjectConfigNotFound     = 40408
	codeSubjectModeNotFound       = 40409
	codeIncompatible              = 409
	codeBodyTooLarge              = 413 // Jetty's answer, as HTTP status and error_code
	codeUnprocessable             = 422
	codeInvalidSchema             = 42201
	codeInvalidVersion            = 42202
	codeInvalidCompatibilityLevel = 42203
	codeInvalidMode               = 42204
	codeOperationNotPermitted     = 42205
	codeReferenceExists           = 42206
	codeIDMismatch                = 42207
	codeInvalidSubject            = 42208
	codeSchemaTooLarge            = 42209
	codeStoreError                = 50001
	codeTimeout                   = 50002
	codeForwardingFailed          = 50003
	codeUnknownLeader             = 50004
)

func errSubjectNotFound(s string) error {
	return newAPIError(codeSubjectNotFound, "Subject '%s' not found.", s)
}
func errVersionNotFound(v string) error {
	return newAPIError(codeVersionNotFound, "Version %s not found.", v)
}
func errSchemaNotFound(id int) error {
	return newAPIError(codeSchemaNotFound, "Schema %d not found", id)
}

var errLookupNotFound = newAPIError(codeSchemaNotFound, "Schema not found")

func errInvalidVersion(v string) error {
	return newAPIError(codeInvalidVersion, "The specified version '%s' is not a valid version id. "+
		`Allowed values are between [1, 2^31-1] and the string "latest"`, v)
}

// errBodyTooLarge: a request body over the limit; size is -1 when the
// body had no Content-Length and was cut while reading (Jetty's
// SizeLimitHandler words it the same way).
func errBodyTooLarge(size, limit int64) error {
	if size < 0 {
		return newAPIError(codeBodyTooLarge, "Request body is too large: more than %d bytes", limit)
	}
	return newAPIError(codeBodyTooLarge, "Request body is too large: %d>%d", size, limit)
}

func errInvalidSubject(subject string) error {
	// Confluent's message, word for word (its typo included).
	return newAPIError(codeInvalidSubject, "The specified subject '%s' is not a valid.", subject)
}

func errInvalidSchema(err error) error {
	return newAPIError(codeInvalidSchema, "Invalid schema %v", err)
}

func errReadOnly(subject string) error {
	return newAPIError(codeOperationNotPermitted, "Subject %s is in read-only mode", subject)
}

var (
	errInvalidLevel = newAPIError(codeInvalidCompatibilityLevel, "Invalid compatibility level. Valid values are "+
		"none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
	errInvalidMode = newAPIError(codeInvalidMode, "Invalid mode. Valid values are READWRITE, READONLY and IMPORT")
	errForwardMode = newAPIError(codeInvalidMode, "Invalid mode. FORWARD (Confluent's mode for schemas forwarded "+
		"from another registry, set only on the ':.__GLOBAL:' context) is not supported; valid values are READWRITE, READONLY and IMPORT")
)

// restError maps any error to the REST status and body; errors without a
// Confluent code are store errors (50001).
func restError(err error) (status int, code int, msg string) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status(), ae.code, ae.msg
	}
	return 500, codeStoreError, err.Error()
}
