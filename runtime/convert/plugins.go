// Package convert holds Kafka Connect's built-in converters, under Kafka's
// class names and with Kafka's config keys, byte formats and error
// messages: JsonConverter, StringConverter, ByteArrayConverter, the
// Boolean/Short/Integer/Long/Float/DoubleConverter family and
// SimpleHeaderConverter. Plugins lists them for the worker.
//
// Kafka's converter classes implement both Converter and HeaderConverter;
// Go's interfaces cannot share a type here (both have a Configure method
// of a different shape), so each such class is listed twice, the header
// converter being the converter configured with converter.type=header.
package convert

import (
	"maps"

	"github.com/sluicehq/sluice/runtime/connect"
)

// Config keys, as Kafka spells them.
const (
	// ConverterTypeConfig says how a converter is used: key, value or
	// header. Configure sets it; users do not.
	ConverterTypeConfig = "converter.type"
	// SchemasEnableConfig makes JsonConverter write and expect the
	// schema envelope.
	SchemasEnableConfig = "schemas.enable"
	// SchemasCacheSizeConfig bounds each of JsonConverter's schema caches.
	SchemasCacheSizeConfig = "schemas.cache.size"
	// DecimalFormatConfig is BASE64 or NUMERIC: how JsonConverter writes
	// Decimal values.
	DecimalFormatConfig = "decimal.format"
	// ReplaceNullWithDefaultConfig makes JsonConverter write and read a
	// null that has a schema default as the default.
	ReplaceNullWithDefaultConfig = "replace.null.with.default"
	// EncodingConfig is StringConverter's character set.
	EncodingConfig = "converter.encoding"
)

const defaultSchemaCacheSize = 1000

// Kafka's class names.
const (
	JSONConverterClass         = "org.apache.kafka.connect.json.JsonConverter"
	StringConverterClass       = "org.apache.kafka.connect.storage.StringConverter"
	ByteArrayConverterClass    = "org.apache.kafka.connect.converters.ByteArrayConverter"
	BooleanConverterClass      = "org.apache.kafka.connect.converters.BooleanConverter"
	ShortConverterClass        = "org.apache.kafka.connect.converters.ShortConverter"
	IntegerConverterClass      = "org.apache.kafka.connect.converters.IntegerConverter"
	LongConverterClass         = "org.apache.kafka.connect.converters.LongConverter"
	FloatConverterClass        = "org.apache.kafka.connect.converters.FloatConverter"
	DoubleConverterClass       = "org.apache.kafka.connect.converters.DoubleConverter"
	SimpleHeaderConverterClass = "org.apache.kafka.connect.storage.SimpleHeaderConverter"
)

// core is what this package's converters share, so one adapter serves
// them all as header converters.
type core interface {
	connect.Converter
	configure(config map[string]string, typ string) error
}

// Plugins returns the built-in converters and header converters.
func Plugins() []connect.Plugin {
	type conv struct {
		class, doc string
		config     func() connect.ConfigDef
		make       func() core
	}
	convs := []conv{
		{JSONConverterClass, "JSON with or without an embedded schema.", jsonConfigDef, func() core { return NewJSONConverter() }},
		{StringConverterClass, "Values as UTF-8 strings; reads every value as an optional string.", stringConfigDef, func() core { return NewStringConverter() }},
		{ByteArrayConverterClass, "Raw bytes passed through unchanged.", typeConfigDef, func() core { return NewByteArrayConverter() }},
		{BooleanConverterClass, "Booleans as one byte, 0 or 1.", typeConfigDef, func() core { return NewBooleanConverter() }},
		{ShortConverterClass, "16-bit integers, big-endian.", typeConfigDef, func() core { return NewShortConverter() }},
		{IntegerConverterClass, "32-bit integers, big-endian.", typeConfigDef, func() core { return NewIntegerConverter() }},
		{LongConverterClass, "64-bit integers, big-endian.", typeConfigDef, func() core { return NewLongConverter() }},
		{FloatConverterClass, "32-bit IEEE 754 floats, big-endian.", typeConfigDef, func() core { return NewFloatConverter() }},
		{DoubleConverterClass, "64-bit IEEE 754 floats, big-endian.", typeConfigDef, func() core { return NewDoubleConverter() }},
	}
	var out []connect.Plugin
	for _, c := range convs {
		out = append(out,
			connect.Plugin{Class: c.class, Type: connect.PluginConverter, Version: connect.BuiltinVersion,
				Config: c.config(), Doc: c.doc, NewConverter: func() connect.Converter { return c.make() }},
			connect.Plugin{Class: c.class, Type: connect.PluginHeaderConverter, Version: connect.BuiltinVersion,
				Config: c.config(), Doc: c.doc, NewHeaderConverter: func() connect.HeaderConverter { return &headerAdapter{conv: c.make()} }})
	}
	return append(out, connect.Plugin{
		Class: SimpleHeaderConverterClass, Type: connect.PluginHeaderConverter, Version: connect.BuiltinVersion,
		Config:             connect.ConfigDef{},
		Doc:                "Header values as strings, read back as the most specific type they parse as.",
		NewHeaderConverter: func() connect.HeaderConverter { return NewSimpleHeaderConverter() },
	})
}

