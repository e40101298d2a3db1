package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/sluicehq/sluice/internal/testenv"
)

const (
	moneyProto = `syntax = "proto3";
package srtest;
message Money { int64 units = 1; string currency = 2; }
`
	orderProto = `syntax = "proto3";
package srtest;
import "srtest/money.proto";
message Order { string id = 1; Money total = 2; }
`
)

// protoBody is a Protobuf register request.
func protoBody(schema string, refs ...Reference) map[string]any {
	return map[string]any{"schemaType": TypeProtobuf, "schema": schema, "references": refs}
}

// schemaField returns the "schema" field of a JSON answer.
func schemaField(t *testing.T, body string) string {
	t.Helper()
	var out struct {
		Schema string `json:"schema"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out), body)
	return out.Schema
}

// descriptorFrom decodes a format=serialized schema.
func descriptorFrom(t *testing.T, serialized string) *descriptorpb.FileDescriptorProto {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(serialized)
	require.NoError(t, err, serialized)
	fdp := &descriptorpb.FileDescriptorProto{}
	require.NoError(t, proto.Unmarshal(b, fdp))
	return fdp
}

// TestAPIProtobufFormats registers a referenced schema as text under a
// subject named after its file path and a referencing schema in its
// serialized form (as Confluent's JavaScript client does), then reads
// both back in text and serialized form on every endpoint with ?format.
func TestAPIProtobufFormats(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	moneyRef := Reference{Name: "srtest/money.proto", Subject: "srtest/money.proto", Version: 1}
	money := ResolvedReference{Reference: moneyRef, Type: TypeProtobuf, Schema: moneyProto}
	orderSerialized := serialize(t, orderProto, "srtest/order.proto", money)

	runSteps(t, in, []step{
		{"money as text", "POST", "/subjects/srtest%2Fmoney.proto/versions", protoBody(moneyProto), 200, `{"id":1}`, 0},
		{"order serialized", "POST", "/subjects/orders-value/versions", protoBody(orderSerialized, moneyRef), 200, `{"id":2}`, 0},
		{"order serialized again: same id", "POST", "/subjects/orders-value/versions", protoBody(orderSerialized, moneyRef), 200, `{"id":2}`, 0},
		{"lookup serialized", "POST", "/subjects/orders-value", protoBody(orderSerialized, moneyRef), 200, "", 0},
		// Normalized, the text and serialized forms are the same schema.
		{"money text normalized", "POST", "/subjects/m2/versions?normalize=true", protoBody(moneyProto), 200, `{"id":3}`, 0},
		{"money serialized normalized: same id", "POST", "/subjects/m2/versions?normalize=true",
			protoBody(serialize(t, moneyProto, "srtest/money.proto")), 200, `{"id":3}`, 0},
	})

	// The serialized registration is stored as .proto text.
	_, body := in.call(t, "GET", "/subjects/orders-value/versions/1", nil)
	stored := schemaField(t, body)
	assert.Equal(t, "syntax = \"proto3\";\npackage srtest;\nimport \"srtest/money.proto\";\nmessage Order {\nstring id = 1;\n.srtest.Money total = 2;\n}", stored)
	_, raw := in.call(t, "GET", "/schemas/ids/2/schema", nil)
	assert.Equal(t, stored, raw)
	runSteps(t, in, []step{{"register the stored text: same id", "POST", "/subjects/orders-value/versions", protoBody(stored, moneyRef), 200, `{"id":2}`, 0}})

	// Every endpoint with ?format=serialized answers the descriptor.
	for _, path := range []string{
		"/schemas/ids/2?format=serialized",
		"/subjects/orders-value/versions/1?format=serialized",
		"/subjects/orders-value/versions/latest?format=SERIALIZED",
	} {
		status, body := in.call(t, "GET", path, nil)
		require.Equal(t, 200, status, "%s: %s", path, body)
		fdp := descriptorFrom(t, schemaField(t, body))
		assert.Equal(t, "default", fdp.GetName(), path)
		assert.Equal(t, []string{"srtest/money.proto"}, fdp.GetDependency(), path)
		assert.Equal(t, "Order", fdp.GetMessageType()[0].GetName(), path)
		assert.Equal(t, ".srtest.Money", fdp.GetMessageType()[0].GetField()[1].GetTypeName(), path)
		assert.Contains(t, body, `"references":[{"name":"srtest/money.proto","subject":"srtest/money.proto","version":1}]`, path)
	}
	for _, path := range []string{
		"/schemas/ids/1/schema?format=serialized",
		"/subjects/srtest%2Fmoney.proto/versions/1/schema?format=serialized",
	} {
		status, body := in.call(t, "GET", path, nil)
		require.Equal(t, 200, status, "%s: %s", path, body)
		fdp := descriptorFrom(t, body)
		assert.Equal(t, "Money", fdp.GetMessageType()[0].GetName(), path)
	}
	status, body := in.call(t, "POST", "/subjects/orders-value?format=serialized", protoBody(orderSerialized, moneyRef))
	require.Equal(t, 200, status, body)
	assert.Equal(t, "Order", descriptorFrom(t, schemaField(t, body)).GetMessageType()[0].GetName())

	// Other formats: the text without extensions, or (unknown, or on
	// another type) the stored text.
	_, body = in.call(t, "GET", "/schemas/ids/2?format=ignore_extensions", nil)
	assert.Contains(t, schemaField(t, body), "message Order {\n  string id = 1;")
	_, body = in.call(t, "GET", "/schemas/ids/2?format=nonsense", nil)
	assert.Equal(t, stored, schemaField(t, body))
	runSteps(t, in, []step{
		{"avro", "POST", "/subjects/avro/versions", schemaBody(userV1), 200, `{"id":4}`, 0},
		{"avro serialized: its text", "GET", "/schemas/ids/4?format=serialized", nil, 200, fmt.Sprintf(`{"schema":%q}`, userV1), 0},
	})
}

// TestAPIProtobufMalformed: malformed descriptors are refused with 42201
// and a message saying what is wrong.
func TestAPIProtobufMalformed(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	noImport := serialize(t, `syntax = "proto3"; message A { int32 a = 1; }`, "a.proto")
	fdp := descriptorFrom(t, noImport)
	fdp.Dependency = []string{"srtest/missing.proto"}
	b, err := proto.Marshal(fdp)
	require.NoError(t, err)
	tests := []struct{ name, schema, want string }{
		{"bad base64", "abcde", "base64"},
		{"bad proto bytes", base64.StdEncoding.EncodeToString([]byte{0x0a, 0x05, 0x61}), "does not decode"}, // a name cut short
		{"unresolvable import", base64.StdEncoding.EncodeToString(b), "srtest/missing.proto"},
		{"bad text", `syntax = "proto3"; message {`, "compile protobuf schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := in.call(t, "POST", "/subjects/bad/versions", protoBody(tt.schema))
			require.Equal(t, 422, status, body)
			assert.Equal(t, codeInvalidSchema, errorCode(t, body))
			assert.Contains(t, body, tt.want)
		})
	}
}

// TestAPIProtobufTextAndSerializedAreOneSchema: as in Confluent's
// registry, a Protobuf schema sent as text by one client and as a
// serialized descriptor by another is one schema (one id, one version);
// layout and comments do not matter, options do.
func TestAPIProtobufTextAndSerializedAreOneSchema(t *testing.T) {
	in := startRegistry(t, testenv.StartBroker(t, nil), "")
	text := "// Money, in minor units.\nsyntax = \"proto3\";\npackage srtest;\n\nmessage Money {\n    int64 units = 1; // minor units\n    string currency = 2;\n}\n"
	serialized := serialize(t, moneyProto, "srtest/money.proto")
	withOption := "syntax = \"proto3\";\npackage srtest;\noption java_package = \"com.acme\";\nmessage Money { int64 units = 1; string currency = 2; }\n"
	runSteps(t, in, []step{
		{"text", "POST", "/subjects/s/versions", protoBody(text), 200, `{"id":1}`, 0},
		{"serialized: same schema", "POST", "/subjects/s/versions", protoBody(serialized), 200, `{"id":1}`, 0},
		{"lookup serialized", "POST", "/subjects/s", protoBody(serialized), 200, "", 0},
		{"other comments: same schema", "POST", "/subjects/s/versions", protoBody(strings.ReplaceAll(text, "minor units", "cents")), 200, `{"id":1}`, 0},
		{"one version", "GET", "/subjects/s/versions", nil, 200, `[1]`, 0},
		{"an option is a change", "POST", "/subjects/s/versions", protoBody(withOption), 200, `{"id":2}`, 0},

		{"serialized first", "POST", "/subjects/t/versions", protoBody(serialized), 200, "", 0},
		{"lookup text", "POST", "/subjects/t", protoBody(text), 200, "", 0},
		{"text: same schema", "POST", "/subjects/t/versions", protoBody(text), 200, "", 0},
		{"still one version", "GET", "/subjects/t/versions", nil, 200, `[1]`, 0},
		{"lookup elsewhere misses", "POST", "/subjects/s", protoBody(`syntax = "proto3"; message Other {}`), 404, "", 40403},
	})
}
