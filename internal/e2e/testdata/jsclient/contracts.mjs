// Drives Confluent's JavaScript Schema Registry client and kafkajs against
// `sluice up`: for Avro, JSON Schema and Protobuf it registers a schema
// with metadata (the ssn field tagged PII, name tagged INTERNAL) and a
// rule set (WRITE: a CEL condition and a CEL_FIELD rule masking fields
// tagged PII; READ: a condition plausibleAge and a CEL_FIELD rule
// redacting fields tagged INTERNAL), serializes records with the client's
// serializers (which run the WRITE rules the registry serves), produces
// them with kafkajs to Sluice's broker, consumes them back and
// deserializes them (which runs the READ rules: old, aged 200, is
// refused, the others come back with name redacted). The Protobuf schema imports
// srtest/money.proto, registered under that subject in the serialized
// format. Run by jsclient_test.go with SR_URL and BROKER. Prints one JSON
// line with what it saw; exits non-zero on any failure.
import {
  AvroDeserializer,
  AvroSerializer,
  JsonDeserializer,
  JsonSerializer,
  ProtobufDeserializer,
  ProtobufSerializer,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry'
import { CelExecutor } from '@confluentinc/schemaregistry/dist/rules/cel/cel-executor.js'
import { CelFieldExecutor } from '@confluentinc/schemaregistry/dist/rules/cel/cel-field-executor.js'
import { create, toBinary } from '@bufbuild/protobuf'
import { fileDesc, messageDesc } from '@bufbuild/protobuf/codegenv1'
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt'
import { Kafka, logLevel } from 'kafkajs'

CelExecutor.register()
CelFieldExecutor.register()

const client = new SchemaRegistryClient({ baseURLs: [process.env.SR_URL] })
const kafka = new Kafka({ clientId: 'jsclient-e2e', brokers: [process.env.BROKER], logLevel: logLevel.NOTHING })

// The rule set every format shares: ages are not negative, PII is masked.
// For Protobuf the age condition is a CEL_FIELD rule: the client's CEL
// executor knows no Protobuf message types, so a whole-message
// condition on a Protobuf message evaluates to an error, which the
// client (1.10.1) lets pass.
// Only readers run the READ rules: a reader redacts fields tagged
// INTERNAL and refuses implausible ages, which writers let pass.
const maskPII = { name: 'maskPII', kind: 'TRANSFORM', mode: 'WRITE', type: 'CEL_FIELD', tags: ['PII'], expr: "name == 'ssn' ; 'XXX'" }
const redactInternal = { name: 'redactInternal', kind: 'TRANSFORM', mode: 'READ', type: 'CEL_FIELD', tags: ['INTERNAL'], expr: "name == 'name' ; 'redacted'" }
const ruleSet = {
  domainRules: [
    { name: 'checkAge', kind: 'CONDITION', mode: 'WRITE', type: 'CEL', expr: 'message.age >= 0' }, maskPII,
    { name: 'plausibleAge', kind: 'CONDITION', mode: 'READ', type: 'CEL', expr: 'message.age < 150' }, redactInternal,
  ],
}
// The client's Avro deserializer (1.10.1), too, lets a whole-message
// READ condition pass (message.age < 150 accepted an age of 200), so
// Avro readers check the age with a CEL_FIELD rule; JSON Schema keeps the
// whole-message form.
const plausibleAgeField = { name: 'plausibleAge', kind: 'CONDITION', mode: 'READ', type: 'CEL_FIELD', expr: "name == 'age' ; value < 150" }
const avroRuleSet = {
  domainRules: [ruleSet.domainRules[0], maskPII, plausibleAgeField, redactInternal],
}
const protoRuleSet = {
  domainRules: [
    { name: 'checkAge', kind: 'CONDITION', mode: 'WRITE', type: 'CEL_FIELD', expr: "name == 'age' ; value >= 0" }, maskPII,
    plausibleAgeField, redactInternal,
  ],
}
const metadata = (path) => ({ tags: { [path + 'ssn']: ['PII'], [path + 'name']: ['INTERNAL'] }, properties: { owner: 'team-a' } })

// The Protobuf files, as protoc would describe them; Person imports Money.
const field = (name, number, type, typeName) => ({ name, number, label: 1, type, typeName, jsonName: name })
const fdp = (proto) => Buffer.from(toBinary(FileDescriptorProtoSchema, create(FileDescriptorProtoSchema, proto))).toString('base64')
const moneyB64 = fdp({
  name: 'srtest/money.proto', package: 'srtest', syntax: 'proto3',
  messageType: [{ name: 'Money', field: [field('units', 1, 3), field('currency', 2, 9)] }],
})
const personB64 = fdp({
  name: 'srtest/person.proto', package: 'srtest', syntax: 'proto3', dependency: ['srtest/money.proto'],
  messageType: [{
    name: 'Person',
    field: [field('name', 1, 9), field('ssn', 2, 9), field('age', 3, 5), field('balance', 4, 11, '.srtest.Money')],
  }],
})
const moneyFile = fileDesc(moneyB64)
const PersonSchema = messageDesc(fileDesc(personB64, [moneyFile]), 0)
const MoneySchema = messageDesc(moneyFile, 0)

const avroSchema = JSON.stringify({
  type: 'record', name: 'User', fields: [
    { name: 'name', type: 'string' },
    { name: 'ssn', type: 'string' },
    { name: 'age', type: 'int' },
  ],
})
const jsonSchema = JSON.stringify({
  type: 'object',
  properties: { name: { type: 'string' }, ssn: { type: 'string' }, age: { type: 'integer' } },
  required: ['name', 'ssn', 'age'],
})

// Registered without metadata, the answer holds only the id.
await client.register('srtest/money.proto', { schemaType: 'PROTOBUF', schema: moneyB64 }, false)
const money = await client.getLatestSchemaMetadata('srtest/money.proto')

const formats = {
  avro: {
    register: { schemaType: 'AVRO', schema: avroSchema, metadata: metadata('User.'), ruleSet: avroRuleSet },
    ser: new AvroSerializer(client, SerdeType.VALUE, { useLatestWithMetadata: { owner: 'team-a' } }),
    de: () => new AvroDeserializer(new SchemaRegistryClient({ baseURLs: [process.env.SR_URL] }), SerdeType.VALUE, {}),
    record: (name, ssn, age) => ({ name, ssn, age }),
  },
  json: {
    register: { schemaType: 'JSON', schema: jsonSchema, metadata: metadata('$.'), ruleSet },
    ser: new JsonSerializer(client, SerdeType.VALUE, { useLatestVersion: true, validate: true }),
    de: () => new JsonDeserializer(new SchemaRegistryClient({ baseURLs: [process.env.SR_URL] }), SerdeType.VALUE, {}),
    record: (name, ssn, age) => ({ name, ssn, age }),
  },
  proto: {
    register: {
      schemaType: 'PROTOBUF', schema: personB64, metadata: metadata('srtest.Person.'), ruleSet: protoRuleSet,
      references: [{ name: 'srtest/money.proto', subject: 'srtest/money.proto', version: money.version }],
    },
    ser: new ProtobufSerializer(client, SerdeType.VALUE, { useLatestVersion: true }),
    de: () => new ProtobufDeserializer(new SchemaRegistryClient({ baseURLs: [process.env.SR_URL] }), SerdeType.VALUE, {}),
    record: (name, ssn, age) => create(PersonSchema, { name, ssn, age, balance: create(MoneySchema, { units: 42n, currency: 'EUR' }) }),
  },
}
formats.proto.ser.registry.add(PersonSchema)

const admin = kafka.admin()
await admin.connect()
await admin.createTopics({ topics: Object.keys(formats).map((f) => ({ topic: 'people-' + f })), waitForLeaders: true })
await admin.disconnect()

const producer = kafka.producer()
await producer.connect()
const out = { money: { id: money.id, version: money.version } }
for (const [f, fmt] of Object.entries(formats)) {
  const topic = 'people-' + f
  const registered = await client.registerFullResponse(topic + '-value', fmt.register, false)
  const messages = []
  // old breaks no WRITE rule, only plausibleAge, which readers check.
  for (const [name, ssn, age] of [['ada', '123-45-6789', 36], ['bob', '987-65-4321', 41], ['old', '555-55-5555', 200]]) {
    messages.push({ key: name, value: await fmt.ser.serialize(topic, fmt.record(name, ssn, age)) })
  }
  let refused = ''
  try {
    await fmt.ser.serialize(topic, fmt.record('eve', '000-00-0000', -1))
  } catch (e) {
    refused = String(e?.message ?? e)
  }
  await producer.send({ topic, messages })
  out[f] = { id: registered.id, refused, header: Array.from(messages[0].value.subarray(0, 6)) }
}
await producer.disconnect()

// Read back with kafkajs and a fresh registry client per format, so the
// schemas come from the registry, not a cache.
const consumer = kafka.consumer({ groupId: 'jsclient-e2e' })
await consumer.connect()
await consumer.subscribe({ topics: Object.keys(formats).map((f) => 'people-' + f), fromBeginning: true })
const back = Object.fromEntries(Object.keys(formats).map((f) => [f, []]))
const readRefused = Object.fromEntries(Object.keys(formats).map((f) => [f, []]))
const des = Object.fromEntries(Object.entries(formats).map(([f, fmt]) => [f, fmt.de()]))
let failed
await new Promise((resolve) => {
  consumer.run({
    eachMessage: async ({ topic, message }) => {
      const f = topic.slice('people-'.length)
      const key = message.key.toString()
      try {
        const v = await des[f].deserialize(topic, message.value)
        back[f].push({ key, value: plain(v) })
      } catch (e) {
        if (key === 'old') {
          readRefused[f].push(String(e?.message ?? e))
        } else {
          failed = e
        }
      }
      if (failed || Object.keys(formats).every((f) => back[f].length + readRefused[f].length === 3)) resolve()
    },
  })
})
await consumer.disconnect()
if (failed) throw failed
for (const f of Object.keys(formats)) Object.assign(out[f], { back: back[f], readRefused: readRefused[f] })
console.log(JSON.stringify(out))

// plain drops Protobuf's $typeName and prints 64-bit integers as strings.
function plain(v) {
  return JSON.parse(JSON.stringify(v, (k, x) => (k === '$typeName' ? undefined : typeof x === 'bigint' ? x.toString() : x)))
}
