package schemaconv

import "github.com/sluicehq/sluice/runtime/connect"

// wrappersProto is google/protobuf/wrappers.proto's messages, in its
// order (the message indexes depend on it); what Confluent registers for
// a primitive key or value.
const wrappersProto = `syntax = "proto3";
package google.protobuf;

message DoubleValue {
  double value = 1;
}

message FloatValue {
  float value = 1;
}

message Int64Value {
  int64 value = 1;
}

message UInt64Value {
  uint64 value = 1;
}

message Int32Value {
  int32 value = 1;
}

message UInt32Value {
  uint32 value = 1;
}

message BoolValue {
  bool value = 1;
}

message StringValue {
  string value = 1;
}

message BytesValue {
  bytes value = 1;
}
`

// rootWrapper is the wrapper message a top-level primitive is written
// as, as ProtobufData.fromConnectSchema picks it.
func rootWrapper(s *connect.Schema) (string, error) {
	if connect.IsLogical(s) {
		return "", dataErr("a top-level %s has no Protobuf equivalent", s.Name)
	}
	switch s.Type {
	case connect.TypeInt8, connect.TypeInt16, connect.TypeInt32:
		return "google.protobuf.Int32Value", nil
	case connect.TypeInt64:
		return "google.protobuf.Int64Value", nil
	case connect.TypeFloat32:
		return "google.protobuf.FloatValue", nil
	case connect.TypeFloat64:
		return "google.protobuf.DoubleValue", nil
	case connect.TypeBoolean:
		return "google.protobuf.BoolValue", nil
	case connect.TypeString:
		return "google.protobuf.StringValue", nil
	case connect.TypeBytes:
		return "google.protobuf.BytesValue", nil
	}
	return "", dataErr("a top-level %s has no Protobuf equivalent", s.Type)
}
