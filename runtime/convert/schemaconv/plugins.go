// Package schemaconv holds the converters that keep their schemas in a
// Confluent Schema Registry: io.confluent.connect.avro.AvroConverter,
// io.confluent.connect.json.JsonSchemaConverter and
// io.confluent.connect.protobuf.ProtobufConverter, with Confluent's config
// keys, subject name strategies and wire format.
//
// Every serialized key or value is framed as Confluent's serializers frame
// it, then followed by the payload (Avro binary, JSON text, or Protobuf's
// message indexes and then Protobuf binary):
//
//	+------+----------------------+-------------------------+
//	| 0x00 | schema id (4 bytes,  | Avro binary / JSON text |
//	|magic | big-endian, global)  | / indexes + Protobuf    |
//	+------+----------------------+-------------------------+
//
// FromConnect derives the registry schema from the Connect schema (as
// Confluent's AvroData, JsonSchemaData and ProtobufData do), registers or
// looks it up under the subject its strategy names, and caches the id;
// ToConnect fetches the writer's schema by id once and derives the Connect
// schema from it, so data written by any Confluent-format producer can be
// read.
package schemaconv

import (
	"github.com/sluicehq/sluice/runtime/connect"
)

// Confluent's class names.
const (
	AvroConverterClass       = "io.confluent.connect.avro.AvroConverter"
	JSONSchemaConverterClass = "io.confluent.connect.json.JsonSchemaConverter"
)

// Config keys, as Confluent's serializers spell them.
const (
	// RegistryURLConfig is a comma-separated list of registry base URLs.
	RegistryURLConfig = "schema.registry.url"
	// AutoRegisterConfig makes FromConnect register a schema the subject
	// does not have yet; when false it only looks the schema up.
	AutoRegisterConfig = "auto.register.schemas"
	// UseLatestVersionConfig makes FromConnect write with the subject's
	// latest registered schema instead of the one derived from the record.
	UseLatestVersionConfig = "use.latest.version"
	// UseLatestWithMetadataConfig ("k1=v1,k2=v2") makes FromConnect write
	// with, and ToConnect run the rules of, the subject's latest version
	// whose metadata properties include those pairs.
	UseLatestWithMetadataConfig = "use.latest.with.metadata"
	// LatestCompatStrictConfig makes use.latest.version refuse a latest
	// schema that cannot read data of the record's own schema.
	LatestCompatStrictConfig = "latest.compatibility.strict"
	// KeySubjectStrategyConfig and ValueSubjectStrategyConfig name the
	// subject name strategy for keys and for values.
	KeySubjectStrategyConfig   = "key.subject.name.strategy"
	ValueSubjectStrategyConfig = "value.subject.name.strategy"
	// BasicAuthSourceConfig says where basic auth credentials come from;
	// only USER_INFO (and the empty default) is supported.
	BasicAuthSourceConfig = "basic.auth.credentials.source"
	// BasicAuthUserInfoConfig is "user:password".
	BasicAuthUserInfoConfig = "basic.auth.user.info"
	// MaxSchemasPerSubjectConfig and SchemasCacheConfig are accepted for
	// compatibility and ignored: the caches here are bounded differently.
	MaxSchemasPerSubjectConfig = "max.schemas.per.subject"
	SchemasCacheConfig         = "schemas.cache.config"
)

// Subject name strategies, by Confluent's class names.
const (
	TopicNameStrategy       = "io.confluent.kafka.serializers.subject.TopicNameStrategy"
	RecordNameStrategy      = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
	TopicRecordNameStrategy = "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
)

// Plugins returns the registry converters.
func Plugins() []connect.Plugin {
	return []connect.Plugin{
		{Class: AvroConverterClass, Type: connect.PluginConverter, Version: connect.BuiltinVersion,
			Config: configDef(), Doc: "Avro binary in the Confluent wire format, schemas kept in a schema registry.",
			NewConverter: func() connect.Converter { return NewAvroConverter() }},
		{Class: JSONSchemaConverterClass, Type: connect.PluginConverter, Version: connect.BuiltinVersion,
			Config: configDef(), Doc: "JSON in the Confluent wire format, described by JSON Schemas kept in a schema registry.",
			NewConverter: func() connect.Converter { return NewJSONSchemaConverter() }},
		{Class: ProtobufConverterClass, Type: connect.PluginConverter, Version: connect.BuiltinVersion,
			Config: protobufConfigDef(), Doc: "Protobuf binary in the Confluent wire format (with message indexes), schemas kept in a schema registry.",
			NewConverter: func() connect.Converter { return NewProtobufConverter() }},
	}
}

func strategyKey(name, doc string) connect.ConfigKey {
	return connect.ConfigKey{Name: name, Type: connect.ConfigString, Default: TopicNameStrategy,
		Validator: connect.OneOf{Values: []string{TopicNameStrategy, RecordNameStrategy, TopicRecordNameStrategy,
			"TopicNameStrategy", "RecordNameStrategy", "TopicRecordNameStrategy"}},
		Importance: connect.Medium, Doc: doc, Width: connect.WidthMedium, DisplayName: name, OrderInGroup: -1}
}

func configDef() connect.ConfigDef {
	key := func(name string, t connect.ConfigType, def any, imp connect.Importance, doc string) connect.ConfigKey {
		return connect.ConfigKey{Name: name, Type: t, Default: def, Importance: imp, Doc: doc,
			Width: connect.WidthMedium, DisplayName: name, OrderInGroup: -1}
	}
	return connect.ConfigDef{
		key(RegistryURLConfig, connect.ConfigList, connect.NoDefault, connect.High,
			"Comma-separated list of URLs of schema registry instances."),
		key(AutoRegisterConfig, connect.ConfigBoolean, true, connect.Medium,
			"Whether to register a record's schema when the subject does not have it yet."),
		key(UseLatestVersionConfig, connect.ConfigBoolean, false, connect.Low,
			"Whether to serialize with the subject's latest registered schema."),
		key(UseLatestWithMetadataConfig, connect.ConfigString, "", connect.Low,
			"Comma-separated key=value pairs: serialize with (and apply the rules of) the subject's latest version whose metadata properties include them."),
		key(LatestCompatStrictConfig, connect.ConfigBoolean, true, connect.Low,
			"With use.latest.version, whether the latest schema must be able to read data of the record's schema."),
		strategyKey(KeySubjectStrategyConfig, "How the subject for keys is named."),
		strategyKey(ValueSubjectStrategyConfig, "How the subject for values is named."),
		{Name: BasicAuthSourceConfig, Type: connect.ConfigString, Default: "",
			Validator:  connect.OneOf{Values: []string{"", "USER_INFO"}},
			Importance: connect.Medium, Doc: "Where basic auth credentials come from: USER_INFO, or empty for none.",
			Width: connect.WidthMedium, DisplayName: BasicAuthSourceConfig, OrderInGroup: -1},
		key(BasicAuthUserInfoConfig, connect.ConfigPassword, "", connect.Medium,
			"Basic auth credentials as user:password."),
		key(MaxSchemasPerSubjectConfig, connect.ConfigInt, 1000, connect.Low,
			"Accepted and ignored."),
		key(SchemasCacheConfig, connect.ConfigString, "", connect.Low,
			"Accepted and ignored."),
	}
}
