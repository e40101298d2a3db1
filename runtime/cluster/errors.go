package cluster

import "errors"

// ErrMalformed is wrapped by every decoding error: the bytes are not a
// Connect protocol message.
var ErrMalformed = errors.New("malformed connect protocol message")

// errSessionExpired reports that no heartbeat succeeded for a whole session
// timeout: the coordinator has most likely removed this member.
var errSessionExpired = errors.New("no successful heartbeat within the session timeout")
