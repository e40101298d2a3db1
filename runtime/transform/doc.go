// Package transform holds Kafka Connect's built-in Single Message Transforms
// (org.apache.kafka.connect.transforms.*) and predicates
// (org.apache.kafka.connect.transforms.predicates.*), and the Chain the worker
// runs them in.
//
// Each transform keeps Kafka's class name, config keys, defaults and
// validation messages, and behaves as Kafka's does with and without a
// schema: schemaless values are map[string]any, schema values *connect.Struct
// (see runtime/connect). Transforms that exist for both halves of a record
// come as two plugins, Cast$Key and Cast$Value, sharing one implementation
// parameterised by the side they operate on.
//
// A transform never mutates the record it is given: it returns a copy with
// new structs, maps or headers, or nil to drop the record. Updated schemas
// are built once per input schema and cached (keyed by the *connect.Schema
// pointer), as Kafka caches them per Schema object.
//
// A Chain is built from a connector config:
//
//	transforms=route,mask
//	transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
//	transforms.route.regex=(.*)-raw
//	transforms.route.replacement=$1
//	transforms.route.predicate=isRaw
//	transforms.mask.type=MaskField$Value
//	transforms.mask.fields=ssn
//	predicates=isRaw
//	predicates.isRaw.type=TopicNameMatches
//	predicates.isRaw.pattern=.*-raw
//
// Chains and transform instances belong to one task goroutine; Plugins
// returns constructors so every chain gets fresh instances.
package transform
