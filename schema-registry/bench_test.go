package registry

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/internal/testenv"
)

// BenchmarkRegisterNth times one registration once a registry already
// holds n-1 versions of one subject (AVRO, BACKWARD), or n-1 subjects of
// one version each: the cost the n-th registration pays. The n-1 records
// are written to _schemas directly, so building the state does not pay
// the cost being measured. Run with a fixed -benchtime (e.g. 20x) so the
// count stays close to n.
func BenchmarkRegisterNth(b *testing.B) {
	for _, n := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("one-subject/versions=%d", n), func(b *testing.B) { benchRegister(b, n, true) })
		b.Run(fmt.Sprintf("many-subjects/subjects=%d", n), func(b *testing.B) { benchRegister(b, n, false) })
	}
}

func benchRegister(b *testing.B, n int, oneSubject bool) {
	broker := testenv.StartBroker(b, nil)
	in := startRegistry(b, broker, "")
	subject := func(k int) string {
		if oneSubject {
			return "bench-value"
		}
		return fmt.Sprintf("bench-%d-value", k)
	}
	schema := func(k int) string {
		return fmt.Sprintf(`{"type":"record","name":"R","doc":"v%d","fields":[{"name":"id","type":"int"}]}`, k)
	}
	preload(b, broker.Addr, n-1, func(k int) *schemaValue {
		v := 1
		if oneSubject {
			v = k
		}
		return &schemaValue{Subject: subject(k), Version: v, ID: k, Schema: schema(k)}
	})
	register := func(k int) {
		status, body := in.call(b, "POST", "/subjects/"+subject(k)+"/versions", schemaBody(schema(k)))
		require.Equal(b, 200, status, body)
		require.Equal(b, fmt.Sprintf(`{"id":%d}`, k), body)
	}
	register(n) // the first write reads the preloaded records
	k := n + 1
	for b.Loop() {
		register(k)
		k++
	}
}

// preload writes count SCHEMA records (ids 1..count) to _schemas.
func preload(b testing.TB, addr string, count int, value func(k int) *schemaValue) {
	b.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("_schemas"),
		kgo.ProducerBatchMaxBytes(1<<20))
	require.NoError(b, err)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recs := make([]*kgo.Record, 0, count)
	for k := 1; k <= count; k++ {
		v := value(k)
		r, err := record(schemaKey(v.Subject, v.Version), v)
		require.NoError(b, err)
		recs = append(recs, r)
	}
	require.NoError(b, client.ProduceSync(ctx, recs...).FirstErr())
}

// countingFormat counts the parses of a format.
type countingFormat struct {
	Format
	mu     sync.Mutex
	parses int
}

func (f *countingFormat) Parse(schema string, refs []ResolvedReference) (Parsed, error) {
	f.mu.Lock()
	f.parses++
	f.mu.Unlock()
	return f.Format.Parse(schema, refs)
}

func (f *countingFormat) take() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.parses
	f.parses = 0
	return n
}

// TestRegisterParsesOnlyWhatItChecks: with 500 versions in a subject, a
// registration parses the new schema and, under BACKWARD, the latest
// version only, once; an identical schema is found without comparing
// against every version; under BACKWARD_TRANSITIVE each earlier version
// is parsed once and then taken from the cache.
func TestRegisterParsesOnlyWhatItChecks(t *testing.T) {
	const n = 500
	broker := testenv.StartBroker(t, nil)
	in := startRegistry(t, broker, "")
	counter := &countingFormat{Format: in.srv.formats[TypeAvro]}
	in.srv.formats[TypeAvro] = counter
	schema := func(k int) string {
		return fmt.Sprintf(`{"type":"record","name":"R","doc":"v%d","fields":[{"name":"id","type":"int"}]}`, k)
	}
	preload(t, broker.Addr, n, func(k int) *schemaValue {
		return &schemaValue{Subject: "s", Version: k, ID: k, Schema: schema(k)}
	})
	register := func(k int) {
		t.Helper()
		status, body := in.call(t, "POST", "/subjects/s/versions", schemaBody(schema(k)))
		require.Equal(t, 200, status, body)
		require.Equal(t, fmt.Sprintf(`{"id":%d}`, k), body)
	}
	register(n + 1)
	assert.Equal(t, 2, counter.take(), "the new schema and the latest version")
	register(n + 1)
	assert.Equal(t, 1, counter.take(), "an identical schema: only the request")
	register(n / 2)
	assert.Equal(t, 1, counter.take(), "an identical older schema: only the request")

	status, body := in.call(t, "PUT", "/config/s", map[string]string{"compatibility": "BACKWARD_TRANSITIVE"})
	require.Equal(t, 200, status, body)
	register(n + 2)
	assert.Equal(t, 1+n, counter.take(), "the new schema and every version but the one cached")
	register(n + 3)
	assert.Equal(t, 2, counter.take(), "the new schema and the one version not cached yet")
}
