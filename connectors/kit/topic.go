package kit

import (
	"fmt"

	"github.com/sluicehq/sluice/runtime/connect"
)

// MaxTopicLen is Kafka's longest topic name.
const MaxTopicLen = 249

// LegalTopic makes s a legal topic name, for sources that derive topics
// from their input (a shipper's index, an MQTT topic): characters outside
// [a-zA-Z0-9._-] become _, it is cut to 249 characters, and "." and ".."
// (names Kafka refuses) and "" become "_", "__" and "_".
func LegalTopic(s string) string {
	b := []byte(s)
	if len(b) > MaxTopicLen {
		b = b[:MaxTopicLen]
	}
	changed := len(b) != len(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
			changed = true
		}
	}
	switch string(b) {
	case ".":
		return "_"
	case "..":
		return "__"
	case "":
		return "_"
	}
	if !changed {
		return s
	}
	return string(b)
}

// TopicName validates a key whose value must be a legal topic name as
// given (not one LegalTopic would change).
var TopicName = connect.ValidatorFunc{Fn: validateTopicName, Desc: "a legal topic name"}

func validateTopicName(_ string, v any) string {
	s, _ := v.(string)
	if s == "" {
		return "String must be non-empty"
	}
	if LegalTopic(s) != s {
		return fmt.Sprintf("%q is not a legal topic name (only [a-zA-Z0-9._-], at most 249 characters, not . or ..)", s)
	}
	return ""
}
