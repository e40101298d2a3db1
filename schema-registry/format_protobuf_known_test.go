package registry

import (
	"testing"
)

// The files Confluent's registry knows without references (what its
// ProtobufConverter imports) resolve here too.
func TestProtobufKnownImports(t *testing.T) {
	p := parseProto(t, `
syntax = "proto3";
package acme;
import "confluent/meta.proto";
import "confluent/type/decimal.proto";
import "google/type/date.proto";
import "google/type/timeofday.proto";

message Row {
  int32 small = 1 [(confluent.field_meta) = { params: [{ key: "connect.type", value: "int16" }] }];
  confluent.type.Decimal amount = 2;
  google.type.Date day = 3;
  google.type.TimeOfDay at = 4;
}
`)
	if p.Name() != "acme.Row" {
		t.Fatalf("name %q", p.Name())
	}
}
