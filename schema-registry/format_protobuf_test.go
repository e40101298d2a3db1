package registry

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseProto(t testing.TB, schema string, refs ...ResolvedReference) Parsed {
	t.Helper()
	p, err := ProtobufFormat{}.Parse(schema, refs)
	require.NoError(t, err)
	return p
}

func protoKinds(msgs []string) []string {
	var out []string
	for _, m := range msgs {
		_, after, _ := strings.Cut(m, "type=")
		out = append(out, strings.TrimSuffix(after, "}"))
	}
	return out
}

func TestProtobufFormatParse(t *testing.T) {
	p := parseProto(t, `
syntax = "proto3";
package acme.v1;
import "google/protobuf/timestamp.proto";

message Order {
    int64 id = 1;
    google.protobuf.Timestamp at = 2;
    oneof pay { string card = 3; string iban = 4; }
}
message Other { optional string note = 1; }
`)
	assert.Equal(t, TypeProtobuf, ProtobufFormat{}.Type())
	assert.Equal(t, "acme.v1.Order", p.Name())
	assert.True(t, strings.HasPrefix(p.Canonical(), "syntax = \"proto3\";\npackage acme.v1;\n"))
	assert.Equal(t, `syntax = "proto3";
package acme.v1;
import "google/protobuf/timestamp.proto";
message Order {
  int64 id = 1;
  .google.protobuf.Timestamp at = 2;
  oneof pay {
    string card = 3;
    string iban = 4;
  }
}
message Other {
  optional string note = 1;
}
`, p.Normalized())
}

func TestProtobufFormatInvalidAndReferences(t *testing.T) {
	for name, schema := range map[string]string{
		"syntax error":     `syntax = "proto3"; message {`,
		"unknown type":     `syntax = "proto3"; message A { Missing m = 1; }`,
		"missing import":   `syntax = "proto3"; import "other.proto"; message A { int32 x = 1; }`,
		"duplicate number": `syntax = "proto3"; message A { int32 x = 1; int32 y = 1; }`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ProtobufFormat{}.Parse(schema, nil)
			require.Error(t, err)
		})
	}
	other := ResolvedReference{
		Reference: Reference{Name: "other.proto", Subject: "other", Version: 1},
		Type:      TypeProtobuf,
		Schema:    `syntax = "proto3"; package o; message Addr { string street = 1; }`,
	}
	p := parseProto(t, `syntax = "proto3"; import "other.proto"; message A { o.Addr home = 1; }`, other)
	assert.Equal(t, "A", p.Name())
}

