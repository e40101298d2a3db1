package convert

import (
	"strings"
	"unicode/utf8"

	"github.com/sluicehq/sluice/internal/javafmt/javavalue"
	"github.com/sluicehq/sluice/runtime/connect"
)

// StringConverter is Kafka's org.apache.kafka.connect.storage.StringConverter:
// it writes any value as its string form (Java's toString) in UTF-8 and
// reads every value back as an optional string. Safe for concurrent use.
type StringConverter struct{}

// NewStringConverter returns a StringConverter.
func NewStringConverter() *StringConverter { return &StringConverter{} }

// Configure implements connect.Converter. converter.encoding must name
// UTF-8: Sluice has no other character sets, and refuses rather than
// garble.
func (c *StringConverter) Configure(config map[string]string, isKey bool) error {
	return c.configure(config, converterType(isKey))
}

func (c *StringConverter) configure(config map[string]string, typ string) error {
	cfg, err := parseConverterConfig(stringConfigDef(), config, typ)
	if err != nil {
		return err
	}
	if enc := cfg.String(EncodingConfig); !isUTF8(enc) {
		return configErr(EncodingConfig, enc, "Sluice supports only the UTF-8 character set")
	}
	return nil
}

func isUTF8(name string) bool {
	return strings.EqualFold(name, "UTF-8") || strings.EqualFold(name, "UTF8")
}

// FromConnect implements connect.Converter. The schema is ignored except
// to give a Decimal its scale; a null value is a null record.
func (c *StringConverter) FromConnect(_ string, _ connect.Headers, s *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case string:
		return []byte(x), nil
	case []byte:
		// Java would print the array's identity ("[B@1b6d3586"); the
		// bytes themselves are the useful reading.
		return append([]byte(nil), x...), nil
	}
	return javavalue.Append(nil, s, v), nil
}

// ToConnect implements connect.Converter. Invalid UTF-8 is replaced by
// U+FFFD, as Java's decoder does.
func (c *StringConverter) ToConnect(_ string, _ connect.Headers, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return connect.OptionalStringSchema, nil, nil
	}
	return connect.OptionalStringSchema, decodeUTF8(data), nil
}

func decodeUTF8(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}
