package file

import (
	"context"
	"io"
	"os"
	"sync"
	"time"
)

// sharedStdin returns the process's standard input as an input. Reads of
// standard input block and cannot be interrupted, so one goroutine, started
// on first use and living as long as the process (or until standard input
// ends), reads it for every task: a restarted task continues where the
// previous one stopped, and no read is left orphaned holding data.
var sharedStdin = sync.OnceValue(func() input { return newPipeInput(os.Stdin) })

// pipeInput makes a blocking reader non-blocking by reading it from a
// goroutine into a channel of chunks.
type pipeInput struct {
	chunks chan []byte // closed when the reader fails or ends
	mu     sync.Mutex
	cur    []byte // the part of the last received chunk not yet read
	ended  bool
}

// newPipeInput starts the goroutine reading r.
func newPipeInput(r io.Reader) *pipeInput {
	p := &pipeInput{chunks: make(chan []byte, 1)}
	go func() {
		defer close(p.chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := r.Read(buf)
			if n > 0 {
				p.chunks <- buf[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

// Read returns buffered bytes or io.EOF when none are available now.
func (p *pipeInput) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cur) == 0 && !p.ended {
		select {
		case c, ok := <-p.chunks:
			p.cur, p.ended = c, !ok
		default:
		}
	}
	if len(p.cur) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// wait returns when a chunk arrived, d passed or ctx is done.
func (p *pipeInput) wait(ctx context.Context, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.cur) > 0 {
		return
	}
	chunks := p.chunks
	if p.ended {
		chunks = nil // ended: nothing will come, just wait
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	case c, ok := <-chunks:
		p.cur, p.ended = c, !ok
	}
}

// Close leaves the shared reader running for the next task.
func (p *pipeInput) Close() error { return nil }
