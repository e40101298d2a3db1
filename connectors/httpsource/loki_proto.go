package httpsource

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Loki's push protobuf, decoded by hand so that Sluice needs no Loki
// module (AGPL). Field numbers from grafana/loki pkg/push/push.proto:
//
//	message PushRequest     { repeated StreamAdapter streams = 1; string format = 2; }
//	message StreamAdapter   { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//	message EntryAdapter    { google.protobuf.Timestamp timestamp = 1; string line = 2;
//	                          repeated LabelPairAdapter structuredMetadata = 3; }
//	message LabelPairAdapter{ string name = 1; string value = 2; }
//	message Timestamp       { int64 seconds = 1; int32 nanos = 2; }
//
// Unknown fields are skipped, as protobuf decoders do.

// lokiStream is one stream of a push, in either encoding.
type lokiStream struct {
	labels  string  // the Prometheus-syntax label set (protobuf)
	fields  []Field // the labels, parsed and sorted
	entries []lokiEntry
}

// lokiEntry is one log line of a stream.
type lokiEntry struct {
	ts       time.Time
	line     string
	metadata []Field
}

// decodeLokiProto decodes a PushRequest.
func decodeLokiProto(b []byte) ([]lokiStream, error) {
	var streams []lokiStream
	err := lokiEachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != 1 {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("PushRequest.streams has wire type %d, not a message", typ)
		}
		s, err := decodeLokiStream(v)
		if err != nil {
			return fmt.Errorf("stream %d: %w", len(streams), err)
		}
		streams = append(streams, s)
		return nil
	})
	return streams, err
}

func decodeLokiStream(b []byte) (lokiStream, error) {
	var s lokiStream
	err := lokiEachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return fmt.Errorf("StreamAdapter.labels has wire type %d, not a string", typ)
			}
			s.labels = string(v)
		case 2:
			if typ != protowire.BytesType {
				return fmt.Errorf("StreamAdapter.entries has wire type %d, not a message", typ)
			}
			e, err := decodeLokiEntry(v)
			if err != nil {
				return fmt.Errorf("entry %d: %w", len(s.entries), err)
			}
			s.entries = append(s.entries, e)
		}
		return nil
	})
	return s, err
}

func decodeLokiEntry(b []byte) (lokiEntry, error) {
	var e lokiEntry
	err := lokiEachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if typ != protowire.BytesType && num >= 1 && num <= 3 {
			return fmt.Errorf("EntryAdapter field %d has wire type %d, not length-delimited", num, typ)
		}
		switch num {
		case 1:
			ts, err := decodeTimestamp(v)
			if err != nil {
				return fmt.Errorf("timestamp: %w", err)
			}
			e.ts = ts
		case 2:
			e.line = string(v)
		case 3:
			var f Field
			err := lokiEachField(v, func(num protowire.Number, typ protowire.Type, v []byte) error {
				if (num == 1 || num == 2) && typ != protowire.BytesType {
					return fmt.Errorf("LabelPairAdapter field %d has wire type %d, not a string", num, typ)
				}
				switch num {
				case 1:
					f.Name = string(v)
				case 2:
					f.Value = string(v)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("structured metadata %d: %w", len(e.metadata), err)
			}
			if f.Name == "" {
				return fmt.Errorf("structured metadata %d has an empty name", len(e.metadata))
			}
			e.metadata = append(e.metadata, f)
		}
		return nil
	})
	return e, err
}

// decodeTimestamp decodes a google.protobuf.Timestamp; all zero is the
// zero time (no timestamp).
func decodeTimestamp(b []byte) (time.Time, error) {
	var secs, nanos int64
	err := lokiEachField(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num != 1 && num != 2 {
			return nil
		}
		if typ != protowire.VarintType {
			return fmt.Errorf("field %d has wire type %d, not a varint", num, typ)
		}
		n, _ := protowire.ConsumeVarint(v)
		if num == 1 {
			secs = int64(n)
		} else {
			nanos = int64(int32(n))
		}
		return nil
	})
	if err != nil {
		return time.Time{}, err
	}
	if nanos < 0 || nanos > 999_999_999 {
		return time.Time{}, fmt.Errorf("nanos %d out of range", nanos)
	}
	if secs == 0 && nanos == 0 {
		return time.Time{}, nil
	}
	return time.Unix(secs, nanos).UTC(), nil
}

var errLokiProto = errors.New("truncated or malformed protobuf")

// lokiEachField calls fn for every field of the message b with its number,
// wire type and value: the payload of a length-delimited field, the
// varint's bytes for a varint (decode with protowire.ConsumeVarint),
// the raw bytes of fixed-size fields. Groups are refused.
func lokiEachField(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", errLokiProto, protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			_, n = protowire.ConsumeVarint(b)
			if n >= 0 {
				v = b[:n]
			}
		case protowire.Fixed32Type, protowire.Fixed64Type:
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n >= 0 {
				v = b[:n]
			}
		default:
			return fmt.Errorf("%w: field %d has unsupported wire type %d", errLokiProto, num, typ)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", errLokiProto, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}
