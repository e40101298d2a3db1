package storage

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

const offsetTopic = "connect-offsets"

// offsetBackend builds stores that share their storage: a second store
// from open sees what the first one set.
type offsetBackend struct {
	name string
	open func(t *testing.T) OffsetStore
}

func offsetBackends(t *testing.T) []offsetBackend {
	var out []offsetBackend
	for _, b := range testBrokers {
		out = append(out, offsetBackend{"kafka-" + b.name, func() func(t *testing.T) OffsetStore {
			var addr string
			return func(t *testing.T) OffsetStore {
				if addr == "" {
					addr = b.start(t)
				}
				return newKafkaOffsetStore(t, addr, false)
			}
		}()})
	}
	out = append(out, offsetBackend{"file", func() func(t *testing.T) OffsetStore {
		path := filepath.Join(t.TempDir(), "offsets", "connect.offsets")
		return func(t *testing.T) OffsetStore {
			s, err := NewFileOffsetStore(path, nil)
			require.NoError(t, err)
			startStore(t, s, false)
			return s
		}
	}()})
	return out
}

func newKafkaOffsetStore(t *testing.T, addr string, run bool) *KafkaOffsetStore {
	t.Helper()
	s, err := NewKafkaOffsetStore(topicOpts(addr, offsetTopic))
	require.NoError(t, err)
	startStore(t, s, run)
	return s
}

// TestOffsetStoreContract runs the same checks on every OffsetStore.
func TestOffsetStoreContract(t *testing.T) {
	for _, b := range offsetBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			s := b.open(t)

			got, err := s.Get("c", map[string]any{"file": "a"})
			require.NoError(t, err)
			assert.Nil(t, got)
			assert.Empty(t, s.Offsets("c"))

			require.NoError(t, s.Set(ctx, "c", []OffsetEntry{
				{Partition: map[string]any{"file": "a"}, Offset: map[string]any{"pos": 1}},
				{Partition: map[string]any{"file": "a"}, Offset: map[string]any{"pos": 2}}, // last wins
				{Partition: map[string]any{"file": "b", "n": int32(7)}, Offset: map[string]any{"pos": 1.5, "eof": true}},
				{Partition: map[string]any{"file": "gone"}, Offset: map[string]any{"pos": 9}},
				{Partition: nil, Offset: map[string]any{"global": "x"}},
			}))
			require.NoError(t, s.Set(ctx, "other", []OffsetEntry{{Partition: map[string]any{"file": "a"}, Offset: map[string]any{"pos": 100}}}))
			require.NoError(t, s.Set(ctx, "c", []OffsetEntry{{Partition: map[string]any{"file": "gone"}}}))

			check := func(t *testing.T, s OffsetStore) {
				got, err := s.Get("c", map[string]any{"file": "a"})
				require.NoError(t, err)
				assert.Equal(t, map[string]any{"pos": int64(2)}, got)
				// Lookups are by value: any integer type finds int64 7.
				got, err = s.Get("c", map[string]any{"n": 7, "file": "b"})
				require.NoError(t, err)
				assert.Equal(t, map[string]any{"pos": 1.5, "eof": true}, got)
				got, err = s.Get("c", map[string]any{"file": "gone"})
				require.NoError(t, err)
				assert.Nil(t, got)
				got, err = s.Get("c", nil)
				require.NoError(t, err)
				assert.Equal(t, map[string]any{"global": "x"}, got)
				// Offsets leaves out the null partition, as Kafka does.
				assert.Equal(t, []OffsetEntry{
					{Partition: map[string]any{"file": "a"}, Offset: map[string]any{"pos": int64(2)}},
					{Partition: map[string]any{"file": "b", "n": int64(7)}, Offset: map[string]any{"pos": 1.5, "eof": true}},
				}, s.Offsets("c"))
				assert.Equal(t, []OffsetEntry{{Partition: map[string]any{"file": "a"}, Offset: map[string]any{"pos": int64(100)}}}, s.Offsets("other"))
			}
			t.Run("same store", func(t *testing.T) { check(t, s) })
			t.Run("reopened", func(t *testing.T) { check(t, b.open(t)) })

			// Returned maps are copies.
			got, err = s.Get("c", map[string]any{"file": "a"})
			require.NoError(t, err)
			got["pos"] = "changed"
			s.Offsets("c")[0].Offset["pos"] = "changed"
			got, err = s.Get("c", map[string]any{"file": "a"})
			require.NoError(t, err)
			assert.Equal(t, int64(2), got["pos"])

			err = s.Set(ctx, "c", []OffsetEntry{{Partition: map[string]any{"file": "a"}, Offset: map[string]any{"pos": []int{1}}}})
			require.ErrorContains(t, err, "Offsets may only contain primitive types as values, but field pos contains ARRAY")
			err = s.Set(ctx, "c", []OffsetEntry{{Partition: map[string]any{"f": map[string]any{}}, Offset: map[string]any{}}})
			require.ErrorContains(t, err, "Offsets may only contain primitive types as values, but field f contains MAP")
			_, err = s.Get("c", map[string]any{"f": struct{}{}})
			require.ErrorContains(t, err, "but field f contains struct {}")
		})
	}
}