func TestProtobufCompatibilityMatrix(t *testing.T) {
	msg := func(body string) string { return `syntax = "proto3"; package p; message M { ` + body + ` }` }
	tests := []struct {
		name              string
		old, new          string
		backward, forward []string
	}{
		{name: "field added", old: msg(`int32 a = 1;`), new: msg(`int32 a = 1; string b = 2;`)},
		{name: "field renamed", old: msg(`int32 a = 1;`), new: msg(`int32 b = 1;`)},
		{name: "int32 to int64", old: msg(`int32 a = 1;`), new: msg(`int64 a = 1;`)},
		{name: "sint32 to sint64", old: msg(`sint32 a = 1;`), new: msg(`sint64 a = 1;`)},
		{name: "string to bytes", old: msg(`string a = 1;`), new: msg(`bytes a = 1;`)},
		{
			name: "int32 to sint32", old: msg(`int32 a = 1;`), new: msg(`sint32 a = 1;`),
			backward: []string{"FIELD_SCALAR_KIND_CHANGED"}, forward: []string{"FIELD_SCALAR_KIND_CHANGED"},
		},
		{
			name: "scalar to message", old: msg(`int32 a = 1; message N {}`), new: msg(`N a = 1; message N {}`),
			backward: []string{"FIELD_KIND_CHANGED"}, forward: []string{"FIELD_KIND_CHANGED"},
		},
		{
			name: "named type changed", old: msg(`N a = 1; message N {} message K {}`),
			new:      msg(`K a = 1; message N {} message K {}`),
			backward: []string{"FIELD_NAMED_TYPE_CHANGED"}, forward: []string{"FIELD_NAMED_TYPE_CHANGED"},
		},
		{
			name: "numeric made repeated", old: msg(`int32 a = 1;`), new: msg(`repeated int32 a = 1;`),
			backward: []string{"FIELD_NUMERIC_LABEL_CHANGED"}, forward: []string{"FIELD_NUMERIC_LABEL_CHANGED"},
		},
		{name: "string made repeated", old: msg(`string a = 1;`), new: msg(`repeated string a = 1;`)},
		{
			name: "message removed", old: msg(`int32 a = 1;`) + ` message X {}`, new: msg(`int32 a = 1;`),
			backward: []string{"MESSAGE_REMOVED"},
		},
		{
			name: "package changed", old: msg(`int32 a = 1;`), new: strings.Replace(msg(`int32 a = 1;`), "package p", "package q", 1),
			backward: []string{"PACKAGE_CHANGED"}, forward: []string{"PACKAGE_CHANGED"},
		},
		{name: "field moved into new oneof", old: msg(`int32 a = 1;`), new: msg(`oneof o { int32 a = 1; }`)},
		{
			name: "two fields moved into new oneof", old: msg(`int32 a = 1; int32 b = 2;`),
			new:      msg(`oneof o { int32 a = 1; int32 b = 2; }`),
			backward: []string{"MULTIPLE_FIELDS_MOVED_TO_ONEOF"},
		},
		{
			name: "field moved into existing oneof", old: msg(`int32 a = 1; oneof o { int32 b = 2; }`),
			new:      msg(`oneof o { int32 a = 1; int32 b = 2; }`),
			backward: []string{"FIELD_MOVED_TO_EXISTING_ONEOF"},
		},
		{
			name: "oneof field added", old: msg(`oneof o { int32 b = 2; }`),
			new: msg(`oneof o { int32 a = 1; int32 b = 2; }`), forward: []string{"ONEOF_FIELD_REMOVED"},
		},
		{
			name: "enum value added and renamed", old: msg(`E e = 1; enum E { A = 0; B = 1; }`),
			new: msg(`E e = 1; enum E { A = 0; C = 1; D = 2; }`),
		},
		{
			name:     "proto2 required added",
			old:      `syntax = "proto2"; message M { optional int32 a = 1; }`,
			new:      `syntax = "proto2"; message M { optional int32 a = 1; required int32 b = 2; }`,
			backward: []string{"REQUIRED_FIELD_ADDED"}, forward: []string{"REQUIRED_FIELD_REMOVED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, updated := parseProto(t, tt.old), parseProto(t, tt.new)
			assert.Equal(t, tt.backward, protoKinds(updated.ReadIncompatibilities(old)), "BACKWARD")
			assert.Equal(t, tt.forward, protoKinds(old.ReadIncompatibilities(updated)), "FORWARD")
		})
	}
	old := parseProto(t, msg(`int32 a = 1; int32 b = 2;`))
	assert.Equal(t, []string{"Found incompatible change: Difference{fullPath='#/M/2', type=FIELD_SCALAR_KIND_CHANGED}"},
		parseProto(t, msg(`int32 a = 1; sint32 b = 2;`)).ReadIncompatibilities(old))
	assert.Len(t, parseJSON(t, `{}`).ReadIncompatibilities(old), 1, "a type change is incompatible")
}

func BenchmarkProtobufFormatParse(b *testing.B) {
	const schema = `syntax = "proto3"; package acme.v1;
import "google/protobuf/timestamp.proto";
message Order { int64 id = 1; string customer = 2; google.protobuf.Timestamp at = 3;
  repeated Item items = 4; message Item { string sku = 1; int32 qty = 2; } }`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (ProtobufFormat{}).Parse(schema, nil); err != nil {
			b.Fatal(err)
		}
	}
}
