package registry

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
)

// protoTextCases are files the printer must print faithfully: every kind
// of declaration, option and label it handles.
var protoTextCases = map[string]string{
	"proto3": `syntax = "proto3";
package acme.v1;
import "google/protobuf/timestamp.proto";
import "google/protobuf/descriptor.proto";
option java_package = "com.acme.v1";
option go_package = "acme/v1;acmev1";
extend google.protobuf.FieldOptions { string pii = 50001; }
extend google.protobuf.MessageOptions { Tag tag = 50002; }
extend google.protobuf.OneofOptions { string oneof_note = 50003; }
message Tag { string name = 1; repeated int32 levels = 2; }
message Order {
  option (tag) = { name: "orders" levels: 1 levels: 2 };
  option deprecated = true;
  int64 id = 1 [json_name = "orderId", deprecated = true];
  google.protobuf.Timestamp at = 2;
  oneof pay { option (oneof_note) = "pay"; string card = 3 [(pii) = "mask"]; string iban = 4; }
  optional string note = 5;
  map<string, Line> lines = 6;
  repeated double weights = 7 [packed = false];
  bytes raw = 8;
  message Line { uint64 qty = 1; sfixed32 cents = 2; Status status = 3; }
  enum Status { option allow_alias = true; NEW = 0; OPEN = 0; DONE = 1 [deprecated = true]; reserved 5, 8 to 10; reserved "OLD"; }
  reserved 20, 30 to max;
  reserved "legacy";
}
enum Color { RED = 0; GREEN = 1; }
service Orders {
  option deprecated = true;
  rpc Get (Order) returns (Order);
  rpc Watch (stream Order) returns (stream Order) { option deprecated = true; }
}
`,
	"proto2": `syntax = "proto2";
package legacy;
message Rec {
  required int32 id = 1;
  optional string name = 2 [default = "a \"b\"\n\303\251"];
  optional double ratio = 3 [default = inf];
  optional float f = 4 [default = -1.5];
  optional Kind kind = 5 [default = B];
  optional bytes blob = 6 [default = "\000\377"];
  repeated group Item = 7 { optional int32 n = 1; }
  extensions 100 to 199, 1000 to max;
  enum Kind { A = 1; B = 2; }
}
extend Rec { optional int64 extra = 100; }
`,
	"no package": `syntax = "proto3";
message A { A next = 1; }
`,
}

// descriptorOf compiles a schema's text as protoRootPath and returns its
// descriptor without source info.
func descriptorOf(t *testing.T, schema string) *descriptorpb.FileDescriptorProto {
	t.Helper()
	p := parseProto(t, schema).(*parsedProtobuf)
	fdp := protodesc.ToFileDescriptorProto(p.file)
	fdp.SourceCodeInfo = nil
	return fdp
}

// TestProtoTextRoundTrip: printing a compiled file and compiling the
// print gives the same descriptor, options included.
func TestProtoTextRoundTrip(t *testing.T) {
	for name, src := range protoTextCases {
		t.Run(name, func(t *testing.T) {
			p := parseProto(t, src).(*parsedProtobuf)
			text := protoText(p.file, false)
			again := descriptorOf(t, text)
			want := descriptorOf(t, src)
			// Compared as bytes: the custom options are extensions of
			// types each compile makes anew, which proto.Equal tells apart.
			assert.Equal(t, marshal(t, want), marshal(t, again), "printed:\n%s\nwant %v\ngot  %v", text, want, again)
			assert.Equal(t, text, protoText(parseProto(t, text).(*parsedProtobuf).file, false), "printing is stable")
		})
	}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	require.NoError(t, err)
	return b
}

func TestProtoTextIgnoreExtensions(t *testing.T) {
	confluentMeta := ResolvedReference{Reference: Reference{Name: "confluent/meta.proto"}, Type: TypeProtobuf, Schema: `syntax = "proto3";
package confluent;
import "google/protobuf/descriptor.proto";
message Meta { string doc = 1; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
`}
	p := parseProto(t, `syntax = "proto2";
package x;
import "google/protobuf/descriptor.proto";
import "confluent/meta.proto";
extend google.protobuf.FieldOptions { optional string pii = 50001; }
message M {
  optional string name = 1 [(pii) = "mask", (confluent.field_meta) = { doc: "the name" }, deprecated = true];
  extensions 100 to 200;
}
extend M { optional int32 more = 100; }
`, confluentMeta).(*parsedProtobuf)
	all := protoText(p.file, false)
	assert.Contains(t, all, `(x.pii) = "mask"`)
	assert.Contains(t, all, "extensions 100 to 200;")
	assert.Contains(t, all, "extend .x.M {")

	text, ok, err := p.Formatted("IGNORE_EXTENSIONS")
	require.NoError(t, err)
	require.True(t, ok)
	assert.NotContains(t, text, "pii")
	assert.NotContains(t, text, "extensions 100")
	assert.NotContains(t, text, "extend")
	assert.Contains(t, text, `(confluent.field_meta) = { doc: "the name" }`, "Confluent's own options stay")
	assert.Contains(t, text, "deprecated = true")

	_, ok, err = p.Formatted("resolved")
	require.NoError(t, err)
	assert.False(t, ok, "an unknown format means the stored text")
}

