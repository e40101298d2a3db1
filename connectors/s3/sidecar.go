package s3

import (
	"fmt"
	"sync"

	"github.com/sluicehq/sluice/runtime/connect"
	"github.com/sluicehq/sluice/runtime/convert"
)

// The sidecars are Confluent's KeyRecordView and HeaderRecordView: beside
// each file, a .keys and a .headers file in keys.format.class and
// headers.format.class, whose line (row) i belongs to the file's record i.
// A record without a key or headers cannot have its line: it is refused
// before anything of it is written, as Confluent does.

// keyView writes the records' keys; Parquet wraps them in a RecordKey
// struct {key}, the other formats write them as they are.
func keyView(f recordFormat, enveloped bool) fileView {
	env := &envelopes{}
	return fileView{suffix: ".keys", format: f, get: func(r *connect.Record) (*connect.Schema, any, error) {
		if r.Key == nil {
			return nil, nil, fmt.Errorf("Key cannot be null for SinkRecord %s-%d@%d (%s is true)", r.Topic, r.Partition, r.Offset, StoreKeysConfig)
		}
		if !enveloped {
			return r.KeySchema, r.Key, nil
		}
		if r.KeySchema == nil {
			return nil, nil, fmt.Errorf("ParquetFormat needs keys with a schema to write the .keys file, and the key of %s-%d@%d is schemaless", r.Topic, r.Partition, r.Offset)
		}
		s := env.of(r.KeySchema)
		st := connect.NewStruct(s)
		st.Set(&s.Fields[0], r.Key)
		return s, st, nil
	}}
}

// envelopes keeps the RecordKey schema of the last key schema, so that the
// records of one key schema share one envelope schema.
type envelopes struct {
	mu       sync.Mutex
	key, env *connect.Schema
}

func (e *envelopes) of(key *connect.Schema) *connect.Schema {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.key != key {
		e.key = key
		e.env = connect.NewSchemaBuilder(connect.TypeStruct).Name("RecordKey").Field("key", key).Build()
	}
	return e.env
}

// headerSchema is Confluent's SINGLE_HEADER_SCHEMA: one header as an
// unnamed struct {key, value} of required strings.
var headerSchema = connect.NewSchemaBuilder(connect.TypeStruct).
	Field("key", connect.StringSchema).Field("value", connect.StringSchema).Build()

// headersSchema is the headers view: an array of headers; JSON and Parquet
// wrap it in a RecordHeaders struct {headers}.
var (
	headersSchema         = connect.ArrayOf(headerSchema)
	envelopedHeaderSchema = connect.NewSchemaBuilder(connect.TypeStruct).Name("RecordHeaders").Field("headers", headersSchema).Build()
)

// headerView writes the records' headers, each value rendered as Kafka's
// Values.convertToString.
func headerView(f recordFormat, enveloped bool) fileView {
	conv := convert.NewSimpleHeaderConverter()
	return fileView{suffix: ".headers", format: f, get: func(r *connect.Record) (*connect.Schema, any, error) {
		if len(r.Headers) == 0 {
			return nil, nil, fmt.Errorf("Headers cannot be null for SinkRecord %s-%d@%d (%s is true and the record has none)", r.Topic, r.Partition, r.Offset, StoreHeadersConfig)
		}
		list := make([]any, len(r.Headers))
		for i, h := range r.Headers {
			if h.Value == nil {
				return nil, nil, fmt.Errorf("header %q of %s-%d@%d is null, which the .headers file cannot hold (its value is a required string, as in Confluent's sink)", h.Key, r.Topic, r.Partition, r.Offset)
			}
			b, err := conv.FromConnectHeader(r.Topic, h.Key, h.Schema, h.Value)
			if err != nil {
				return nil, nil, fmt.Errorf("header %q of %s-%d@%d: %w", h.Key, r.Topic, r.Partition, r.Offset, err)
			}
			list[i] = connect.NewStruct(headerSchema).MustPut("key", h.Key).MustPut("value", string(b))
		}
		if !enveloped {
			return headersSchema, list, nil
		}
		return envelopedHeaderSchema, connect.NewStruct(envelopedHeaderSchema).MustPut("headers", list), nil
	}}
}
