// generate.cjs writes each *.golden.hex here: the bytes Confluent's own
// Protobuf serializer (@confluentinc/schemaregistry, with its mock
// registry client, so the schema id is 1) writes for the message in the
// matching *.input.json (a FileDescriptorProto from the Go test and the
// message as proto3 JSON). TestProtobufWireGolden compares the
// converter's bytes with them.
//
// Regenerate (after `go test -run TestProtobufWireGolden
// -update-protobuf-inputs` when the inputs change):
//
//   mkdir -p /tmp/srjs && cd /tmp/srjs && npm init -y >/dev/null &&
//     npm install @confluentinc/schemaregistry@1.10.1 @bufbuild/protobuf@2.17.0
//   cd runtime/convert/schemaconv/testdata/protobuf &&
//     NODE_PATH=/tmp/srjs/node_modules node generate.cjs
'use strict';

const fs = require('fs');
const path = require('path');
const { clone, createFileRegistry, fromBinary, fromJson } = require('@bufbuild/protobuf');
const wkt = require('@bufbuild/protobuf/wkt');
const { MockClient, SerdeType } = require('@confluentinc/schemaregistry');
const { ProtobufSerializer } = require('@confluentinc/schemaregistry/dist/serde/protobuf');
const { file_confluent_meta } = require('@confluentinc/schemaregistry/dist/confluent/meta_pb');
const { file_confluent_types_decimal } = require('@confluentinc/schemaregistry/dist/confluent/types/decimal_pb');
const { file_google_type_date } = require('@confluentinc/schemaregistry/dist/google/type/date_pb');
const { file_google_type_timeofday } = require('@confluentinc/schemaregistry/dist/google/type/timeofday_pb');

// The client ships decimal.proto as confluent/types/decimal; it is
// imported (and known to the client's serializer) as
// confluent/type/decimal.proto.
const decimal = clone(wkt.FileDescriptorProtoSchema, file_confluent_types_decimal.proto);
decimal.name = 'confluent/type/decimal.proto';

// The imports the Go side's schemas use, as the client ships them.
const imports = {
  'confluent/meta.proto': file_confluent_meta,
  'confluent/type/decimal.proto': decimal,
  'google/type/date.proto': file_google_type_date,
  'google/type/timeofday.proto': file_google_type_timeofday,
  'google/protobuf/timestamp.proto': wkt.file_google_protobuf_timestamp,
  'google/protobuf/wrappers.proto': wkt.file_google_protobuf_wrappers,
  'google/protobuf/descriptor.proto': wkt.file_google_protobuf_descriptor,
};

async function main() {
  const dir = __dirname;
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.input.json')).sort()) {
    const input = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
    const fdp = fromBinary(wkt.FileDescriptorProtoSchema, Buffer.from(input.descriptor, 'base64'));
    const registry = createFileRegistry(fdp, (dep) => imports[dep]);
    const desc = registry.getMessage(input.type);
    if (!desc) throw new Error(`${name}: no message ${input.type}`);
    const msg = fromJson(desc, input.json, { registry });
    const client = new MockClient({ baseURLs: ['mock://'] });
    const ser = new ProtobufSerializer(client, SerdeType.VALUE, { autoRegisterSchemas: true, registry });
    const bytes = await ser.serialize('t', msg);
    const out = path.join(dir, name.replace('.input.json', '.golden.hex'));
    fs.writeFileSync(out, Buffer.from(bytes).toString('hex') + '\n');
    console.log(`${out}: ${bytes.length} bytes`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
