package worker

import "errors"

// Errors the herder returns; the REST layer maps each to its HTTP status in
// one place.
var (
	// ErrNotFound: no such connector or task (404).
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a connector with that name exists (409).
	ErrAlreadyExists = errors.New("already exists")
	// ErrBadRequest: the request itself is wrong, e.g. invalid config or a
	// name mismatch (400).
	ErrBadRequest = errors.New("bad request")
	// ErrConflict: the request cannot be served now, e.g. during a
	// rebalance (409).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the operation is disabled by configuration (403).
	ErrForbidden = errors.New("forbidden")
)
