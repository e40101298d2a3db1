package kit

import "errors"

// ErrClosed is returned by the queues once Close was called: Put refuses
// new records, Poll has nothing more to give, and an AckQueue's waiting
// producers learn that their records will not be acknowledged.
var ErrClosed = errors.New("kit: queue closed")