// headerAdapter is one of this package's converters serving as a header
// converter, as Kafka's classes do when named in header.converter: each
// header value is converted as a record value would be.
type headerAdapter struct{ conv core }

// Configure implements connect.HeaderConverter.
func (h *headerAdapter) Configure(config map[string]string) error {
	return h.conv.configure(config, "header")
}

// FromConnectHeader implements connect.HeaderConverter.
func (h *headerAdapter) FromConnectHeader(topic, _ string, s *connect.Schema, v any) ([]byte, error) {
	return h.conv.FromConnect(topic, nil, s, v)
}

// ToConnectHeader implements connect.HeaderConverter.
func (h *headerAdapter) ToConnectHeader(topic, _ string, data []byte) (*connect.Schema, any, error) {
	return h.conv.ToConnect(topic, nil, data)
}

func converterType(isKey bool) string {
	if isKey {
		return "key"
	}
	return "value"
}

// parseConverterConfig parses config with converter.type set to typ, as
// Kafka's configure(configs, isKey) does.
func parseConverterConfig(def connect.ConfigDef, config map[string]string, typ string) (connect.Config, error) {
	props := make(map[string]string, len(config)+1)
	maps.Copy(props, config)
	props[ConverterTypeConfig] = typ
	return def.Parse(props)
}

// typeConfigDef is ConverterConfig's definition, the one key every
// converter has.
func typeConfigDef() connect.ConfigDef {
	return connect.ConfigDef{{
		Name: ConverterTypeConfig, Type: connect.ConfigString, Default: connect.NoDefault,
		Validator:  connect.OneOf{Values: []string{"key", "value", "header"}},
		Importance: connect.Low, Doc: "Whether the converter handles record keys, values or headers.",
		OrderInGroup: -1, Width: connect.WidthNone, DisplayName: ConverterTypeConfig,
	}}
}

func jsonConfigDef() connect.ConfigDef {
	return typeConfigDef().With(
		connect.ConfigKey{Name: SchemasEnableConfig, Type: connect.ConfigBoolean, Default: true,
			Importance: connect.High, Doc: "Whether each serialized key and value carries its schema.",
			Group: "Schemas", OrderInGroup: 0, Width: connect.WidthMedium, DisplayName: "Enable Schemas"},
		connect.ConfigKey{Name: SchemasCacheSizeConfig, Type: connect.ConfigInt, Default: defaultSchemaCacheSize,
			Importance: connect.High, Doc: "How many schemas this converter instance keeps cached.",
			Group: "Schemas", OrderInGroup: 1, Width: connect.WidthMedium, DisplayName: "Schema Cache Size"},
		connect.ConfigKey{Name: DecimalFormatConfig, Type: connect.ConfigString, Default: "BASE64",
			Validator:  connect.OneOf{Values: []string{"BASE64", "NUMERIC"}, CaseInsensitive: true},
			Importance: connect.Low, Doc: "How decimals are serialized: 'BASE64' (the default) or 'NUMERIC', in any case.",
			Group: "Serialization", OrderInGroup: 0, Width: connect.WidthMedium, DisplayName: "Decimal Format"},
		connect.ConfigKey{Name: ReplaceNullWithDefaultConfig, Type: connect.ConfigBoolean, Default: true,
			Importance: connect.Low, Doc: "Whether a null field that has a default value is written and read as that default (true) or as null (false).",
			Group: "Serialization", OrderInGroup: 1, Width: connect.WidthMedium, DisplayName: "Replace null with default"},
	)
}

func stringConfigDef() connect.ConfigDef {
	return typeConfigDef().With(connect.ConfigKey{
		Name: EncodingConfig, Type: connect.ConfigString, Default: "UTF-8",
		Importance: connect.High, Doc: "The character set strings are encoded in. Sluice supports UTF-8 only.",
		OrderInGroup: -1, Width: connect.WidthMedium, DisplayName: "Encoding",
	})
}
