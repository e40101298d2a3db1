// Drives Confluent's JavaScript Schema Registry client against a Sluice
// registry: a Protobuf round trip through the client's serializer and
// deserializer, with a reference to a file whose subject holds a "/".
// Run by jsclient_test.go with SR_URL (the registry), MONEY_FDP and
// ORDER_FDP (base64 FileDescriptorProtos of srtest/money.proto and
// srtest/order.proto, as protoc-gen-es embeds them). Prints one JSON
// line with what it saw; exits non-zero on any failure.
import {
  ProtobufDeserializer,
  ProtobufSerializer,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry'
import { create } from '@bufbuild/protobuf'
import { fileDesc, messageDesc } from '@bufbuild/protobuf/codegenv1'

const moneyFile = fileDesc(process.env.MONEY_FDP)
const orderFile = fileDesc(process.env.ORDER_FDP, [moneyFile])
const OrderSchema = messageDesc(orderFile, 0)
const MoneySchema = messageDesc(moneyFile, 0)

const client = new SchemaRegistryClient({ baseURLs: [process.env.SR_URL] })
const topic = 'orders'

const ser = new ProtobufSerializer(client, SerdeType.VALUE, { autoRegisterSchemas: true })
ser.registry.add(OrderSchema)
const order = create(OrderSchema, {
  id: 'o-1',
  total: create(MoneySchema, { units: 42n, currency: 'EUR' }),
})
const bytes = await ser.serialize(topic, order)

// A fresh client, so the schema comes from the registry, not a cache.
const readClient = new SchemaRegistryClient({ baseURLs: [process.env.SR_URL] })
const deser = new ProtobufDeserializer(readClient, SerdeType.VALUE, {})
const got = await deser.deserialize(topic, bytes)

const subjects = await readClient.getAllSubjects()
const money = await readClient.getLatestSchemaMetadata('srtest/money.proto')

console.log(JSON.stringify({
  header: Array.from(bytes.subarray(0, 6)),
  id: got.id,
  units: got.total.units.toString(),
  currency: got.total.currency,
  subjects: subjects.sort(),
  moneySchema: money.schema,
}))