// serialize returns a schema's descriptor, as Confluent's clients send
// it: base64 of the FileDescriptorProto named name.
func serialize(t *testing.T, schema, name string, refs ...ResolvedReference) string {
	t.Helper()
	fdp := protodesc.ToFileDescriptorProto(parseProto(t, schema, refs...).(*parsedProtobuf).file)
	fdp.Name = proto.String(name)
	fdp.SourceCodeInfo = nil
	b, err := proto.Marshal(fdp)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func TestProtobufSerializedParse(t *testing.T) {
	money := ResolvedReference{Reference: Reference{Name: "srtest/money.proto", Subject: "srtest/money.proto", Version: 1},
		Type: TypeProtobuf, Schema: `syntax = "proto3"; package srtest; message Money { int64 units = 1; string currency = 2; }`}
	const order = `syntax = "proto3";
package srtest;
import "srtest/money.proto";
message Order { string id = 1; Money total = 2; }
`
	text := parseProto(t, order, money)
	serialized := serialize(t, order, "srtest/order.proto", money)

	p, err := ProtobufFormat{}.Parse(serialized, []ResolvedReference{money})
	require.NoError(t, err)
	assert.Equal(t, `syntax = "proto3";
package srtest;
import "srtest/money.proto";
message Order {
string id = 1;
.srtest.Money total = 2;
}`, p.Canonical(), "stored as .proto text")
	assert.Equal(t, text.Normalized(), p.Normalized(), "normalizes as the text form does")
	assert.Equal(t, "srtest.Order", p.Name())
	again, err := ProtobufFormat{}.Parse(p.Canonical(), []ResolvedReference{money})
	require.NoError(t, err)
	assert.Empty(t, again.ReadIncompatibilities(p))

	// A reference may be handed as a descriptor too.
	serializedMoney := money
	serializedMoney.Schema = serialize(t, money.Schema, "any-name.proto")
	viaSerializedRef, err := ProtobufFormat{}.Parse(order, []ResolvedReference{serializedMoney})
	require.NoError(t, err)
	assert.Equal(t, text.Normalized(), viaSerializedRef.Normalized())

	// Text made of base64 characters that compiles is text.
	comment, err := ProtobufFormat{}.Parse("//Comment", nil)
	require.NoError(t, err)
	assert.Equal(t, "//Comment", comment.Canonical())

	// Unpadded base64 is accepted, as Java's decoder does.
	unpadded, err := ProtobufFormat{}.Parse(base64.RawStdEncoding.EncodeToString(mustDecode(t, serialized)), []ResolvedReference{money})
	require.NoError(t, err)
	assert.Equal(t, p.Canonical(), unpadded.Canonical())

	// format=serialized gives the descriptor back, named "default".
	out, ok, err := p.(*parsedProtobuf).Formatted("serialized")
	require.NoError(t, err)
	require.True(t, ok)
	fdp := &descriptorpb.FileDescriptorProto{}
	require.NoError(t, proto.Unmarshal(mustDecode(t, out), fdp))
	assert.Equal(t, "default", fdp.GetName())
	assert.Equal(t, []string{"srtest/money.proto"}, fdp.GetDependency())
	assert.Equal(t, ".srtest.Money", fdp.GetMessageType()[0].GetField()[1].GetTypeName())
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

func TestProtobufSerializedMalformed(t *testing.T) {
	missingImport := serialize(t, `syntax = "proto3"; import "google/protobuf/empty.proto"; message A { google.protobuf.Empty e = 1; }`, "a.proto")
	fdp := &descriptorpb.FileDescriptorProto{}
	require.NoError(t, proto.Unmarshal(mustDecode(t, missingImport), fdp))
	fdp.Dependency = []string{"srtest/missing.proto"}
	fdp.MessageType[0].Field[0].TypeName = proto.String(".srtest.Missing")
	b, err := proto.Marshal(fdp)
	require.NoError(t, err)
	unresolved := base64.StdEncoding.EncodeToString(b)

	tests := []struct{ name, schema, want string }{
		{"bad base64", "abc", "base64"},
		{"not base64: a text error", "message {", "compile protobuf schema"},
		{"bad proto bytes", base64.StdEncoding.EncodeToString([]byte{0x0a, 0x05, 0x61}), "does not decode"}, // a name cut short
		{"not a descriptor", base64.StdEncoding.EncodeToString([]byte{0xf8, 0x07, 0x01}), "fields a FileDescriptorProto does not have"},
		{"unresolvable import", unresolved, `"srtest/missing.proto": not provided by the schema's references`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ProtobufFormat{}.Parse(tt.schema, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
