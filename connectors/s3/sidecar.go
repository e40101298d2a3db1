package s3

import (
	"fmt"
	"strconv"
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
// Values.convertToString; with timestamps (store.kafka.timestamps), the
// record's timestamp is appended as one more header, TimestampHeader.
func headerView(f recordFormat, enveloped, timestamps bool) fileView {
	conv := convert.NewSimpleHeaderConverter()
	return fileView{suffix: ".headers", format: f, get: func(r *connect.Record) (*connect.Schema, any, error) {
		// Kafka's "no timestamp" is -1: negative times are not stored.
		stamp := timestamps && !r.Timestamp.IsZero() && r.Timestamp.UnixMilli() >= 0
		if len(r.Headers) == 0 && !stamp {
			return nil, nil, fmt.Errorf("Headers cannot be null for SinkRecord %s-%d@%d (%s is true and the record has none)", r.Topic, r.Partition, r.Offset, StoreHeadersConfig)
		}
		list := make([]any, len(r.Headers), len(r.Headers)+1)
		for i, h := range r.Headers {
			if h.Value == nil {
				return nil, nil, fmt.Errorf("header %q of %s-%d@%d is null, which the .headers file cannot hold (its value is a required string, as in Confluent's sink)", h.Key, r.Topic, r.Partition, r.Offset)
			}
			if timestamps && h.Key == TimestampHeader {
				return nil, nil, fmt.Errorf("record %s-%d@%d already has a header %s, the name %s=true stores the record timestamp under", r.Topic, r.Partition, r.Offset, TimestampHeader, StoreTimestampsConfig)
			}
			b, err := conv.FromConnectHeader(r.Topic, h.Key, h.Schema, h.Value)
			if err != nil {
				return nil, nil, fmt.Errorf("header %q of %s-%d@%d: %w", h.Key, r.Topic, r.Partition, r.Offset, err)
			}
			list[i] = connect.NewStruct(headerSchema).MustPut("key", h.Key).MustPut("value", string(b))
		}
		if stamp {
			ms := strconv.FormatInt(r.Timestamp.UnixMilli(), 10)
			list = append(list, connect.NewStruct(headerSchema).MustPut("key", TimestampHeader).MustPut("value", ms))
		}
		if !enveloped {
			return headersSchema, list, nil
		}
		return envelopedHeaderSchema, connect.NewStruct(envelopedHeaderSchema).MustPut("headers", list), nil
	}}
}

// StoreTimestampsConfig is Sluice's own key (Confluent's sink has none):
// it keeps the record timestamps in the headers sidecar, so that a
// restore gives records back their timestamps.
const StoreTimestampsConfig = "store.kafka.timestamps"

// TimestampHeader is the header under which store.kafka.timestamps
// stores a record's timestamp, in epoch milliseconds as a decimal string,
// after the record's own headers. The S3 source takes a last header of
// this name (whose value is such a number) as the record timestamp and
// drops it.
const TimestampHeader = "__sluice.timestamp"

// timestampKeys declares store.kafka.timestamps.
var timestampKeys = connect.ConfigDef{
	{Name: StoreTimestampsConfig, Type: connect.ConfigBoolean, Default: false, Importance: connect.Low, Group: groupKeys,
		Doc: "Sluice's own key, not Confluent's (whose sink does not store record timestamps): also store each record's timestamp in its " +
			".headers sidecar line, as a last header " + TimestampHeader + " whose value is the epoch milliseconds as a string, so that " +
			"the S3 source restores the timestamp (and drops that header). Needs " + StoreHeadersConfig + "=true. A record without headers " +
			"then gets a line holding only its timestamp instead of being reported; a record that already has a header " + TimestampHeader +
			" is reported."},
}

// parseTimestamps parses store.kafka.timestamps, which needs the headers
// sidecar to hold the timestamps.
func parseTimestamps(cfg connect.Config, s *settings) error {
	s.storeTimestamps = cfg.Bool(StoreTimestampsConfig)
	if s.storeTimestamps && !s.storeHeaders {
		return connect.NewConfigError(StoreTimestampsConfig, "%s=true stores the record timestamps in the .headers sidecar, so it needs %s=true",
			StoreTimestampsConfig, StoreHeadersConfig)
	}
	return nil
}
