package registry

// Formats returns the schema formats the registry serves, by type name.
// It is the one list of built-in formats.
func Formats() map[string]Format {
	formats := map[string]Format{}
	for _, f := range []Format{
		avroFormat{},
		JSONFormat{},
		ProtobufFormat{},
	} {
		formats[f.Type()] = f
	}
	return formats
}
