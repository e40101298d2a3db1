package datagen

import (
	"strconv"
	"time"

	"github.com/sluicehq/sluice/runtime/connect"
)

const (
	// maxKeyTable bounds the keys built in advance; larger cardinalities
	// build each key as it is drawn.
	maxKeyTable = 1 << 16
	// payloadSlack is how far payloads may start into the shared payload
	// text, which varies payloads without building each one.
	payloadSlack = 4096
	payloadChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// generator builds the key and value of any record of one task from the
// seed, the task id and the record's seq.
type generator struct {
	qs          *quickstart
	seed        uint64
	task        int64
	taskBoxed   any // int32, for bench's task field
	cardinality int64
	keys        []any // keys by index when cardinality <= maxKeyTable
	payloadText string
	payloadSize int
}

func newGenerator(qs *quickstart, seed uint64, task, cardinality int64, payloadSize int) *generator {
	g := &generator{
		qs: qs, seed: seed, task: task, taskBoxed: int32(task),
		cardinality: cardinality, payloadSize: payloadSize,
	}
	if cardinality <= maxKeyTable {
		g.keys = boxedSeries(qs.keyPrefix, int(cardinality))
	}
	if qs == findQuickstart("bench") {
		g.payloadText = payloadText(seed, payloadSize+payloadSlack)
	}
	return g
}

// payloadText returns n deterministic alphanumeric characters, which JSON
// carries without escaping.
func payloadText(seed uint64, n int) string {
	r := rng{s: seed}
	b := make([]byte, n)
	for i := range b {
		b[i] = payloadChars[r.next()%uint64(len(payloadChars))]
	}
	return string(b)
}

// payload returns a payloadSize slice of the shared text, so it costs no
// copy.
func (g *generator) payload(r *rng) string {
	off := r.intn(payloadSlack + 1)
	return g.payloadText[off : off+int64(g.payloadSize)]
}

func (g *generator) key(i int64) any {
	if g.keys != nil {
		return g.keys[i]
	}
	return g.qs.keyPrefix + strconv.FormatInt(i+1, 10)
}

// fill sets rec's key and value for record seq generated at now.
func (g *generator) fill(rec *connect.Record, seq int64, now time.Time) {
	r := recordRNG(g.seed, g.task, seq)
	info := recordInfo{seq: seq, seqValue: seq, key: g.key(r.intn(g.cardinality)), now: now}
	v := connect.NewStruct(g.qs.schema)
	g.qs.fill(g, v, &r, &info)
	rec.KeySchema, rec.Key = connect.StringSchema, info.key
	rec.ValueSchema, rec.Value = g.qs.schema, v
	rec.SourceOffset = map[string]any{seqField: info.seqValue}
}
