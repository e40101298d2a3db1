package transform

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/runtime/connect"
)

// newTransform returns the configured transform of the named plugin.
func newTransform(t *testing.T, class string, props map[string]string) connect.Transform {
	t.Helper()
	p := connect.FindPlugin(Plugins(), connect.PluginTransformation, class)
	require.NotNil(t, p, class)
	tr := p.NewTransform()
	require.NoError(t, tr.Configure(props))
	return tr
}

// configureErr returns the error configuring the named plugin with props.
func configureErr(t *testing.T, class string, props map[string]string) error {
	t.Helper()
	p := connect.FindPlugin(Plugins(), connect.PluginTransformation, class)
	require.NotNil(t, p, class)
	err := p.NewTransform().Configure(props)
	require.Error(t, err)
	require.ErrorIs(t, err, connect.ErrConfig)
	return err
}

// apply runs tr and fails the test on error.
func apply(t *testing.T, tr connect.Transform, r *connect.Record) *connect.Record {
	t.Helper()
	out, err := tr.Apply(r)
	require.NoError(t, err)
	return out
}

// applyErr runs tr and returns the data error it must fail with.
func applyErr(t *testing.T, tr connect.Transform, r *connect.Record) error {
	t.Helper()
	out, err := tr.Apply(r)
	require.Error(t, err)
	require.Nil(t, out)
	return err
}

var testTime = time.Date(2024, 3, 5, 7, 8, 9, 123_000_000, time.UTC)

// sinkRecord is a consumed record with key and value.
func sinkRecord(keySchema *connect.Schema, key any, valueSchema *connect.Schema, value any) *connect.Record {
	return &connect.Record{Topic: "test", Partition: 0, KeySchema: keySchema, Key: key,
		ValueSchema: valueSchema, Value: value, Timestamp: testTime, Offset: 42, TimestampType: "CreateTime"}
}

// valueRecord is a sink record with only a value.
func valueRecord(schema *connect.Schema, value any) *connect.Record {
	return sinkRecord(nil, nil, schema, value)
}

// keyRecord is a sink record with only a key.
func keyRecord(schema *connect.Schema, key any) *connect.Record {
	return sinkRecord(schema, key, nil, nil)
}

func structOf(s *connect.Schema, kv ...any) *connect.Struct {
	st := connect.NewStruct(s)
	for i := 0; i < len(kv); i += 2 {
		st.MustPut(kv[i].(string), kv[i+1])
	}
	return st
}

// requireStructEqual compares structs by schema and values.
func requireStructEqual(t *testing.T, want, got any) {
	t.Helper()
	require.True(t, connect.ValuesEqual(want, got), "want %v\ngot  %v", want, got)
}
