package registry

// Formats returns the schema formats the registry serves, by type name.
// It is the one list of built-in formats.
func Formats() map[string]Format {
	formats := map[string]Format{}
	for _, f := range []Format{
		avroFormat{},
		// TODO(formats): add JSONFormat{} and ProtobufFormat{} once format_json.go and format_protobuf.go land.
	} {
		formats[f.Type()] = f
	}
	return formats
}
