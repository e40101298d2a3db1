package httpsink

import (
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/runtime/connect"
)

// maxErrorBody bounds the part of an error response kept for logs, the
// DLQ header and the reporter's error topic.
const maxErrorBody = 4096

// The headers a record sent to the dead letter queue after a failed
// request carries, besides Kafka's __connect.errors.* context headers.
const (
	// HeaderStatus is the last response's status code ("0" after a
	// network error).
	HeaderStatus = "http.response.status"
	// HeaderBody is the last response's body, cut to 4096 bytes.
	HeaderBody = "http.response.body"
	// HeaderURL is the URL the request went to, without its query.
	HeaderURL = "http.request.url"
	// HeaderAttempts is how many times the request was sent.
	HeaderAttempts = "http.request.attempts"
)

// RequestError is a request that failed for good: after its retries, or
// at once with a status not retried. Reported records carry it, and its
// DLQHeaders become headers of their dead letter queue copies.
type RequestError struct {
	Method   string
	URL      string // without its query, which may hold secrets
	Status   int    // 0 when no response came
	Body     []byte // the response body, at most maxErrorBody bytes
	Attempts int
	Err      error // the network error, when no response came
}

// Error implements error.
func (e *RequestError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s %s failed after %d attempt(s): %v", e.Method, e.URL, e.Attempts, e.Err)
	}
	return fmt.Sprintf("%s %s answered %d after %d attempt(s): %s", e.Method, e.URL, e.Status, e.Attempts, truncate(e.Body, 512))
}

// Unwrap returns the network error, if any.
func (e *RequestError) Unwrap() error { return e.Err }

// DLQHeaders returns the headers the worker adds to a dead letter queue
// record reported with this error.
func (e *RequestError) DLQHeaders() connect.Headers {
	return connect.Headers{
		{Key: HeaderStatus, Value: strconv.Itoa(e.Status)},
		{Key: HeaderBody, Value: string(e.Body)},
		{Key: HeaderURL, Value: e.URL},
		{Key: HeaderAttempts, Value: strconv.Itoa(e.Attempts)},
	}
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
