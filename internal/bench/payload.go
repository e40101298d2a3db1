package bench

import "math/rand/v2"

// PayloadNote describes the record values for output: readers of a
// compression result need to know how compressible the data was.
const PayloadNote = "half random, half repeated text"

// payload hands out record values without allocating. Values are windows of
// one corpus built once before the run, alternating 64-byte chunks of random
// bytes and of repeated text, so each value is about half compressible.
// Consecutive values are different windows: one identical value in every
// record would let gzip, lz4 and zstd dedupe whole records within a batch and
// report a ratio no real workload gets.
type payload struct {
	corpus []byte
	size   int
	slots  int // number of distinct windows
}

const (
	payloadChunk     = 64
	payloadMinCorpus = 4 << 20
	payloadText      = "sluice bench payload, repeated so compression has something to find. "
)

func newPayload(size int) *payload {
	n := max(payloadMinCorpus, 4*size)
	corpus := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: runs are comparable
	for off := 0; off < n; off += 2 * payloadChunk {
		random := corpus[off:min(off+payloadChunk, n)]
		for i := range random {
			random[i] = byte(rng.Uint32())
		}
		if off+payloadChunk < n {
			text := corpus[off+payloadChunk : min(off+2*payloadChunk, n)]
			for i := range text {
				text[i] = payloadText[(off/2+i)%len(payloadText)]
			}
		}
	}
	return &payload{corpus: corpus, size: size, slots: (n - size) / payloadChunk}
}

// value returns the value for record i. The slice aliases the corpus; kgo
// only reads it.
func (p *payload) value(i int) []byte {
	// Step by an odd number of chunks so neighbouring records share little.
	off := (i * 17 % (p.slots + 1)) * payloadChunk
	return p.corpus[off : off+p.size : off+p.size]
}
