package s3

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/connecttest"
	"github.com/sluicehq/sluice/runtime/connect"
)

func TestSchemaAffix(t *testing.T) {
	for affix, want := range map[string][]string{
		"SUFFIX": {"topics/orders/partition=0/schema_name=Order/orders+0+0000000000.json", "topics/orders/partition=0/schema_name=null/orders+0+0000000001.json"},
		"PREFIX": {"topics/orders/schema_name=Order/partition=0/orders+0+0000000000.json", "topics/orders/schema_name=null/partition=0/orders+0+0000000001.json"},
	} {
		cfg := baseConfig(fakeS3(t))
		cfg["s3.schema.partition.affix.type"] = affix
		cfg["flush.size"] = "2"
		task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
		// A value without a schema is schema_name=null, as Java prints a
		// null name.
		put(t, task, order(0, 0, 0, "eu"), &connect.Record{Topic: "orders", Offset: 1, Value: map[string]any{"id": int64(1)}})
		assert.Equal(t, want, keys(objects(t, cfg)), affix)
	}
}

func TestIgnoredNullsReportedOnlyWithAReporter(t *testing.T) {
	tomb := &connect.Record{Topic: "orders", Offset: 4}
	for name, c := range map[string]struct {
		set      map[string]string
		reported int
	}{
		"dead letter queue":        {map[string]string{"errors.deadletterqueue.topic.name": "dlq"}, 1},
		"error log":                {map[string]string{"errors.log.enable": "true"}, 1},
		"no reporter":              {nil, 0},
		"report.null.values false": {map[string]string{"errors.deadletterqueue.topic.name": "dlq", "report.null.values.to.dlq": "false"}, 0},
	} {
		cfg := baseConfig(fakeS3(t))
		cfg["behavior.on.null.values"] = "ignore"
		for k, v := range c.set {
			cfg[k] = v
		}
		sc := connecttest.NewSinkContext(t, cfg)
		sc.Tolerate = true
		task := start(t, cfg, sc, tp0)
		put(t, task, tomb)
		rep := sc.ReportedRecords()
		require.Len(t, rep, c.reported, name)
		if c.reported > 0 {
			assert.ErrorContains(t, rep[0].Err, "Skipping null value record.", name)
		}
	}
}

// TestTombstonesWriteOnlyTheirKeys wires a key sidecar as helper A's
// store.kafka.keys will (a view after the value view) and checks the
// routing of behavior.on.null.values=write: a tombstone goes to the
// tombstone directory with its key and no value object, as Confluent's
// KeyValueHeaderRecordWriterProvider writes it.
func TestTombstonesWriteOnlyTheirKeys(t *testing.T) {
	cfg := baseConfig(fakeS3(t))
	cfg["flush.size"] = "3"
	task := start(t, cfg, connecttest.NewSinkContext(t, cfg), tp0)
	keyFormat, err := newJSONFormat(task.s)
	require.NoError(t, err)
	task.views = append(task.views, fileView{suffix: ".keys", format: keyFormat, get: func(r *connect.Record) (*connect.Schema, any, error) {
		return r.KeySchema, r.Key, nil
	}})
	task.s.writeNulls, task.s.tombstonePartition = true, "tombstone"
	task.part = tombstonePartitioner{next: task.part, dir: "tombstone"}

	keyed := func(r *connect.Record, key string) *connect.Record {
		r.KeySchema, r.Key = connect.StringSchema, key
		return r
	}
	put(t, task,
		keyed(order(0, 0, 0, "eu"), "k0"),
		keyed(&connect.Record{Topic: "orders", Offset: 1}, "k1"),
		keyed(order(0, 2, 2, "eu"), "k2"))
	got := map[string]string{}
	for k, v := range objects(t, cfg) {
		got[k] = string(v)
	}
	assert.Equal(t, map[string]string{
		"topics/orders/partition=0/orders+0+0000000000.json":      line(0, 2),
		"topics/orders/partition=0/orders+0+0000000000.keys.json": "\"k0\"\n\"k2\"\n",
		"topics/orders/tombstone/orders+0+0000000001.keys.json":   "\"k1\"\n",
	}, got)
}

func TestTombstoneAndSchemaAffixPartitioners(t *testing.T) {
	p := tombstonePartitioner{next: schemaAffixPartitioner{next: &defaultPartitioner{}, prefix: true, delim: "/"}, dir: "deleted"}
	enc, err := p.encode(&connect.Record{Partition: 3})
	require.NoError(t, err)
	assert.Equal(t, "deleted", enc) // the affix is not applied to tombstones
	enc, err = p.encode(order(3, 0, 0, "eu"))
	require.NoError(t, err)
	assert.Equal(t, "schema_name=Order/partition=3", enc)
}
