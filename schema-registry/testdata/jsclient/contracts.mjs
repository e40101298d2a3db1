// Drives Confluent's JavaScript Schema Registry client against a Sluice
// registry with a data contract: it registers an Avro schema with
// metadata and a rule set (a CEL condition and a CEL_FIELD masking rule
// on fields tagged PII), finds it by metadata (use.latest.with.metadata),
// and runs its serializer and deserializer, which execute the rules as
// the registry serves them. Run by jsclient_test.go with SR_URL. Prints
// one JSON line with what it saw; exits non-zero on any failure.
import {
  AvroDeserializer,
  AvroSerializer,
  SchemaRegistryClient,
  SerdeType,
} from '@confluentinc/schemaregistry'
import { CelExecutor } from '@confluentinc/schemaregistry/dist/rules/cel/cel-executor.js'
import { CelFieldExecutor } from '@confluentinc/schemaregistry/dist/rules/cel/cel-field-executor.js'

CelExecutor.register()
CelFieldExecutor.register()

const client = new SchemaRegistryClient({ baseURLs: [process.env.SR_URL] })
const topic = 'users'
const schema = JSON.stringify({
  type: 'record', name: 'User', fields: [
    { name: 'name', type: 'string' },
    { name: 'ssn', type: 'string', 'confluent:tags': ['PII'] },
    { name: 'age', type: 'int' },
  ],
})
const registered = await client.registerFullResponse('users-value', {
  schemaType: 'AVRO',
  schema,
  metadata: { properties: { owner: 'team-a', major: '1' } },
  ruleSet: {
    domainRules: [
      { name: 'checkAge', kind: 'CONDITION', mode: 'WRITE', type: 'CEL', expr: 'message.age >= 0' },
      { name: 'maskSSN', kind: 'TRANSFORM', mode: 'WRITE', type: 'CEL_FIELD', tags: ['PII'], expr: "name == 'ssn' ; 'XXX'" },
    ],
  },
}, false)

const latest = await client.getLatestWithMetadata('users-value', { major: '1' })

const ser = new AvroSerializer(client, SerdeType.VALUE, { useLatestWithMetadata: { owner: 'team-a' } })
const bytes = await ser.serialize(topic, { name: 'ada', ssn: '123-45-6789', age: 36 })
const de = new AvroDeserializer(client, SerdeType.VALUE, {})
const back = await de.deserialize(topic, bytes)

let refused = ''
try {
  await ser.serialize(topic, { name: 'bob', ssn: '1', age: -1 })
} catch (e) {
  refused = String(e && e.message || e)
}

console.log(JSON.stringify({
  id: registered.id,
  version: registered.version,
  metadata: registered.metadata,
  rules: (registered.ruleSet?.domainRules ?? []).map((r) => r.name),
  latestVersion: latest.version,
  latestRules: (latest.ruleSet?.domainRules ?? []).map((r) => r.name),
  back,
  refused,
}))
