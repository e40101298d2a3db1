package kit

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/sluicehq/sluice/runtime/connect"
)

// IsRetriable is the kit's one rule for whether an operation that failed
// with err may succeed if tried again, the same on every connector. It
// holds for:
//
//   - an error wrapping connect.ErrRetriable: whoever made it said so;
//   - a timeout: a net.Error whose Timeout() holds, which includes
//     context.DeadlineExceeded, the deadline of one operation;
//   - a refused, reset, aborted or broken connection, an unreachable host
//     or network (ECONNREFUSED, ECONNRESET, ECONNABORTED, EPIPE,
//     ETIMEDOUT, EHOSTUNREACH, ENETUNREACH);
//   - a connection cut in the middle of a message (io.ErrUnexpectedEOF);
//   - a temporary DNS failure.
//
// It does not hold for context.Canceled (the caller stopping is no
// failure to retry), for io.EOF (the end of a stream), for a connection
// the process closed itself (net.ErrClosed), for TLS and certificate
// errors, nor for anything else: an error of unknown kind is permanent, so
// a bug fails the task instead of retrying forever. A caller whose own
// deadline passed learns it from its context; Retry checks it.
//
// A connector adds the errors of its own protocol that mean "try again"
// (Postgres's class 08 codes, an HTTP 503) by wrapping them with
// connect.Retriable.
func IsRetriable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, connect.ErrRetriable) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	for _, errno := range []syscall.Errno{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
	} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && (dnsErr.IsTemporary || dnsErr.IsTimeout) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