func TestKafkaOffsetStoreRecordFormat(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newKafkaOffsetStore(t, addr, false)
		require.NoError(t, s.Set(ctx, "my-conn", []OffsetEntry{
			{Partition: map[string]any{"table": "public.users", "db": "app"}, Offset: map[string]any{"lsn": int64(1234567890123), "snapshot": false, "ratio": 1.0}},
			{Partition: map[string]any{"file": "/tmp/x.txt"}, Offset: map[string]any{"position": 42, "name": nil}},
			{Partition: map[string]any{"file": "/tmp/x.txt"}, Offset: nil},
		}))
		recs := readRaw(t, addr, offsetTopic)
		assert.ElementsMatch(t, [][2]string{
			{`["my-conn",{"db":"app","table":"public.users"}]`, `{"lsn":1234567890123,"ratio":1.0,"snapshot":false}`},
			{`["my-conn",{"file":"/tmp/x.txt"}]`, `{"name":null,"position":42}`},
			{`["my-conn",{"file":"/tmp/x.txt"}]`, `<nil>`},
		}, keyValues(recs))
		for _, r := range recs {
			assert.Equal(t, javaPartition([]byte(r.Key), DefaultOffsetPartitions), r.Partition, "partition of %s", r.Key)
		}
	})
}

func TestKafkaOffsetStoreFindsKeysInAnyFieldOrder(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		s := newKafkaOffsetStore(t, addr, false)
		// As a Java worker would write them: fields in HashMap order, on
		// the default partitioner's partition.
		javaKey := `["jdbc",{"table":"t1","protocol":"1","query":"q"}]`
		produceRaw(t, addr, offsetTopic, kgo.StickyKeyPartitioner(nil),
			[2]string{javaKey, `{"incrementing":7,"timestamp_nanos":0.5}`},
			[2]string{`["jdbc",{"table":"t2"}]`, `{"incrementing":1}`},
			[2]string{`["jdbc",{"table":"t2"}]`, `<nil>`},
			[2]string{`not a key`, `{"x":1}`},
			[2]string{`["jdbc",{"table":"bad"}]`, `[1]`},
		)
		require.NoError(t, s.Refresh(ctx))
		got, err := s.Get("jdbc", map[string]any{"protocol": "1", "query": "q", "table": "t1"})
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"incrementing": int64(7), "timestamp_nanos": 0.5}, got)
		assert.Len(t, s.Offsets("jdbc"), 1)

		// A write of that partition reuses the Java worker's key bytes, so
		// it lands on the same partition and compacts with it.
		require.NoError(t, s.Set(ctx, "jdbc", []OffsetEntry{{Partition: map[string]any{"table": "t1", "query": "q", "protocol": "1"}, Offset: map[string]any{"incrementing": 8}}}))
		recs := readRaw(t, addr, offsetTopic)
		last := recs[0]
		for _, r := range recs {
			if r.Value == `{"incrementing":8}` {
				last = r
			}
		}
		assert.Equal(t, javaKey, last.Key)
		assert.Equal(t, javaPartition([]byte(javaKey), DefaultOffsetPartitions), last.Partition)
	})
}

func TestKafkaOffsetStoreSecondInstance(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		ctx := testCtx(t)
		a := newKafkaOffsetStore(t, addr, false)
		b := newKafkaOffsetStore(t, addr, true)
		require.NoError(t, a.Set(ctx, "c", []OffsetEntry{{Partition: map[string]any{"p": 1}, Offset: map[string]any{"o": 1}}}))
		waitFor(t, "Run to apply the offset", func() bool {
			got, _ := b.Get("c", map[string]any{"p": 1})
			return got != nil
		})
		require.NoError(t, a.Set(ctx, "c", []OffsetEntry{{Partition: map[string]any{"p": 1}}}))
		require.NoError(t, b.Refresh(ctx))
		got, err := b.Get("c", map[string]any{"p": 1})
		require.NoError(t, err)
		assert.Nil(t, got)
	})
}

func TestKafkaOffsetStoreSetHonoursContext(t *testing.T) {
	forEachBroker(t, func(t *testing.T, addr string) {
		s := newKafkaOffsetStore(t, addr, false)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.Set(ctx, "c", []OffsetEntry{{Partition: map[string]any{"p": 1}, Offset: map[string]any{"o": 1}}})
		require.ErrorIs(t, err, context.Canceled)
		got, err := s.Get("c", map[string]any{"p": 1})
		require.NoError(t, err)
		assert.Nil(t, got, "a failed Set changes nothing")
	})
}

// RoundTripOffset hands back what a reader of the offsets topic decodes.
func TestRoundTripOffset(t *testing.T) {
	got, err := RoundTripOffset(map[string]any{"i": 7, "u": uint32(8), "f": float32(1.5), "whole": 2.0, "b": []byte("hi"), "s": "x", "t": true, "n": nil})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"i": int64(7), "u": int64(8), "f": 1.5, "whole": 2.0, "b": "aGk=", "s": "x", "t": true, "n": nil}, got)
	got, err = RoundTripOffset(nil)
	require.NoError(t, err)
	assert.Nil(t, got)
	_, err = RoundTripOffset(map[string]any{"m": map[string]any{}})
	require.ErrorContains(t, err, "field m contains MAP")
}
