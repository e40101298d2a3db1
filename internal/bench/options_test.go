package bench

import (
	"bytes"
	"compress/gzip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProduceOptionsValidateReportsEveryProblem(t *testing.T) {
	o := ProduceOptions{
		Brokers: []string{"a:1", " "}, Records: 0, RecordSize: -1, Acks: "2", Compression: "brotli",
		Partitions: -3, Linger: -time.Second, BatchMaxBytes: 100, Producers: -1, MaxInflight: -2,
	}
	err := o.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`--brokers "a:1, ": empty address`,
		"--topic: want a topic name",
		"--records 0: want more than 0",
		"--record-size -1: want more than 0",
		`--acks "2": want all, -1, 0 or 1`,
		`--compression "brotli": want none, gzip, snappy, lz4 or zstd`,
		"--partitions -3: want 1 to 2147483647",
		"--linger -1s: want 0 or more",
		"--batch-max-bytes 100: want 512 to 104857600",
		"--producers -1: want more than 0",
		"--max-inflight -2: want more than 0",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestProduceOptionsValidateCrossChecks(t *testing.T) {
	base := ProduceOptions{Records: 1, RecordSize: 1}.withDefaults()

	idem := base
	idem.Acks, idem.Idempotent = "1", true
	assert.ErrorContains(t, idem.Validate(), "--idempotent with --acks 1: idempotent producing needs acks=all")

	big := base
	big.RecordSize = 2_000_000
	assert.ErrorContains(t, big.Validate(), "--record-size 2000000: larger than --batch-max-bytes 1000000")

	for _, acks := range []string{"all", "-1"} {
		ok := base
		ok.Acks, ok.Idempotent = acks, true
		assert.NoError(t, ok.Validate(), acks)
	}
}

func TestProduceDefaultsLeaveTheCallersValueAlone(t *testing.T) {
	o := ProduceOptions{Records: 5, RecordSize: 7}
	d := o.withDefaults()
	assert.Equal(t, ProduceOptions{Records: 5, RecordSize: 7}, o)
	assert.Equal(t, ProduceOptions{
		Brokers: []string{DefaultBroker}, Topic: DefaultTopic, Records: 5, RecordSize: 7, Acks: "all",
		Compression: "none", Partitions: DefaultPartitions, BatchMaxBytes: DefaultBatchMaxBytes,
		Producers: 1, MaxInflight: DefaultMaxInflight,
	}, d)
	require.NoError(t, d.Validate())
}

func TestConsumeOptionsValidate(t *testing.T) {
	err := ConsumeOptions{Records: -1, Timeout: -time.Second}.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"--brokers: want at least one host:port",
		"--topic: want a topic name",
		"--records -1: want 0 (no limit) or more",
		"--timeout -1s: want more than 0",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NoError(t, ConsumeOptions{}.withDefaults().Validate())
}

func TestPercentilesNearestRank(t *testing.T) {
	lat := make([]time.Duration, 1000)
	for i := range lat {
		lat[i] = time.Duration(1000-i) * time.Millisecond // reversed: percentiles sorts
	}
	p50, p99, p999, maxLat := percentiles(lat)
	assert.Equal(t, 500*time.Millisecond, p50)
	assert.Equal(t, 990*time.Millisecond, p99)
	assert.Equal(t, 999*time.Millisecond, p999)
	assert.Equal(t, 1000*time.Millisecond, maxLat)

	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i + 1)
	}
	_, p99, _, _ = percentiles(hundred)
	assert.Equal(t, time.Duration(99), p99)

	p50, p99, p999, maxLat = percentiles([]time.Duration{7})
	assert.Equal(t, []time.Duration{7, 7, 7, 7}, []time.Duration{p50, p99, p999, maxLat})
	p50, _, _, maxLat = percentiles(nil)
	assert.Zero(t, p50)
	assert.Zero(t, maxLat)
}

func TestPayloadIsHalfCompressibleAndVaries(t *testing.T) {
	p := newPayload(1024)
	var batch bytes.Buffer
	for i := range 1000 {
		v := p.value(i)
		require.Len(t, v, 1024)
		batch.Write(v)
	}
	assert.NotEqual(t, p.value(0), p.value(1))

	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, err := w.Write(batch.Bytes())
	require.NoError(t, err)
	require.NoError(t, w.Close())
	ratio := float64(gz.Len()) / float64(batch.Len())
	t.Logf("gzip ratio %.3f", ratio)
	assert.InDelta(t, 0.55, ratio, 0.1, "a batch of values should compress to about half")

	huge := newPayload(8 << 20) // larger than the minimum corpus
	assert.Len(t, huge.value(12345), 8<<20)
}
