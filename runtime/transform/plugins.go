package transform

import "github.com/sluicehq/sluice/runtime/connect"

const (
	transformsPkg = "org.apache.kafka.connect.transforms."
	predicatesPkg = "org.apache.kafka.connect.transforms.predicates."
	// debeziumPkg holds the Debezium transforms, registered under their
	// own class names.
	debeziumPkg = "io.debezium.transforms."
)

// Plugins returns every built-in transform and predicate, in Kafka's (or
// Debezium's) class names. New gives a fresh, unconfigured instance on every call.
func Plugins() []connect.Plugin {
	var out []connect.Plugin
	both := func(base, doc string, cfg connect.ConfigDef, newT func(side) connect.Transform) {
		for _, s := range []side{keySide, valueSide} {
			out = append(out, transformPlugin(s.className(transformsPkg+base), doc, cfg, func() connect.Transform { return newT(s) }))
		}
	}
	one := func(name, doc string, cfg connect.ConfigDef, newT func() connect.Transform) {
		out = append(out, transformPlugin(transformsPkg+name, doc, cfg, newT))
	}

	both("Cast", "Casts fields, or the whole key or value, to another primitive type; bytes cast to base64 strings.",
		castConfig, func(s side) connect.Transform { return &cast{side: s} })
	one("DropHeaders", "Removes headers by name.", dropHeadersConfig,
		func() connect.Transform { return &dropHeaders{} })
	both("ExtractField", "Replaces the key or value with one of its fields (nested paths with field.syntax.version=V2); null passes through.",
		extractFieldConfig, func(s side) connect.Transform { return &extractField{side: s} })
	one("Filter", "Drops every record; use it with a predicate to drop only matching records.", nil,
		func() connect.Transform { return filter{} })
	both("Flatten", "Flattens nested structs or maps into top-level fields named with a delimiter.",
		flattenConfig, func(s side) connect.Transform { return &flatten{side: s} })
	both("HeaderFrom", "Copies or moves fields of the key or value into headers.",
		headerFromConfig, func(s side) connect.Transform { return &headerFrom{side: s} })
	both("HoistField", "Wraps the key or value in a one-field Struct, or a Map without a schema.",
		hoistFieldConfig, func(s side) connect.Transform { return &hoistField{side: s} })
	both("InsertField", "Adds the topic, partition, offset, timestamp or a static value as fields.",
		insertFieldConfig, func(s side) connect.Transform { return &insertField{side: s} })
	one("InsertHeader", "Adds a header with a literal value.", insertHeaderConfig,
		func() connect.Transform { return &insertHeader{} })
	both("MaskField", "Replaces fields with the null value of their type, or a configured replacement.",
		maskFieldConfig, func(s side) connect.Transform { return &maskField{side: s} })
	one("RegexRouter", "Rewrites the topic with a regular expression and replacement.", regexRouterConfig,
		func() connect.Transform { return &regexRouter{} })
	both("ReplaceField", "Drops, keeps and renames fields.",
		replaceFieldConfig, func(s side) connect.Transform { return &replaceField{side: s} })
	both("SetSchemaMetadata", "Sets the name and/or version of the key or value schema.",
		setSchemaMetadataConfig, func(s side) connect.Transform { return &setSchemaMetadata{side: s} })
	both("TimestampConverter", "Converts timestamps between Unix epoch numbers, strings and Connect Date, Time and Timestamp.",
		timestampConverterConfig, func(s side) connect.Transform { return &timestampConverter{side: s} })
	one("TimestampRouter", "Rewrites the topic from the original topic and the record timestamp.", timestampRouterConfig,
		func() connect.Transform { return &timestampRouter{} })
	one("ValueToKey", "Replaces the key with some of the value's fields.", valueToKeyConfig,
		func() connect.Transform { return &valueToKey{} })
	out = append(out, transformPlugin(debeziumPkg+"ExtractNewRecordState",
		"Debezium's event flattening: replaces a change event envelope with its after row, drops, keeps or rewrites deletes and tombstones, and copies envelope fields into the row or headers.",
		extractNewRecordStateConfig, func() connect.Transform { return &extractNewRecordState{} }))
	out = append(out, transformPlugin(debeziumPkg+"outbox.EventRouter",
		"Debezium's outbox event router: turns each row inserted into an outbox table into an event on a topic named after one of its columns, keyed by another, with the payload column as value and the event id as header.",
		eventRouterConfig, func() connect.Transform { return &eventRouter{} }))

	out = append(out,
		predicatePlugin("TopicNameMatches", "True for records whose topic matches a regular expression.",
			topicNameMatchesConfig, func() connect.Predicate { return &topicNameMatches{} }),
		predicatePlugin("HasHeaderKey", "True for records with at least one header of the given name.",
			hasHeaderKeyConfig, func() connect.Predicate { return &hasHeaderKey{} }),
		predicatePlugin("RecordIsTombstone", "True for tombstones: records whose value is null.",
			nil, func() connect.Predicate { return recordIsTombstone{} }),
	)
	return out
}

func transformPlugin(class, doc string, cfg connect.ConfigDef, newT func() connect.Transform) connect.Plugin {
	return connect.Plugin{Class: class, Type: connect.PluginTransformation, Version: connect.BuiltinVersion,
		Config: cfg, Doc: doc, NewTransform: newT}
}

func predicatePlugin(name, doc string, cfg connect.ConfigDef, newP func() connect.Predicate) connect.Plugin {
	return connect.Plugin{Class: predicatesPkg + name, Type: connect.PluginPredicate, Version: connect.BuiltinVersion,
		Config: cfg, Doc: doc, NewPredicate: newP}
}
